#include "actors/session/session_table.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

std::string to_string(session_state x) {
  switch (x) {
    case session_state::idle:
      return "idle";
    case session_state::busy:
      return "busy";
    case session_state::paused:
      return "paused";
    case session_state::closed:
      return "closed";
  }
  return "unknown";
}

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
  auto has_task = info.current_task.has_value();
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
  s.tasks.push_back(task);
  s.last_active_ms = now_ms;
  return caf::unit;
}

caf::expected<void> session_table::release(session_id id, int64_t now_ms) {
  if (auto res = apply(id, session_command::release); !res)
    return res;
  auto& s = sessions_[id];
  s.current_task.reset();
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
  return caf::unit;
}

std::vector<session_command> session_table::allowed(session_id id) const {
  auto s = find(id);
  if (s == nullptr)
    return {};
  return allowed_in(s->state, s->current_task.has_value());
}

// -- allocation ---------------------------------------------------------------

bool session_table::is_fresh(const binding& b, int64_t now_ms) const {
  if (now_ms - b.touched_ms <= cfg_.binding_timeout_ms)
    return true;
  // A task longer than the timeout must not lose its key mid-run: the
  // binding counts from the task's end.
  auto s = find(b.session);
  return s != nullptr && s->current_task.has_value();
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

allocation session_table::allocate(task_id task, const std::string& provider,
                                   const std::string& pool,
                                   const std::optional<std::string>& resume_key,
                                   int64_t now_ms) {
  auto take = [&](session_info& s, allocation_tier tier) {
    // assign cannot fail here: every caller checked that `s` is idle.
    auto res = assign(s.id, task, now_ms);
    static_cast<void>(res);
    if (resume_key && !resume_key->empty())
      bind(*resume_key, s, now_ms);
    return allocation{tier, s.id, {}};
  };
  // Tier 1: the session the key is bound to.
  if (resume_key && !resume_key->empty()) {
    if (auto id = bound(*resume_key, now_ms)) {
      auto& s = sessions_[*id];
      if (s.provider == provider && s.pool == pool) {
        if (s.state == session_state::idle)
          return take(s, allocation_tier::by_key);
        if (s.state == session_state::busy)
          return allocation{allocation_tier::wait, 0,
                            "session " + std::to_string(s.id) + " for key '"
                              + *resume_key + "' is busy"};
      }
    }
  }
  // Tier 2: an idle session, most recently active first; sessions held by
  // another fresh key only if nothing else is idle.
  session_info* best = nullptr;
  auto better = [&](session_info& s) {
    if (best == nullptr)
      return true;
    auto held = [&](const session_info& x) {
      auto i = bindings_.find(x.resume_key);
      return !x.resume_key.empty() && i != bindings_.end()
             && is_fresh(i->second, now_ms)
             && !(resume_key && *resume_key == x.resume_key);
    };
    if (held(s) != held(*best))
      return !held(s);
    return s.last_active_ms > best->last_active_ms;
  };
  for (auto& [id, s] : sessions_)
    if (s.state == session_state::idle && s.provider == provider
        && s.pool == pool && better(s))
      best = &s;
  if (best != nullptr)
    return take(*best, allocation_tier::idle);
  // Tier 3: a new session.
  if (auto id = create(provider, pool, now_ms))
    return take(sessions_[*id], allocation_tier::fresh);
  return allocation{allocation_tier::wait, 0,
                    "pool '" + pool + "' has all "
                      + std::to_string(pool_limit(pool))
                      + " sessions open and none idle for provider '"
                      + provider + "'"};
}

caf::expected<void> session_table::record(session_id id,
                                          const std::string& cli_session_id,
                                          uint32_t turns, double cost_usd) {
  auto s = lookup(id);
  if (!s)
    return std::move(s.error());
  auto& info = **s;
  if (!cli_session_id.empty())
    info.cli_session_id = cli_session_id;
  info.turns += turns;
  info.cost_usd += cost_usd;
  return caf::unit;
}

expiry session_table::expire(int64_t now_ms) {
  expiry result;
  for (auto& [id, s] : sessions_) {
    if (s.state != session_state::idle
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
