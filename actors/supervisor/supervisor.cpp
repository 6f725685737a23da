#include "actors/supervisor/supervisor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <exception>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/system_messages.hpp"

#include "messages/errc.hpp"
#include "messages/type_ids.hpp"

namespace cw::actors {

std::string to_string(supervisor_report::kind x) {
  using k = supervisor_report::kind;
  switch (x) {
    case k::started:
      return "started";
    case k::crashed:
      return "crashed";
    case k::restarting:
      return "restarting";
    case k::gave_up:
      return "gave_up";
    case k::stopped:
      return "stopped";
  }
  return "unknown";
}

namespace {

/// The code of a give-up reason. `errc` has no dedicated code yet; the
/// message prefix tells give-ups apart (see `is_give_up`).
constexpr auto give_up_code = errc::shutting_down;

constexpr const char* give_up_marker = "' gave up: ";

} // namespace

bool is_give_up(const caf::error& err) {
  return error_code(err) == give_up_code
         && error_message(err).rfind("supervisor '", 0) == 0
         && error_message(err).find(give_up_marker) != std::string::npos;
}

struct supervisor_state {
  supervisor_config cfg;
  restart_policy policy;
  std::map<std::string, child_spec> specs;
  // Children taken out by `shrink`, with the reason for their report.
  std::map<std::string, std::string> shrinking;
  // Handles of children that run or are stopping.
  std::map<std::string, caf::actor> handles;
  // Monitored instances; a down_msg from anyone else is not about a child.
  std::map<caf::actor_addr, std::string> names;
  // Linked instances whose exit_msg has not arrived yet: their exit_msg
  // must not be mistaken for one from the parent.
  std::set<caf::actor_addr> linked;
  // Children to stop, one at a time, and the one whose down we await.
  std::deque<std::string> stop_queue;
  std::string stopping_now;
  // Numbers the stops, so that a late kill timer is told apart.
  uint64_t stop_seq = 0;
  // Set once the supervisor gave up or its parent told it to exit.
  bool exiting = false;
  bool quit = false;
  caf::error exit_reason;

