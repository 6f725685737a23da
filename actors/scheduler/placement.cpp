#include "actors/scheduler/placement.hpp"

#include <algorithm>

namespace cw::actors {

void placement::configure(std::map<std::string, pool_settings> pools,
                          std::map<std::string, uint32_t> provider_limits) {
  pools_ = std::move(pools);
  provider_limits_ = std::move(provider_limits);
}

bool placement::add(const agent_profile& profile) {
  auto [i, added] = agents_.emplace(profile.name, entry{profile, 0, 0});
  if (!added)
    return false;
  add_capacity(i->second, +1);
  for (auto& cap : profile.capabilities)
    ++capability_count_[cap];
  ++provider_count_[profile.provider];
  return true;
}

void placement::remove(const std::string& name) {
  auto i = agents_.find(name);
  if (i == agents_.end())
    return;
  auto& e = i->second;
  add_capacity(e, -1);
  pool_load_[e.profile.pool] -= e.load;
  provider_load_[e.profile.provider] -= e.load;
  for (auto& cap : e.profile.capabilities)
    if (--capability_count_[cap] == 0)
      capability_count_.erase(cap);
  if (--provider_count_[e.profile.provider] == 0)
    provider_count_.erase(e.profile.provider);
  agents_.erase(i);
}

void placement::add_capacity(const entry& e, int sign) {
  free_slots_ += sign * (static_cast<int64_t>(e.profile.max_load)
                         - static_cast<int64_t>(e.load));
}

const agent_profile* placement::find(const std::string& name) const {
  auto i = agents_.find(name);
  return i != agents_.end() ? &i->second.profile : nullptr;
}

uint32_t placement::load(const std::string& name) const {
  auto i = agents_.find(name);
  return i != agents_.end() ? i->second.load : 0;
}

void placement::change_load(const std::string& name, int delta) {
  auto i = agents_.find(name);
  if (i == agents_.end())
    return;
  auto& e = i->second;
  if (delta < 0 && e.load == 0)
    return;
  e.load = static_cast<uint32_t>(static_cast<int>(e.load) + delta);
  free_slots_ -= delta;
  pool_load_[e.profile.pool] += static_cast<uint32_t>(delta);
  provider_load_[e.profile.provider] += static_cast<uint32_t>(delta);
  if (delta > 0)
    e.last_used = ++clock_;
}

size_t placement::idle() const {
  return static_cast<size_t>(std::count_if(
    agents_.begin(), agents_.end(), [](auto& kv) { return kv.second.load == 0; }));
}

bool placement::knows_capability(const std::string& cap) const {
  if (capability_count_.count(cap) != 0)
    return true;
  return std::any_of(pools_.begin(), pools_.end(), [&](auto& kv) {
    auto& caps = kv.second.capabilities;
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
  });
}

bool placement::knows_provider(const std::string& provider) const {
  if (provider_count_.count(provider) != 0)
    return true;
  return std::any_of(pools_.begin(), pools_.end(), [&](auto& kv) {
    return kv.second.provider == provider;
  });
}

std::vector<std::string> placement::providers() const {
  std::set<std::string> result;
  for (auto& [name, n] : provider_count_)
    result.insert(name);
  for (auto& [name, pool] : pools_)
    result.insert(pool.provider);
  return {result.begin(), result.end()};
}

bool placement::knows_pool(const std::string& pool) const {
  if (pools_.count(pool) != 0)
    return true;
  return std::any_of(agents_.begin(), agents_.end(),
                     [&](auto& kv) { return kv.second.profile.pool == pool; });
}

const pool_settings& placement::settings(const std::string& pool) const {
  auto i = pools_.find(pool);
  return i != pools_.end() ? i->second : default_settings_;
}

bool placement::pool_has_room(const std::string& pool) const {
  auto cap = settings(pool).max_running;
  if (cap == 0)
    return true;
  auto i = pool_load_.find(pool);
  return i == pool_load_.end() || i->second < cap;
}

bool placement::provider_has_room(const std::string& provider) const {
  auto i = provider_limits_.find(provider);
  if (i == provider_limits_.end() || i->second == 0)
    return true;
  auto j = provider_load_.find(provider);
  return j == provider_load_.end() || j->second < i->second;
}

bool placement::fits(const entry& e, const task_spec& spec,
                     const std::string& affinity_agent) const {
  auto& p = e.profile;
  if (e.load >= p.max_load || p.provider != spec.provider)
    return false;
  if (!spec.required_agent.empty() && p.name != spec.required_agent)
    return false;
  if (!affinity_agent.empty() && p.name != affinity_agent)
    return false;
  for (auto& name : spec.excluded_agents)
    if (p.name == name)
      return false;
  for (auto& cap : spec.capabilities)
    if (std::find(p.capabilities.begin(), p.capabilities.end(), cap)
        == p.capabilities.end())
      return false;
  return true;
}

std::optional<placement_choice>
placement::choose(const task_spec& spec, const std::string& affinity_agent,
                  const std::map<std::string, uint64_t>& backlog, double unit) {
  if (free_slots_ <= 0 || !provider_has_room(spec.provider))
    return std::nullopt;
  // Agents of the task's own pool (any pool when it names none); agents of
  // other pools of the provider only when the pool's backlog is above its
  // stealing threshold.
  uint64_t waiting = 0;
  if (auto i = backlog.find(spec.pool); i != backlog.end())
    waiting = i->second;
  auto& own = settings(spec.pool);
  bool may_steal = !spec.pool.empty() && own.steal_threshold > 0
                   && waiting > own.steal_threshold;
  std::vector<entry*> fitting;
  bool stolen = false;
  for (auto& [name, e] : agents_) {
    if (!spec.pool.empty() && e.profile.pool != spec.pool)
      continue;
    if (fits(e, spec, affinity_agent) && pool_has_room(e.profile.pool))
      fitting.push_back(&e);
  }
  if (fitting.empty() && may_steal) {
    for (auto& [name, e] : agents_)
      if (e.profile.pool != spec.pool && fits(e, spec, affinity_agent)
          && pool_has_room(e.profile.pool))
        fitting.push_back(&e);
    stolen = !fitting.empty();
  }
  if (fitting.empty())
    return std::nullopt;
  auto pool = spec.pool.empty() ? fitting.front()->profile.pool : spec.pool;
  auto strategy = settings(pool).strategy;
  auto ratio = [](const entry* e) {
    return static_cast<double>(e->load) / static_cast<double>(e->profile.max_load);
  };
  auto less_loaded = [&](const entry* a, const entry* b) {
    auto ra = ratio(a);
    auto rb = ratio(b);
    return ra != rb ? ra < rb : a->last_used < b->last_used;
  };
  entry* chosen = nullptr;
  std::string why;
  switch (strategy) {
    case placement_strategy::least_loaded:
      chosen = *std::min_element(fitting.begin(), fitting.end(), less_loaded);
      why = "load " + std::to_string(chosen->load) + "/"
            + std::to_string(chosen->profile.max_load);
      break;
    case placement_strategy::round_robin: {
      // The first fitting agent after the pool's last choice, by name.
      auto& last = cursor_[pool];
      auto next = std::find_if(fitting.begin(), fitting.end(),
                               [&](entry* e) { return e->profile.name > last; });
      chosen = next != fitting.end() ? *next : fitting.front();
      last = chosen->profile.name;
      why = "next after the previous choice";
      break;
    }
    case placement_strategy::capability_match:
      chosen = *std::min_element(fitting.begin(), fitting.end(),
                                 [&](const entry* a, const entry* b) {
                                   auto ea = a->profile.capabilities.size();
                                   auto eb = b->profile.capabilities.size();
                                   return ea != eb ? ea < eb : less_loaded(a, b);
                                 });
      why = std::to_string(chosen->profile.capabilities.size()
                           - std::min(chosen->profile.capabilities.size(),
                                      spec.capabilities.size()))
            + " capabilities beyond the required";
      break;
    case placement_strategy::random: {
      auto k = static_cast<size_t>(unit * static_cast<double>(fitting.size()));
      chosen = fitting[std::min(k, fitting.size() - 1)];
      why = "uniform pick";
      break;
    }
    case placement_strategy::weighted: {
      uint64_t total = 0;
      for (auto e : fitting)
        total += e->profile.weight;
      auto target = static_cast<uint64_t>(unit * static_cast<double>(total));
      chosen = fitting.back();
      for (auto e : fitting) {
        if (target < e->profile.weight) {
          chosen = e;
          break;
        }
        target -= e->profile.weight;
      }
      why = "weight " + std::to_string(chosen->profile.weight) + " of "
            + std::to_string(total);
      break;
    }
  }
  placement_choice result;
  result.agent = chosen->profile.name;
  result.reason = to_string(strategy) + ": " + why + ", "
                  + std::to_string(fitting.size()) + " fitting agent"
                  + (fitting.size() == 1 ? "" : "s");
  if (!spec.required_agent.empty())
    result.reason += ", required agent";
  if (!affinity_agent.empty())
    result.reason += ", same agent as task " + std::to_string(spec.same_agent_as);
  if (stolen)
    result.reason += ", stolen from pool " + spec.pool + " (backlog "
                     + std::to_string(waiting) + ")";
  return result;
}

} // namespace cw::actors
