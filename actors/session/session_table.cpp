#include "actors/session/session_table.hpp"

#include <algorithm>
#include <utility>

#include "caf/deserializer.hpp"
#include "caf/serializer.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

std::string to_string(session_command x) {
  switch (x) {
    case session_command::assign:
      return "assign";
    case session_command::release:
      return "release";
    case session_command::pause:
      return "pause";
    case session_command::resume:
      return "resume";
    case session_command::close:
      return "close";
  }
  return "unknown";
}

std::string to_string(allocation_tier x) {
  switch (x) {
    case allocation_tier::by_key:
      return "by_key";
    case allocation_tier::own:
      return "own";
    case allocation_tier::idle:
      return "idle";
    case allocation_tier::fresh:
      return "fresh";
    case allocation_tier::wait:
      return "wait";
  }
  return "unknown";
}

namespace {

constexpr session_command all_commands[]
  = {session_command::assign, session_command::release, session_command::pause,
     session_command::resume, session_command::close};

/// The transition table. `has_task` says whether a task still runs, which
/// matters for a paused session.
std::optional<session_state>
target(session_state from, bool has_task, session_command cmd) {
  using s = session_state;
  switch (cmd) {
    case session_command::assign:
      if (from == s::idle)
        return s::busy;
      break;
    case session_command::release:
      if (from == s::busy)
        return s::idle;
      if (from == s::paused && has_task)
        return s::paused;
      break;
    case session_command::pause:
      if (from == s::idle || from == s::busy)
        return s::paused;
      break;
    case session_command::resume:
      if (from == s::paused)
        return has_task ? s::busy : s::idle;
      break;
    case session_command::close:
      if (from == s::idle || (from == s::paused && !has_task))
        return s::closed;
      break;
  }
  return std::nullopt;
}

std::vector<session_command> allowed_in(session_state from, bool has_task) {
  std::vector<session_command> result;
  for (auto cmd : all_commands)
    if (target(from, has_task, cmd))
      result.push_back(cmd);
  return result;
}

caf::error no_such_session(session_id id) {
  return make_error(errc::invalid_argument,
                    "no session " + std::to_string(id));
}

} // namespace

session_table::session_table(session_config cfg) : cfg_(cfg) {
  // nop
}

// -- pools --------------------------------------------------------------------

void session_table::set_pool_limit(const std::string& pool,
                                   uint32_t max_sessions) {
  pool_limits_[pool] = max_sessions;
}

uint32_t session_table::pool_limit(const std::string& pool) const {
  auto i = pool_limits_.find(pool);
  return i != pool_limits_.end() ? i->second : cfg_.default_pool_limit;
}

size_t session_table::open_in_pool(const std::string& pool) const {
  size_t n = 0;
  for (auto& [id, s] : sessions_)
    if (s.pool == pool && s.state != session_state::closed)
      ++n;
  return n;
}

// -- commands -----------------------------------------------------------------

caf::expected<session_id> session_table::create(const std::string& provider,
                                                const std::string& pool,
                                                int64_t now_ms) {
  auto limit = pool_limit(pool);
  if (auto open = open_in_pool(pool); open >= limit)
    return make_error(errc::illegal_transition,
                      "cannot create a session in pool '" + pool
                        + "': it has " + std::to_string(open)
                        + " open sessions of " + std::to_string(limit)
                        + " allowed");
  auto id = next_id_++;
  auto& s = sessions_[id];
  s.id = id;
  s.provider = provider;
  s.pool = pool;
  s.created_ms = now_ms;
  s.last_active_ms = now_ms;
  return id;
}

caf::expected<session_info*> session_table::lookup(session_id id) {
  auto i = sessions_.find(id);
  if (i == sessions_.end())
    return no_such_session(id);
  return &i->second;
}

caf::expected<void> session_table::apply(session_id id, session_command cmd) {
  auto s = lookup(id);
  if (!s)
    return std::move(s.error());
  auto& info = **s;
  auto has_task = info.current_task != 0;
  if (auto to = target(info.state, has_task, cmd)) {
    info.state = *to;
    return caf::unit;
  }
  std::string names;
  for (auto c : allowed_in(info.state, has_task))
    names += (names.empty() ? "" : ", ") + to_string(c);
  auto state = to_string(info.state);
  if (info.state == session_state::paused && has_task)
    state += " with a running task";
  return make_error(errc::illegal_transition,
                    "cannot " + to_string(cmd) + " session "
                      + std::to_string(id) + ": it is " + state
                      + "; allowed: " + (names.empty() ? "none" : names));
}

