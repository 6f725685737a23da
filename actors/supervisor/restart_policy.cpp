#include "actors/supervisor/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace cw::actors {

std::string to_string(restart_strategy x) {
  switch (x) {
    case restart_strategy::one_for_one:
      return "one_for_one";
    case restart_strategy::one_for_all:
      return "one_for_all";
    case restart_strategy::rest_for_one:
      return "rest_for_one";
  }
  return "unknown";
}

std::string to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent:
      return "permanent";
    case restart_type::transient:
      return "transient";
    case restart_type::temporary:
      return "temporary";
  }
  return "unknown";
}

std::string to_string(child_state x) {
  switch (x) {
    case child_state::running:
      return "running";
    case child_state::stopping:
      return "stopping";
    case child_state::waiting:
      return "waiting";
    case child_state::stopped:
      return "stopped";
  }
  return "unknown";
}

restart_policy::restart_policy(supervisor_flags flags) : flags_(flags) {
  // nop
}

std::vector<child_status> restart_policy::children() const {
  std::vector<child_status> result;
  result.reserve(children_.size());
  for (auto& c : children_)
    result.push_back({c.name, c.type, c.state, c.restarts});
  return result;
}

std::optional<child_state>
restart_policy::state_of(const std::string& name) const {
  if (auto c = find(name))
    return c->state;
  return std::nullopt;
}

bool restart_policy::has_live_children() const noexcept {
  return std::any_of(children_.begin(), children_.end(), [](const child& c) {
    return c.state == child_state::running || c.state == child_state::stopping;
  });
}

int64_t restart_policy::backoff_delay_ms(uint32_t n) const noexcept {
  auto& b = flags_.backoff;
  if (b.base_ms <= 0 || n == 0)
    return 0;
  // Computed in floating point so that large exponents saturate at the cap
  // instead of overflowing.
  auto delay = static_cast<double>(b.base_ms)
               * std::pow(std::max(b.factor, 1.0), static_cast<double>(n - 1));
  if (delay >= static_cast<double>(b.max_ms))
    return b.max_ms;
  return static_cast<int64_t>(delay);
}

bool restart_policy::add(std::string name, restart_type type) {
  if (find(name) != nullptr)
    return false;
  child c;
  c.name = std::move(name);
  c.type = type;
  children_.push_back(std::move(c));
  return true;
}

std::optional<std::string> restart_policy::next_startable() const {
  if (shut_down_)
    return std::nullopt;
  for (auto& c : children_) {
    if (c.state != child_state::waiting || !c.due)
      continue;
    // A group restarts only after every member is down: a new instance must
    // never overlap with the old one of a sibling it may depend on.
    auto still_stopping = [&](const child& other) {
      return other.state == child_state::stopping && other.ticket == c.ticket;
    };
    if (c.ticket != 0
        && std::any_of(children_.begin(), children_.end(), still_stopping))
      continue;
    return c.name;
  }
  return std::nullopt;
}

void restart_policy::started(const std::string& name, int64_t now_ms) {
  if (auto c = find(name)) {
    c->state = child_state::running;
    c->started_ms = now_ms;
    c->ticket = 0;
    c->due = false;
  }
}

