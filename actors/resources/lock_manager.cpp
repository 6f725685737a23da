#include "actors/resources/lock_manager.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/journal/commit_pipe.hpp"
#include "actors/resources/lock_table.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::actors {

namespace {

/// A requester waiting for its request.
struct pending {
  caf::typed_response_promise<lock_grant> promise;
  /// Actor-clock ms when it started waiting.
  int64_t since_ms = 0;
};

} // namespace

struct lock_manager_state {
  lock_manager_config cfg;
  lock_table table;
  // Requesters by request id; asking again while waiting adds one.
  std::multimap<lock_request_id, pending> waiting;
  // Deadlines of the expire timers in flight. Delayed messages cannot be
  // cancelled, so a new timer is armed only for a deadline earlier than all
  // of these; usually there is one.
  std::set<int64_t> timers;
  commit_pipe<std::function<void()>> pipe;

  static inline const char* name = "cw.lock_manager";
};

namespace {

using self_ptr = lock_actor::stateful_pointer<lock_manager_state>;

/// Returns the actor clock in ms: the base of deadlines.
int64_t clock_ms(self_ptr self) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(self->clock().now().time_since_epoch())
    .count();
}

/// Returns wall-clock ms for event envelopes.
int64_t wall_ms(self_ptr self) {
  if (auto& f = self->state.cfg.wall_clock)
    return f();
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

// -- the durability pipeline --------------------------------------------------

template <class Event>
void record(self_ptr self, const Event& ev) {
  auto& st = self->state;
  st.pipe.record(persistence::encode(ev, wall_ms(self), st.cfg.node_name));
}

void arm_watchdog(self_ptr self);

/// Sends the buffered decisions to the journal as one append.
void commit(self_ptr self) {
  auto& st = self->state;
  auto ticket = append(self, st.pipe, st.cfg.journal, "lock manager",
                       [self](uint64_t ticket, uint64_t) {
                         self->state.pipe.acknowledge(
                           ticket, [](std::function<void()>& fn) { fn(); });
                       });
  if (ticket != 0)
    arm_watchdog(self);
}

/// Runs `fn` once every decision made so far is durable.
void when_durable(self_ptr self, std::function<void()> fn) {
  auto& st = self->state;
  commit(self);
  if (st.pipe.settled())
    fn();
  else
    st.pipe.defer(std::move(fn));
}

/// Answers with `x` once every decision made so far is durable.
template <class T>
caf::result<T> answer(self_ptr self, caf::expected<T> x) {
  auto& st = self->state;
  commit(self);
  if (st.pipe.settled())
    return x;
  auto rp = self->make_response_promise<T>();
  when_durable(self, [rp, x]() mutable {
    if (x)
      rp.deliver(std::move(*x));
    else
      rp.deliver(std::move(x.error()));
  });
  return rp;
}

// -- views --------------------------------------------------------------------

bool is_exclusive(lock_mode x) {
  return x == lock_mode::exclusive;
}

lock_holder_view view_of(const lock_holding& x) {
  return {x.owner, x.resource, is_exclusive(x.mode)};
}

lock_grant grant_of(const lock_ticket& t, int64_t waited_ms) {
  return {t.id, t.owner, t.resource, is_exclusive(t.mode), waited_ms};
}

lock_refused refusal_of(const lock_ticket& t, std::string reason,
                        std::string message) {
  return {t.id,       t.owner,           t.resource,        is_exclusive(t.mode),
          t.priority, std::move(reason), std::move(message)};
}

lock_deadlock event_of(const deadlock& d) {
  lock_deadlock result;
  for (auto& step : d.cycle)
    result.cycle.push_back({step.waiter.id, step.waiter.owner,
                            step.waiter.resource, is_exclusive(step.waiter.mode),
                            step.waiter.priority, step.blocker_resource,
                            step.blocker_holds});
  result.victim = d.victim.id;
  result.victim_owner = d.victim.owner;
  result.victim_resource = d.victim.resource;
  result.message = to_string(d);
  return result;
}

std::string timeout_message(const lock_ticket& t) {
  return "timeout: request " + std::to_string(t.id) + " of " + t.owner
         + " for " + t.resource + " (" + to_string(t.mode)
         + ") was not granted in time";
}

std::string cancel_message(const lock_ticket& t, const std::string& why) {
  return "cancelled: request " + std::to_string(t.id) + " of " + t.owner
         + " for " + t.resource + " was withdrawn: " + why;
}

// -- applying changes ---------------------------------------------------------

/// Hands the promises of request `id` to `fn` once durable.
template <class F>
void settle(self_ptr self, lock_request_id id, F fn) {
  auto& st = self->state;
  auto [first, last] = st.waiting.equal_range(id);
  if (first == last)
    return;
  std::vector<pending> whom;
  for (auto i = first; i != last; ++i)
    whom.push_back(std::move(i->second));
  st.waiting.erase(first, last);
  when_durable(self, [whom = std::move(whom), fn]() mutable {
    for (auto& p : whom)
      fn(p);
  });
}

void refuse(self_ptr self, const lock_ticket& t, const char* reason,
            const std::string& message) {
  record(self, refusal_of(t, reason, message));
  settle(self, t.id, [message](pending& p) {
    p.promise.deliver(make_error(errc::illegal_transition, message));
  });
}

/// Journals what an operation changed and answers the requesters concerned,
/// in causal order: releases and refusals before the grants they allow.
/// `cancel_why` says why waiting requests were withdrawn, if any were.
void apply(self_ptr self, const lock_changes& changes, int64_t now,
           const std::string& cancel_why) {
  for (auto& x : changes.released)
    record(self, lock_released{x.owner, x.resource, is_exclusive(x.mode),
                               "release"});
  for (auto& d : changes.deadlocks) {
    auto ev = event_of(d);
    spdlog::warn("lock manager: {}", ev.message);
    record(self, ev);
    refuse(self, d.victim, "deadlock", ev.message);
  }
  for (auto& t : changes.timed_out)
    refuse(self, t, "timeout", timeout_message(t));
  for (auto& t : changes.cancelled)
    refuse(self, t, "cancelled", cancel_message(t, cancel_why));
  for (auto& t : changes.granted) {
    int64_t waited = 0;
    if (auto i = self->state.waiting.find(t.id); i != self->state.waiting.end())
      waited = now - i->second.since_ms;
    record(self, lock_acquired{t.id, t.owner, t.resource, is_exclusive(t.mode),
                               t.priority, waited});
    settle(self, t.id, [g = grant_of(t, waited)](pending& p) {
      p.promise.deliver(g);
    });
  }
}

/// Arms the expire timer for the earliest deadline (of a waiter, or of the
/// oldest journal append) unless one as early is already in flight.
void arm(self_ptr self, int64_t now) {
  auto& st = self->state;
  auto due = st.table.next_deadline();
  if (auto j = st.pipe.deadline()) {
    using namespace std::chrono;
    auto j_ms = ceil<milliseconds>(j->time_since_epoch()).count();
    if (!due || j_ms < *due)
      due = j_ms;
  }
  if (!due || (!st.timers.empty() && *st.timers.begin() <= *due))
    return;
  st.timers.insert(*due);
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(0, *due - now)),
                     expire_atom_v, *due);
}