caf::expected<void>
session_table::assign(session_id id, task_id task, int64_t now_ms) {
  if (auto res = apply(id, session_command::assign); !res)
    return res;
  auto& s = sessions_[id];
  s.current_task = task;
  // A task that continues in the session (a retry, the continuation after
  // a usage limit) is listed once.
  if (s.tasks.empty() || s.tasks.back() != task)
    s.tasks.push_back(task);
  s.last_active_ms = now_ms;
  return caf::unit;
}

caf::expected<void> session_table::release(session_id id, int64_t now_ms) {
  if (auto res = apply(id, session_command::release); !res)
    return res;
  auto& s = sessions_[id];
  s.current_task = 0;
  s.last_active_ms = now_ms;
  // The idle timeout and the key binding both count from the task's end.
  if (auto i = bindings_.find(s.resume_key); i != bindings_.end())
    i->second.touched_ms = now_ms;
  return caf::unit;
}

caf::expected<void> session_table::pause(session_id id) {
  return apply(id, session_command::pause);
}

caf::expected<void> session_table::resume(session_id id, int64_t now_ms) {
  if (auto res = apply(id, session_command::resume); !res)
    return res;
  sessions_[id].last_active_ms = now_ms;
  return caf::unit;
}

caf::expected<void> session_table::close(session_id id) {
  if (auto res = apply(id, session_command::close); !res)
    return res;
  unbind(sessions_[id]);
  kept_.erase(id);
  return caf::unit;
}

std::vector<session_command> session_table::allowed(session_id id) const {
  auto s = find(id);
  if (s == nullptr)
    return {};
  return allowed_in(s->state, s->current_task != 0);
}

// -- allocation ---------------------------------------------------------------

bool session_table::is_fresh(const binding& b, int64_t now_ms) const {
  if (now_ms - b.touched_ms <= cfg_.binding_timeout_ms)
    return true;
  // A task longer than the timeout must not lose its key mid-run: the
  // binding counts from the task's end.
  auto s = find(b.session);
  return s != nullptr && s->current_task != 0;
}

void session_table::bind(const std::string& key, session_info& s,
                         int64_t now_ms) {
  if (s.resume_key != key)
    unbind(s);
  // The key may have pointed at another session before.
  if (auto i = bindings_.find(key); i != bindings_.end())
    if (auto old = sessions_.find(i->second.session);
        old != sessions_.end() && old->second.id != s.id)
      old->second.resume_key.clear();
  bindings_[key] = binding{s.id, now_ms};
  s.resume_key = key;
}

void session_table::unbind(session_info& s) {
  if (s.resume_key.empty())
    return;
  if (auto i = bindings_.find(s.resume_key);
      i != bindings_.end() && i->second.session == s.id)
    bindings_.erase(i);
  s.resume_key.clear();
}

