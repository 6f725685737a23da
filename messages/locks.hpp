#pragma once

// The vocabulary of the lock manager: requests, replies and journal events.

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

namespace cw {

/// The longest an acquire request may wait, in milliseconds (10 minutes).
constexpr int64_t max_lock_wait_ms = 600'000;

/// What a client asks the lock manager for: `owner` wants `resource`.
struct lock_spec {
  /// Who asks, e.g. `"task:12"` or `"agent:review-2"`; `release_all` frees
  /// every lock of an owner.
  std::string owner;
  /// Any non-empty name (a path, a glob, a branch, `"db"`); a name with `*`,
  /// `?` or `[` is a glob that conflicts with every name it matches.
  std::string resource;
  /// Exclusive (one holder) or shared (many holders).
  bool exclusive = true;
  /// Higher is served first among waiters.
  int32_t priority = 0;
  /// Longest wait in ms, 0 to `max_lock_wait_ms`; 0 makes a try-lock.
  int64_t timeout_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_spec& x) {
  return f(caf::meta::type_name("cw.lock_spec"), x.owner, x.resource,
           x.exclusive, x.priority, x.timeout_ms);
}

/// The answer to a granted acquire request.
struct lock_grant {
  /// The request's id, in arrival order; 0 when the lock was already held.
  uint64_t request = 0;
  /// The holder.
  std::string owner;
  /// The resource held.
  std::string resource;
  /// The mode held (an owner holding exclusively who asks for shared keeps
  /// its exclusive lock).
  bool exclusive = true;
  /// How long the request waited, in ms.
  int64_t waited_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_grant& x) {
  return f(caf::meta::type_name("cw.lock_grant"), x.request, x.owner,
           x.resource, x.exclusive, x.waited_ms);
}

/// A lock held, as `cw locks` shows it.
struct lock_holder_view {
  /// The holder.
  std::string owner;
  /// The resource name or glob.
  std::string resource;
  /// The mode held.
  bool exclusive = true;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_holder_view& x) {
  return f(caf::meta::type_name("cw.lock_holder_view"), x.owner, x.resource,
           x.exclusive);
}

/// A waiting acquire request, as `cw locks` shows it.
struct lock_waiter_view {
  /// The request's id, in arrival order.
  uint64_t request = 0;
  /// Who waits.
  std::string owner;
  /// For which resource.
  std::string resource;
  /// In which mode.
  bool exclusive = true;
  /// Its priority.
  int32_t priority = 0;
  /// How long it has waited so far, in ms.
  int64_t waited_ms = 0;
  /// How long it may still wait before it times out, in ms.
  int64_t expires_in_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_waiter_view& x) {
  return f(caf::meta::type_name("cw.lock_waiter_view"), x.request, x.owner,
           x.resource, x.exclusive, x.priority, x.waited_ms, x.expires_in_ms);
}

/// Holders and waiters, by resource name; waiters of one resource in the
/// order they are served.
struct lock_listing {
  /// Locks held.
  std::vector<lock_holder_view> holders;
  /// Requests that wait.
  std::vector<lock_waiter_view> waiters;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lock_listing& x) {
  return f(caf::meta::type_name("cw.lock_listing"), x.holders, x.waiters);
}

// -- journal events -----------------------------------------------------------

/// An acquire request was granted (`lock.acquired@1`).
struct lock_acquired {
  uint64_t request = 0;
  std::string owner;
  std::string resource;
  bool exclusive = true;
  int32_t priority = 0;
  int64_t waited_ms = 0;
};

/// A lock was released (`lock.released@1`); `reason` is `"release"` or
/// `"release_all"` (its owner ended).
struct lock_released {
  std::string owner;
  std::string resource;
  bool exclusive = true;
  std::string reason;
};

/// An acquire request ended without the lock (`lock.refused@1`); `reason` is
/// `"deadlock"`, `"timeout"` or `"cancelled"`, `message` what the requester
/// was told.
struct lock_refused {
  uint64_t request = 0;
  std::string owner;
  std::string resource;
  bool exclusive = true;
  int32_t priority = 0;
  std::string reason;
  std::string message;
};

/// One step of a deadlock cycle: `owner` waits (request `request`) for
/// `resource`, which conflicts with `blocker_resource` of the next step's
/// owner, who holds it (`blocker_holds`) or waits for it.
struct lock_wait_step {
  uint64_t request = 0;
  std::string owner;
  std::string resource;
  bool exclusive = true;
  int32_t priority = 0;
  std::string blocker_resource;
  bool blocker_holds = true;
};

/// A deadlock was found and broken by refusing request `victim`
/// (`lock.deadlock@1`); the `lock.refused` of the victim follows.
struct lock_deadlock {
  std::vector<lock_wait_step> cycle;
  uint64_t victim = 0;
  std::string victim_owner;
  std::string victim_resource;
  /// One line naming the cycle, as the victim's error says it.
  std::string message;
};

} // namespace cw
