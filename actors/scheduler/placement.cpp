#include "actors/scheduler/placement.hpp"

#include <algorithm>

namespace cw::actors {

void placement::configure(std::map<std::string, pool_settings> pools,
                          std::map<std::string, uint32_t> provider_limits) {
  for (auto& [name, settings] : pools)
    pool_of(name).settings = std::move(settings);
  provider_limits_ = std::move(provider_limits);
}

placement::pool_state& placement::pool_of(const std::string& name) {
  return pools_[name];
}

std::vector<placement::entry>::iterator
placement::find_entry(const std::string& name) {
  auto i = std::lower_bound(agents_.begin(), agents_.end(), name,
                            [](const entry& e, const std::string& n) {
                              return e.profile.name < n;
                            });
  return i != agents_.end() && i->profile.name == name ? i : agents_.end();
}

std::vector<placement::entry>::const_iterator
placement::find_entry(const std::string& name) const {
  return const_cast<placement*>(this)->find_entry(name);
}

bool placement::add(const agent_profile& profile) {
  auto pos = std::lower_bound(agents_.begin(), agents_.end(), profile.name,
                              [](const entry& e, const std::string& n) {
                                return e.profile.name < n;
                              });
  if (pos != agents_.end() && pos->profile.name == profile.name)
    return false;
  auto& pool = pool_of(profile.pool);
  agents_.insert(pos, entry{profile, &pool, 0, 0});
  free_slots_ += profile.max_load;
  pool.slots += profile.max_load;
  ++pool.agents;
  for (auto& cap : profile.capabilities)
    ++capability_count_[cap];
  ++provider_count_[profile.provider];
  return true;
}

void placement::remove(const std::string& name) {
  auto i = find_entry(name);
  if (i == agents_.end())
    return;
  auto& e = *i;
  free_slots_ -= static_cast<int64_t>(e.profile.max_load)
                 - static_cast<int64_t>(e.load);
  e.pool->load -= e.load;
  e.pool->slots -= e.profile.max_load;
  --e.pool->agents;
  provider_load_[e.profile.provider] -= e.load;
  for (auto& cap : e.profile.capabilities)
    if (--capability_count_[cap] == 0)
      capability_count_.erase(cap);
  if (--provider_count_[e.profile.provider] == 0)
    provider_count_.erase(e.profile.provider);
  agents_.erase(i);
}

const agent_profile* placement::find(const std::string& name) const {
  auto i = find_entry(name);
  return i != agents_.end() ? &i->profile : nullptr;
}

uint32_t placement::load(const std::string& name) const {
  auto i = find_entry(name);
  return i != agents_.end() ? i->load : 0;
}

void placement::change_load(const std::string& name, int delta) {
  auto i = find_entry(name);
  if (i == agents_.end())
    return;
  auto& e = *i;
  if (delta < 0 && e.load == 0)
    return;
  e.load = static_cast<uint32_t>(static_cast<int>(e.load) + delta);
  free_slots_ -= delta;
  e.pool->load += static_cast<uint32_t>(delta);
  provider_load_[e.profile.provider] += static_cast<uint32_t>(delta);
  if (delta > 0)
    e.last_used = ++clock_;
}

uint32_t placement::pool_agents(const std::string& pool) const {
  auto i = pools_.find(pool);
  return i != pools_.end() ? i->second.agents : 0;
}

uint32_t placement::pool_free_slots(const std::string& pool) const {
  auto i = pools_.find(pool);
  return i != pools_.end() ? i->second.slots - i->second.load : 0;
}

uint32_t placement::pool_load(const std::string& pool) const {
  auto i = pools_.find(pool);
  return i != pools_.end() ? i->second.load : 0;
}

size_t placement::idle() const {
  return static_cast<size_t>(std::count_if(
    agents_.begin(), agents_.end(), [](auto& e) { return e.load == 0; }));
}

bool placement::knows_capability(const std::string& cap) const {
  if (capability_count_.count(cap) != 0)
    return true;
  return std::any_of(pools_.begin(), pools_.end(), [&](auto& kv) {
    auto& caps = kv.second.settings.capabilities;
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
  });
}

bool placement::knows_provider(const std::string& provider) const {
  if (provider_count_.count(provider) != 0)
    return true;
  return std::any_of(pools_.begin(), pools_.end(), [&](auto& kv) {
    return kv.second.settings.provider == provider;
  });
}

std::vector<std::string> placement::providers() const {
  std::set<std::string> result;
  for (auto& [name, n] : provider_count_)
    result.insert(name);
  for (auto& [name, pool] : pools_)
    result.insert(pool.settings.provider);
  return {result.begin(), result.end()};
}

bool placement::knows_pool(const std::string& pool) const {
  return pools_.count(pool) != 0;
}

bool placement::could_run(const task_spec& spec) const {
  auto has_all = [&](const std::vector<std::string>& caps) {
    for (auto& c : spec.capabilities)
      if (std::find(caps.begin(), caps.end(), c) == caps.end())
        return false;
    return true;
  };
  for (auto& e : agents_) {
    auto& p = e.profile;
    if (p.provider != spec.provider || !has_all(p.capabilities))
      continue;
    if (!spec.pool.empty() && p.pool != spec.pool
        && settings(spec.pool).steal_threshold == 0)
      continue;
    if (!spec.required_agent.empty() && p.name != spec.required_agent)
      continue;
    if (std::find(spec.excluded_agents.begin(), spec.excluded_agents.end(),
                  p.name)
        != spec.excluded_agents.end())
      continue;
    return true;
  }
  // Configured pools count while their agents have not registered.
  if (!spec.required_agent.empty())
    return false;
  for (auto& [name, pool] : pools_)
    if (pool.settings.provider == spec.provider
        && (spec.pool.empty() || name == spec.pool)
        && has_all(pool.settings.capabilities)
        && std::none_of(agents_.begin(), agents_.end(),
                        [&](auto& e) { return e.profile.pool == name; }))
      return true;
  return false;
}

const pool_settings& placement::settings(const std::string& pool) const {
  auto i = pools_.find(pool);
  return i != pools_.end() ? i->second.settings : default_settings_;
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
  return !full(e) && !held(e) && allows(e, spec, affinity_agent);
}

bool placement::held(const entry& e) const {
  return !held_.empty()
         && held_.count({e.profile.provider, e.pool->settings.account}) != 0;
}

bool placement::all_held(const task_spec& spec,
                         const std::string& affinity_agent) const {
  if (held_.empty())
    return false;
  bool any = false;
  for (auto& e : agents_) {
    if ((!spec.pool.empty() && e.profile.pool != spec.pool)
        || !allows(e, spec, affinity_agent))
      continue;
    if (!held(e))
      return false;
    any = true;
  }
  return any;
}

void placement::hold(std::set<std::pair<std::string, std::string>> accounts) {
  held_ = std::move(accounts);
}

std::string placement::account_of(const std::string& name) const {
  auto i = find_entry(name);
  return i != agents_.end() && i->profile.name == name
           ? i->pool->settings.account
           : std::string{};
}

bool placement::full(const entry& e) const {
  auto cap = e.pool->settings.max_running;
  return e.load >= e.profile.max_load || (cap != 0 && e.pool->load >= cap);
}

bool placement::allows(const entry& e, const task_spec& spec,
                       const std::string& affinity_agent) const {
  auto& p = e.profile;
  if (p.provider != spec.provider)
    return false;
  if (!spec.required_agent.empty() && p.name != spec.required_agent)
    return false;
  if (!affinity_agent.empty() && p.name != affinity_agent)
    return false;
  for (auto& name : spec.excluded_agents)
    if (p.name == name)
      return false;
  for (auto& c : spec.capabilities)
    if (std::find(p.capabilities.begin(), p.capabilities.end(), c)
        == p.capabilities.end())
      return false;
  return true;
}

std::string placement::why_not(const task_spec& spec,
                              const std::string& affinity_agent) const {
  if (!provider_has_room(spec.provider))
    return "provider " + spec.provider + " runs "
           + std::to_string(provider_limits_.at(spec.provider))
           + " tasks, its limit";
  const pool_state* own = nullptr;
  if (!spec.pool.empty()) {
    auto i = pools_.find(spec.pool);
    if (i == pools_.end())
      return "no agent of pool " + spec.pool + " is registered";
    own = &i->second;
  }
  // Agents the rules allow, whatever their load: the task waits for them.
  uint32_t allowed = 0;
  uint32_t busy = 0;
  uint32_t held_back = 0;
  for (auto& e : agents_) {
    if ((own != nullptr && e.pool != own) || !allows(e, spec, affinity_agent))
      continue;
    ++allowed;
    if (full(e))
      ++busy;
    else if (held(e))
      ++held_back;
  }
  std::string scope = own != nullptr ? "of pool " + spec.pool
                                     : "of provider " + spec.provider;
  if (allowed == 0) {
    std::string rules;
    for (size_t i = 0; i < spec.capabilities.size(); ++i)
      rules += (i == 0 ? ", with capabilities " : ", ") + spec.capabilities[i];
    if (!spec.required_agent.empty())
      rules += ", named " + spec.required_agent;
    if (!affinity_agent.empty())
      rules += ", the one that ran its same_agent_as task (" + affinity_agent
               + ")";
    if (!spec.excluded_agents.empty())
      rules += ", not excluded";
    return "no agent " + scope + rules + " is registered";
  }
  if (held_back > 0 && busy + held_back == allowed)
    return std::string{held_prefix} + std::to_string(held_back) + " of the "
           + std::to_string(allowed) + " agents " + scope
           + " that may run it are held back by a usage limit of their "
             "account";
  if (busy == allowed)
    return "all " + std::to_string(allowed) + " agents " + scope
           + " that may run it are busy";
  return "";
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
  const pool_state* own = nullptr;
  if (!spec.pool.empty()) {
    auto i = pools_.find(spec.pool);
    if (i == pools_.end())
      return std::nullopt;
    own = &i->second;
  }
  auto own_settings = own != nullptr ? own->settings : default_settings_;
  bool stolen = false;
  auto in_scope = [&](const entry& e) {
    return (own == nullptr || (e.pool == own) != stolen)
           && fits(e, spec, affinity_agent);
  };
  // One pass over the agents collects the fitting ones; the strategy then
  // looks only at those.
  auto& fit = scratch_;
  auto collect = [&] {
    fit.clear();
    for (auto& e : agents_)
      if (in_scope(e))
        fit.push_back(&e);
  };
  collect();
  if (fit.empty() && own != nullptr && own_settings.steal_threshold > 0
      && waiting > own_settings.steal_threshold) {
    stolen = true;
    collect();
  }
  if (fit.empty())
    return std::nullopt;
  auto fitting = fit.size();
  auto strategy = own != nullptr ? own_settings.strategy
                                 : fit.front()->pool->settings.strategy;
  auto pool_name = own != nullptr ? spec.pool : fit.front()->profile.pool;
  auto ratio = [](const entry* e) {
    return static_cast<double>(e->load) / static_cast<double>(e->profile.max_load);
  };
  auto less_loaded = [&](const entry* a, const entry* b) {
    auto ra = ratio(a);
    auto rb = ratio(b);
    return ra != rb ? ra < rb : a->last_used < b->last_used;
  };
  const entry* chosen = nullptr;
  std::string why;
  switch (strategy) {
    case placement_strategy::least_loaded:
      chosen = *std::min_element(fit.begin(), fit.end(), less_loaded);
      why = "load " + std::to_string(chosen->load) + "/"
            + std::to_string(chosen->profile.max_load);
      break;
    case placement_strategy::round_robin: {
      // The first fitting agent after the pool's last choice, by name.
      auto& last = cursor_[pool_name];
      auto next = std::find_if(fit.begin(), fit.end(), [&](const entry* e) {
        return e->profile.name > last;
      });
      chosen = next != fit.end() ? *next : fit.front();
      last = chosen->profile.name;
      why = "next after the previous choice";
      break;
    }
    case placement_strategy::capability_match:
      chosen = *std::min_element(fit.begin(), fit.end(),
                                 [&](const entry* a, const entry* b) {
                                   auto ea = a->profile.capabilities.size();
                                   auto eb = b->profile.capabilities.size();
                                   return ea != eb ? ea < eb : less_loaded(a, b);
                                 });
      {
        auto extra = chosen->profile.capabilities.size()
                     - std::min(chosen->profile.capabilities.size(),
                                spec.capabilities.size());
        why = std::to_string(extra)
              + (extra == 1 ? " capability" : " capabilities")
              + " beyond the required";
      }
      break;
    case placement_strategy::random: {
      auto k = static_cast<size_t>(unit * static_cast<double>(fitting));
      chosen = fit[std::min(k, fitting - 1)];
      why = "uniform pick";
      break;
    }
    case placement_strategy::weighted: {
      uint64_t total = 0;
      for (auto e : fit)
        total += e->profile.weight;
      auto target = std::min<uint64_t>(
        static_cast<uint64_t>(unit * static_cast<double>(total)), total - 1);
      chosen = fit.back();
      for (auto e : fit) {
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
                  + std::to_string(fitting) + " fitting agent"
                  + (fitting == 1 ? "" : "s");
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