std::pair<allocation, const session_info*>
session_table::choose(const std::string& provider, const std::string& pool,
                      const std::optional<std::string>& resume_key,
                      int64_t now_ms, const std::string& workspace,
                      bool new_session, task_id task) const {
  auto has_key = resume_key && !resume_key->empty();
  // A session kept for a parked task goes to that task and to no other.
  auto kept_for_other = [&](const session_info& s) {
    auto k = kept_.find(s.id);
    return k != kept_.end() && k->second != task;
  };
  if (task != 0)
    for (auto& [id, owner] : kept_)
      if (owner == task) {
        auto& s = sessions_.at(id);
        if (s.state == session_state::idle)
          return {allocation{allocation_tier::own, id, {}}, &s};
        // Paused by hand: its conversation waits with it.
        return {allocation{allocation_tier::wait, 0,
                           "its session " + std::to_string(id) + " is "
                             + to_string(s.state)},
                nullptr};
      }
  auto fits = [&](const session_info& s) {
    return s.provider == provider && s.pool == pool
           && (s.workspace.empty() || workspace.empty()
               || s.workspace == workspace);
  };
  auto held = [&](const session_info& x) {
    auto i = bindings_.find(x.resume_key);
    return !x.resume_key.empty() && i != bindings_.end()
           && is_fresh(i->second, now_ms)
           && !(has_key && *resume_key == x.resume_key);
  };
  auto full = [&] {
    return allocation{allocation_tier::wait, 0,
                      "pool '" + pool + "' has all "
                        + std::to_string(pool_limit(pool))
                        + " sessions open and none idle for provider '"
                        + provider + "'"};
  };
  if (new_session) {
    // Tier 3 only; a full pool gives up its least recently active idle
    // session, preferring one no other fresh key holds.
    if (open_in_pool(pool) < pool_limit(pool))
      return {allocation{allocation_tier::fresh, next_id_, {}}, nullptr};
    const session_info* oldest = nullptr;
    for (auto& [id, s] : sessions_)
      if (s.state == session_state::idle && s.pool == pool
          && !kept_for_other(s)
          && (oldest == nullptr
              || std::pair{held(s), s.last_active_ms}
                   < std::pair{held(*oldest), oldest->last_active_ms}))
        oldest = &s;
    if (oldest == nullptr)
      return {full(), nullptr};
    return {allocation{allocation_tier::fresh, next_id_, {}, oldest->id},
            nullptr};
  }
  // Tier 1: the session the key is bound to.
  if (has_key) {
    if (auto id = bound(*resume_key, now_ms)) {
      auto& s = sessions_.at(*id);
      if (fits(s)) {
        if (s.state == session_state::idle && !kept_for_other(s))
          return {allocation{allocation_tier::by_key, s.id, {}}, &s};
        if (kept_for_other(s))
          return {allocation{allocation_tier::wait, 0,
                             "session " + std::to_string(s.id) + " for key '"
                               + *resume_key + "' is kept for parked task "
                               + std::to_string(kept_.at(s.id))},
                  nullptr};
        if (s.state == session_state::busy)
          return {allocation{allocation_tier::wait, 0,
                             "session " + std::to_string(s.id) + " for key '"
                               + *resume_key + "' is busy"},
                  nullptr};
      }
    }
  }
  // Tier 2: an idle session, most recently active first; sessions held by
  // another fresh key only if nothing else is idle.
  const session_info* best = nullptr;
  auto better = [&](const session_info& s) {
    if (best == nullptr)
      return true;
    if (held(s) != held(*best))
      return !held(s);
    return s.last_active_ms > best->last_active_ms;
  };
  for (auto& [id, s] : sessions_)
    if (s.state == session_state::idle && fits(s) && !kept_for_other(s)
        && better(s))
      best = &s;
  if (best != nullptr)
    return {allocation{allocation_tier::idle, best->id, {}}, best};
  // Tier 3: a new session.
  if (open_in_pool(pool) < pool_limit(pool))
    return {allocation{allocation_tier::fresh, next_id_, {}}, nullptr};
  return {full(), nullptr};
}

allocation session_table::plan(const std::string& provider,
                               const std::string& pool,
                               const std::optional<std::string>& resume_key,
                               int64_t now_ms, const std::string& workspace,
                               bool new_session, task_id task) const {
  return choose(provider, pool, resume_key, now_ms, workspace, new_session,
                task)
    .first;
}

void session_table::keep(session_id id, task_id task) {
  // A closed session is gone for good, also for the task it was kept for.
  if (auto i = sessions_.find(id);
      i != sessions_.end() && i->second.state != session_state::closed)
    kept_[id] = task;
}

void session_table::let_go(task_id task) {
  std::erase_if(kept_, [task](const auto& x) { return x.second == task; });
}

task_id session_table::kept_for(session_id id) const {
  auto i = kept_.find(id);
  return i != kept_.end() ? i->second : 0;
}

allocation session_table::allocate(task_id task, const std::string& provider,
                                   const std::string& pool,
                                   const std::optional<std::string>& resume_key,
                                   int64_t now_ms,
                                   const std::string& workspace,
                                   bool new_session) {
  auto result = plan(provider, pool, resume_key, now_ms, workspace,
                     new_session, task);
  if (result.is_wait())
    return result;
  if (result.evict != 0)
    static_cast<void>(close(result.evict)); // idle: closing cannot fail
  let_go(task);
  // Cannot fail: the plan chose an idle or a new session.
  auto res = take(result.session, task, provider, pool,
                  resume_key ? *resume_key : std::string{}, now_ms, workspace);
  static_cast<void>(res);
  return result;
}

void session_table::open_as(session_id id, const std::string& provider,
                            const std::string& pool,
                            const std::string& resume_key, int64_t now_ms) {
  if (sessions_.count(id) != 0)
    return;
  auto& s = sessions_[id];
  s.id = id;
  s.provider = provider;
  s.pool = pool;
  s.created_ms = now_ms;
  s.last_active_ms = now_ms;
  next_id_ = std::max(next_id_, id + 1);
  if (!resume_key.empty())
    bind(resume_key, s, now_ms);
}

caf::expected<void> session_table::take(session_id id, task_id task,
                                        const std::string& provider,
                                        const std::string& pool,
                                        const std::string& resume_key,
                                        int64_t now_ms,
                                        const std::string& workspace) {
  open_as(id, provider, pool, {}, now_ms);
  if (auto res = assign(id, task, now_ms); !res)
    return res;
  if (auto& s = sessions_[id]; s.workspace.empty())
    s.workspace = workspace;
  if (!resume_key.empty())
    bind(resume_key, sessions_[id], now_ms);
  return caf::unit;
}