  static inline const char* name = "cw.supervisor";
};

using supervisor_ptr = caf::stateful_actor<supervisor_state>*;

namespace {

int64_t now_ms(supervisor_ptr self) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return duration_cast<milliseconds>(self->clock().now().time_since_epoch())
    .count();
}

void report(supervisor_ptr self, supervisor_report::kind what,
            const std::string& child, std::string reason = {},
            uint32_t restarts = 0, int64_t delay_ms = 0) {
  auto& st = self->state;
  if (st.cfg.observer)
    st.cfg.observer(supervisor_report{what, st.cfg.name, child,
                                      std::move(reason), restarts, delay_ms});
}

uint32_t restarts_of(supervisor_ptr self, const std::string& name) {
  for (auto& c : self->state.policy.children())
    if (c.name == name)
      return c.restarts;
  return 0;
}

/// Sends the next exit of the stop queue unless one is in flight: stops are
/// sequential so that later children never outlive earlier ones they may
/// depend on.
void pump_stops(supervisor_ptr self) {
  auto& st = self->state;
  while (st.stopping_now.empty() && !st.stop_queue.empty()) {
    auto name = std::move(st.stop_queue.front());
    st.stop_queue.pop_front();
    auto i = st.handles.find(name);
    // It may have gone down on its own since it was queued.
    if (i == st.handles.end()
        || st.policy.state_of(name) != child_state::stopping)
      continue;
    st.stopping_now = name;
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    self->delayed_send(self, std::chrono::milliseconds{st.cfg.shutdown_ms},
                       caf::timeout_atom_v, ++st.stop_seq);
  }
}

void enqueue_stops(supervisor_ptr self, const std::vector<std::string>& xs) {
  auto& st = self->state;
  for (auto& x : xs)
    if (x != st.stopping_now
        && std::find(st.stop_queue.begin(), st.stop_queue.end(), x)
             == st.stop_queue.end())
      st.stop_queue.push_back(x);
  pump_stops(self);
}

void maybe_quit(supervisor_ptr self) {
  auto& st = self->state;
  if (st.exiting && !st.quit && !st.policy.has_live_children()) {
    st.quit = true;
    self->quit(st.exit_reason);
  }
}

void handle_exit(supervisor_ptr self, const std::string& name, bool abnormal,
                 const std::string& reason);

/// Runs the factory of `name`; an invalid handle comes with the failure.
std::pair<caf::actor, std::string> spawn_instance(supervisor_ptr self,
                                                  const std::string& name) {
  caf::actor child;
  std::string failure = "the factory returned no actor";
  try {
    child = self->state.specs.at(name).start(self->system());
  } catch (const std::exception& e) {
    failure = std::string{"the factory threw: "} + e.what();
  } catch (...) {
    failure = "the factory threw";
  }
  return {std::move(child), std::move(failure)};
}

/// Links, monitors and reports a fresh instance of `name`.
void adopt_instance(supervisor_ptr self, const std::string& name,
                    caf::actor child) {
  auto& st = self->state;
  st.handles[name] = child;
  st.names[child.address()] = name;
  st.linked.insert(child.address());
  // Linked so that a supervisor killed outright takes its children along;
  // monitored because down_msgs carry the decision.
  self->link_to(child);
  self->monitor(child);
  report(self, supervisor_report::kind::started, name, {},
         restarts_of(self, name));
}

void start_child(supervisor_ptr self, const std::string& name) {
  auto [child, failure] = spawn_instance(self, name);
  self->state.policy.started(name, now_ms(self));
  if (!child) {
    handle_exit(self, name, true, failure);
    return;
  }
  adopt_instance(self, name, std::move(child));
}

/// `grow`: one more child from the dynamic factory.
caf::result<std::string> grow(supervisor_ptr self) {
  auto& st = self->state;
  if (!st.cfg.dynamic_child)
    return make_error(errc::illegal_transition,
                      "supervisor '" + st.cfg.name + "' has no dynamic children");
  if (st.exiting)
    return make_error(errc::illegal_transition,
                      "supervisor '" + st.cfg.name + "' is stopping");
  if (st.specs.size() >= st.cfg.max_children)
    return make_error(errc::illegal_transition,
                      "supervisor '" + st.cfg.name + "' has its maximum of "
                        + std::to_string(st.cfg.max_children) + " children");
  for (uint32_t index = 1;; ++index) {
    auto spec = st.cfg.dynamic_child(index);
    if (st.specs.count(spec.name) > 0)
      continue;
    auto name = spec.name;
    auto restart = spec.restart;
    st.specs.emplace(name, std::move(spec));
    auto [child, failure] = spawn_instance(self, name);
    if (!child) {
      st.specs.erase(name);
      return make_error(errc::agent_spawn_failed, "supervisor '" + st.cfg.name
                                              + "' cannot start child '" + name
                                              + "': " + failure);
    }
    st.policy.add(name, restart);
    st.policy.started(name, now_ms(self));
    adopt_instance(self, name, std::move(child));
    return name;
  }
}

/// Forgets a child taken out by `shrink` once it is down.
void forget_if_shrunk(supervisor_ptr self, const std::string& name) {
  auto& st = self->state;
  if (st.shrinking.count(name) > 0 && st.policy.remove(name)) {
    st.shrinking.erase(name);
    st.specs.erase(name);
  }
}

void start_due(supervisor_ptr self) {
  auto& st = self->state;
  while (!st.exiting) {
    auto name = st.policy.next_startable();
    if (!name)
      return;
    start_child(self, *name);
  }
}

void give_up(supervisor_ptr self, const std::string& child,
             const std::string& exit_reason, restart_decision& d) {
  auto& st = self->state;
  auto text = "supervisor '" + st.cfg.name + give_up_marker + d.reason
              + "; last: child '" + child + "' exited: " + exit_reason;
  report(self, supervisor_report::kind::gave_up, child, text, d.restarts);
  st.exiting = true;
  st.exit_reason = make_error(give_up_code, std::move(text));
  enqueue_stops(self, d.stop);
  maybe_quit(self);
}

void handle_exit(supervisor_ptr self, const std::string& name, bool abnormal,
                 const std::string& reason) {
  auto& st = self->state;
  auto stopped_by_us = st.policy.state_of(name) == child_state::stopping;
  auto d = st.policy.exited(name, abnormal, now_ms(self));
  using k = supervisor_report::kind;
  if (auto i = st.shrinking.find(name); stopped_by_us && i != st.shrinking.end())
    report(self, k::stopped, name, abnormal ? reason : i->second,
           restarts_of(self, name));
  else if (stopped_by_us)
    report(self, k::stopped, name,
           abnormal ? reason : "stopped by its supervisor",
           restarts_of(self, name));
  else
    report(self, abnormal ? k::crashed : k::stopped, name, reason,
           restarts_of(self, name));
  switch (d.action) {
    case restart_decision::verdict::none:
      break;
    case restart_decision::verdict::give_up:
      give_up(self, name, reason, d);
      break;
    case restart_decision::verdict::restart:
      for (auto& x : d.restart)
        report(self, k::restarting, x,
               x == name ? reason : "restarts with '" + name + "'",
               x == name ? d.restarts : restarts_of(self, x), d.delay_ms);
      enqueue_stops(self, d.stop);
      if (d.delay_ms > 0)
        self->delayed_send(self, std::chrono::milliseconds{d.delay_ms},
                           restart_atom_v, name, d.ticket);
      else
        st.policy.fire(d.ticket);
      break;
  }
}

/// Stops every child, then exits with `reason`.
void shut_down(supervisor_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.exiting)
    return;
  st.exiting = true;
  st.exit_reason = std::move(reason);
  enqueue_stops(self, st.policy.shut_down());
  maybe_quit(self);
}