void arm_watchdog(self_ptr self) {
  arm(self, clock_ms(self));
}

caf::error check_spec(const lock_spec& spec) {
  if (spec.timeout_ms < 0 || spec.timeout_ms > max_lock_wait_ms)
    return make_error(errc::invalid_argument,
                      "timeout_ms: must be an integer from 0 to "
                        + std::to_string(max_lock_wait_ms));
  return {};
}

// -- behavior -----------------------------------------------------------------

lock_actor::behavior_type lock_manager_impl(self_ptr self,
                                            lock_manager_config cfg) {
  auto& st = self->state;
  st.table = lock_table{cfg.max_name_bytes};
  st.cfg = std::move(cfg);
  return {
    [self](lock_atom, const lock_spec& spec) -> caf::result<lock_grant> {
      auto& st = self->state;
      if (auto err = check_spec(spec))
        return err;
      auto now = clock_ms(self);
      lock_request req{spec.owner, spec.resource,
                       spec.exclusive ? lock_mode::exclusive : lock_mode::shared,
                       spec.priority, now + spec.timeout_ms};
      auto res = st.table.acquire(req, now);
      if (!res)
        return std::move(res.error());
      apply(self, res->changes, now, "a lock was released");
      arm(self, now);
      auto& t = res->ticket;
      switch (res->status) {
        case acquire_status::granted:
          // Id 0: already held; nothing changed, nothing to record.
          if (t.id != 0)
            record(self, lock_acquired{t.id, t.owner, t.resource,
                                       is_exclusive(t.mode), t.priority, 0});
          return answer<lock_grant>(self, grant_of(t, 0));
        case acquire_status::waiting: {
          auto rp = self->make_response_promise<lock_grant>();
          st.waiting.emplace(t.id, pending{rp, now});
          commit(self);
          return rp;
        }
        case acquire_status::deadlocked: {
          // `apply` journaled the deadlock and this refusal; the victim had
          // no promise yet, so it is answered here.
          std::string message = "deadlock";
          for (auto& d : res->changes.deadlocks)
            if (d.victim.id == t.id)
              message = to_string(d);
          return answer<lock_grant>(
            self, make_error(errc::illegal_transition, message));
        }
        case acquire_status::timed_out:
          break;
      }
      auto message = timeout_message(t);
      record(self, refusal_of(t, "timeout", message));
      return answer<lock_grant>(self,
                                make_error(errc::illegal_transition, message));
    },
    [self](release_atom, const std::string& owner,
           const std::string& resource) -> caf::result<lock_holder_view> {
      auto& st = self->state;
      auto now = clock_ms(self);
      auto changes = st.table.release(owner, resource);
      if (!changes)
        return std::move(changes.error());
      // `release` reports the released lock first.
      auto released = view_of(changes->released.front());
      apply(self, *changes, now,
            "its owner released " + resource + ", which it meant to upgrade");
      arm(self, now);
      return answer<lock_holder_view>(self, std::move(released));
    },
    [self](release_atom, const std::string& owner) -> caf::result<lock_listing> {
      auto& st = self->state;
      auto now = clock_ms(self);
      auto changes = st.table.release_all(owner);
      if (!changes)
        return std::move(changes.error());
      lock_listing result;
      for (auto& x : changes->released) {
        record(self, lock_released{x.owner, x.resource, is_exclusive(x.mode),
                                   "release_all"});
        result.holders.push_back(view_of(x));
      }
      for (auto& t : changes->cancelled)
        if (t.owner == owner)
          result.waiters.push_back({t.id, t.owner, t.resource,
                                    is_exclusive(t.mode), t.priority, 0, 0});
      auto rest = std::move(*changes);
      rest.released.clear();
      apply(self, rest, now, "its owner released everything (it ended)");
      arm(self, now);
      if (!result.holders.empty() || !result.waiters.empty())
        spdlog::info("lock manager: released {} locks and {} waits of {}",
                     result.holders.size(), result.waiters.size(), owner);
      return answer<lock_listing>(self, std::move(result));
    },
    [self](list_atom) -> caf::result<lock_listing> {
      auto& st = self->state;
      auto now = clock_ms(self);
      lock_listing result;
      for (auto& entry : st.table.list()) {
        for (auto& h : entry.holders)
          result.holders.push_back(view_of(h));
        for (auto& t : entry.waiters) {
          int64_t since = now;
          if (auto i = st.waiting.find(t.id); i != st.waiting.end())
            since = i->second.since_ms;
          result.waiters.push_back({t.id, t.owner, t.resource,
                                    is_exclusive(t.mode), t.priority,
                                    now - since,
                                    std::max<int64_t>(0, t.deadline_ms - now)});
        }
      }
      return answer<lock_listing>(self, std::move(result));
    },
    [self](expire_atom, int64_t due) {
      auto& st = self->state;
      st.timers.erase(due);
      if (stop_if_overdue(self, st.pipe, "lock manager"))
        return;
      auto now = clock_ms(self);
      apply(self, st.table.expire(now), now, "timed out");
      commit(self);
      arm(self, now);
    },
  };
}

} // namespace

lock_actor spawn_lock_manager(caf::actor_system& sys, lock_manager_config cfg) {
  return sys.spawn(lock_manager_impl, std::move(cfg));
}

} // namespace cw::actors