restart_decision restart_policy::exited(const std::string& name,
                                        bool abnormal, int64_t now_ms) {
  restart_decision result;
  auto c = find(name);
  if (c == nullptr)
    return result;
  if (c->state == child_state::stopping) {
    // Stopped on our request: the decision that stopped it also said
    // whether it comes back (ticket set) or not.
    c->state = c->ticket != 0 && !shut_down_ ? child_state::waiting
                                             : child_state::stopped;
    return result;
  }
  if (c->state != child_state::running)
    return result;
  auto restart = c->type == restart_type::permanent
                 || (c->type == restart_type::transient && abnormal);
  if (!restart || shut_down_) {
    c->state = child_state::stopped;
    return result;
  }
  if (now_ms - c->started_ms >= flags_.backoff.reset_after_ms)
    c->restarts = 0;
  result.restarts = ++c->restarts;
  if (!admit_restart(now_ms)) {
    c->state = child_state::stopped;
    result.action = restart_decision::verdict::give_up;
    result.reason = "restart intensity exceeded: more than "
                    + std::to_string(flags_.intensity) + " restarts within "
                    + std::to_string(flags_.period_ms) + " ms";
    result.stop = shut_down();
    return result;
  }
  result.action = restart_decision::verdict::restart;
  result.ticket = next_ticket_++;
  result.delay_ms = backoff_delay_ms(c->restarts);
  auto self = static_cast<size_t>(c - children_.data());
  size_t first = self;
  size_t last = self + 1;
  if (flags_.strategy == restart_strategy::one_for_all) {
    first = 0;
    last = children_.size();
  } else if (flags_.strategy == restart_strategy::rest_for_one) {
    last = children_.size();
  }
  for (auto i = last; i-- > first;) {
    auto& sibling = children_[i];
    if (i == self) {
      sibling.ticket = result.ticket;
      sibling.due = false;
      continue;
    }
    if (sibling.state == child_state::stopped)
      continue;
    if (sibling.state == child_state::running) {
      sibling.state = child_state::stopping;
      result.stop.push_back(sibling.name);
    }
    // Siblings in `waiting` join this restart; their older ticket goes
    // stale. Temporary siblings are stopped but never come back.
    sibling.ticket = sibling.type == restart_type::temporary ? 0
                                                             : result.ticket;
    sibling.due = false;
  }
  c->state = child_state::waiting;
  for (auto i = first; i < last; ++i)
    if (children_[i].ticket == result.ticket)
      result.restart.push_back(children_[i].name);
  return result;
}

void restart_policy::fire(uint64_t ticket) {
  if (ticket == 0)
    return;
  // Members still stopping become due as well: they start with their group
  // once they are down.
  for (auto& c : children_)
    if ((c.state == child_state::waiting || c.state == child_state::stopping)
        && c.ticket == ticket)
      c.due = true;
}

std::optional<bool> restart_policy::terminate(const std::string& name) {
  auto c = find(name);
  if (c == nullptr)
    return std::nullopt;
  // Ticket 0: its exit moves it to `stopped`, never back to `waiting`.
  c->ticket = 0;
  c->due = false;
  switch (c->state) {
    case child_state::running:
      c->state = child_state::stopping;
      return true;
    case child_state::stopping:
      return false;
    case child_state::waiting:
    case child_state::stopped:
      c->state = child_state::stopped;
      return false;
  }
  return false;
}

bool restart_policy::remove(const std::string& name) {
  auto i = std::find_if(children_.begin(), children_.end(),
                        [&](const child& c) { return c.name == name; });
  if (i == children_.end() || i->state != child_state::stopped)
    return false;
  children_.erase(i);
  return true;
}

std::vector<std::string> restart_policy::shut_down() {
  shut_down_ = true;
  std::vector<std::string> result;
  for (auto i = children_.rbegin(); i != children_.rend(); ++i) {
    if (i->state == child_state::running) {
      i->state = child_state::stopping;
      result.push_back(i->name);
    } else if (i->state == child_state::waiting) {
      i->state = child_state::stopped;
    }
    i->ticket = 0;
    i->due = false;
  }
  return result;
}

restart_policy::child* restart_policy::find(const std::string& name) {
  auto i = std::find_if(children_.begin(), children_.end(),
                        [&](const child& c) { return c.name == name; });
  return i != children_.end() ? &*i : nullptr;
}

const restart_policy::child*
restart_policy::find(const std::string& name) const {
  return const_cast<restart_policy*>(this)->find(name);
}

bool restart_policy::admit_restart(int64_t now_ms) {
  restarts_.push_back(now_ms);
  while (!restarts_.empty() && now_ms - restarts_.front() > flags_.period_ms)
    restarts_.pop_front();
  return restarts_.size() <= flags_.intensity;
}

} // namespace cw::actors