caf::behavior supervisor_impl(supervisor_ptr self, supervisor_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.policy = restart_policy{st.cfg.flags};
  for (auto& spec : st.cfg.children) {
    // Duplicate names are a programming error; the first spec wins.
    if (st.policy.add(spec.name, spec.restart))
      st.specs.emplace(spec.name, spec);
  }
  st.cfg.children.clear();
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.names.find(dm.source);
    if (i == st.names.end())
      return;
    auto name = std::move(i->second);
    st.names.erase(i);
    st.handles.erase(name);
    if (name == st.stopping_now)
      st.stopping_now.clear();
    // OTP treats `shutdown` like `normal`: a transient child told to stop by
    // someone else has not failed.
    auto abnormal = dm.reason && dm.reason != caf::exit_reason::user_shutdown;
    handle_exit(self, name, abnormal,
                dm.reason ? describe(dm.reason) : "normal");
    forget_if_shrunk(self, name);
    pump_stops(self);
    start_due(self);
    maybe_quit(self);
  });
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.linked.erase(em.source) > 0)
      return; // a child: its down_msg decides
    if (em.reason)
      shut_down(self, std::move(em.reason));
  });
  start_due(self);
  return {
    [self](children_atom) {
      std::vector<std::string> names;
      std::vector<std::string> states;
      std::vector<caf::actor> handles;
      auto& st = self->state;
      for (auto& c : st.policy.children()) {
        names.push_back(c.name);
        states.push_back(to_string(c.state));
        auto i = st.handles.find(c.name);
        handles.push_back(i != st.handles.end() ? i->second : caf::actor{});
      }
      return std::make_tuple(std::move(names), std::move(states),
                             std::move(handles));
    },
    [self](caf::timeout_atom, uint64_t seq) {
      auto& st = self->state;
      if (seq != st.stop_seq || st.stopping_now.empty())
        return;
      // OTP's brutal kill: a child that ignores its stop must not block the
      // rest of the stop order forever.
      if (auto i = st.handles.find(st.stopping_now); i != st.handles.end())
        self->send_exit(i->second, caf::exit_reason::kill);
    },
    [self](grow_atom) -> caf::result<std::string> { return grow(self); },
    [self](shrink_atom, const std::string& name, std::string& reason) {
      auto& st = self->state;
      auto must_stop = st.policy.terminate(name);
      if (!must_stop)
        return false;
      st.shrinking[name] = std::move(reason);
      if (*must_stop)
        enqueue_stops(self, {name});
      else
        forget_if_shrunk(self, name);
      return true;
    },
    [self](restart_atom, const std::string&, uint64_t ticket) {
      self->state.policy.fire(ticket);
      start_due(self);
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor_impl, std::move(cfg));
}

} // namespace cw::actors