std::optional<int64_t> session_table::next_idle_deadline() const {
  std::optional<int64_t> result;
  for (auto& [id, s] : sessions_)
    if (s.state == session_state::idle && kept_.count(id) == 0) {
      auto due = s.last_active_ms + cfg_.idle_timeout_ms + 1;
      if (!result || due < *result)
        result = due;
    }
  return result;
}

std::vector<session_id> session_table::idle_expired(int64_t now_ms) const {
  std::vector<session_id> result;
  for (auto& [id, s] : sessions_)
    if (s.state == session_state::idle && kept_.count(id) == 0
        && now_ms - s.last_active_ms > cfg_.idle_timeout_ms)
      result.push_back(id);
  return result;
}

std::vector<session_info> session_table::list(size_t limit) const {
  std::vector<session_info> result;
  auto skip = limit != 0 && sessions_.size() > limit ? sessions_.size() - limit
                                                     : 0;
  for (auto& [id, s] : sessions_)
    if (skip > 0)
      --skip;
    else
      result.push_back(s);
  return result;
}

caf::error session_table::save_to(caf::serializer& sink) const {
  auto next = next_id_;
  auto count = static_cast<uint64_t>(sessions_.size());
  if (auto err = sink(next, count))
    return err;
  for (auto& [id, s] : sessions_)
    if (auto err = sink(const_cast<session_info&>(s)))
      return err;
  auto bindings = static_cast<uint64_t>(bindings_.size());
  if (auto err = sink(bindings))
    return err;
  for (auto& [key, b] : bindings_) {
    auto k = key;
    auto session = b.session;
    auto touched = b.touched_ms;
    if (auto err = sink(k, session, touched))
      return err;
  }
  return {};
}

caf::error session_table::load_from(caf::deserializer& source) {
  uint64_t count = 0;
  if (auto err = source(next_id_, count))
    return err;
  sessions_.clear();
  kept_.clear();
  bindings_.clear();
  for (uint64_t i = 0; i < count; ++i) {
    session_info s;
    if (auto err = source(s))
      return err;
    sessions_.emplace(s.id, std::move(s));
  }
  uint64_t bindings = 0;
  if (auto err = source(bindings))
    return err;
  for (uint64_t i = 0; i < bindings; ++i) {
    std::string key;
    binding b;
    if (auto err = source(key, b.session, b.touched_ms))
      return err;
    bindings_.emplace(std::move(key), b);
  }
  return {};
}

caf::expected<void> session_table::record(session_id id,
                                          const std::string& cli_session_id,
                                          uint32_t turns, double cost_usd,
                                          const token_counts& tokens) {
  auto s = lookup(id);
  if (!s)
    return std::move(s.error());
  auto& info = **s;
  if (!cli_session_id.empty())
    info.cli_session_id = cli_session_id;
  info.turns += turns;
  info.cost_usd += cost_usd;
  info.tokens += tokens;
  return caf::unit;
}

expiry session_table::expire(int64_t now_ms) {
  expiry result;
  for (auto& [id, s] : sessions_) {
    if (s.state != session_state::idle || kept_.count(id) != 0
        || now_ms - s.last_active_ms <= cfg_.idle_timeout_ms)
      continue;
    s.state = session_state::closed;
    result.closed.push_back(id);
    if (!s.resume_key.empty())
      result.unbound_keys.push_back(s.resume_key);
    unbind(s);
  }
  for (auto i = bindings_.begin(); i != bindings_.end();) {
    if (is_fresh(i->second, now_ms)) {
      ++i;
      continue;
    }
    result.unbound_keys.push_back(i->first);
    if (auto s = sessions_.find(i->second.session); s != sessions_.end())
      s->second.resume_key.clear();
    i = bindings_.erase(i);
  }
  return result;
}

// -- properties ---------------------------------------------------------------

const session_info* session_table::find(session_id id) const {
  auto i = sessions_.find(id);
  return i != sessions_.end() ? &i->second : nullptr;
}

std::optional<session_id> session_table::bound(const std::string& key,
                                               int64_t now_ms) const {
  auto i = bindings_.find(key);
  if (i == bindings_.end() || !is_fresh(i->second, now_ms))
    return std::nullopt;
  auto s = find(i->second.session);
  if (s == nullptr || s->state == session_state::closed)
    return std::nullopt;
  return s->id;
}

} // namespace cw::actors
