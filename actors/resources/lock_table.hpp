#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "actors/resources/wait_for_graph.hpp"

namespace cw::actors {

// -- vocabulary ---------------------------------------------------------------

/// How a lock is held: by many owners at once or by one alone.
enum class lock_mode : uint8_t { shared, exclusive };

/// Returns `"shared"` or `"exclusive"`.
std::string to_string(lock_mode x);

/// Identifies one acquire request; 0 stands for "none" (a lock already held).
using lock_request_id = uint64_t;

/// The deadline of a request that waits as long as it takes.
constexpr int64_t lock_forever = INT64_MAX;

/// A request for a lock.
struct lock_request {
  /// Who asks, e.g. `"task:12"`; `release_all` frees all of an owner's locks.
  std::string owner;
  /// Any string; a name with `*`, `?` or `[` is a glob.
  std::string resource;
  /// The mode asked for.
  lock_mode mode = lock_mode::exclusive;
  /// Higher is served first.
  int32_t priority = 0;
  /// Virtual time in ms at which a waiting request times out; a deadline not
  /// after `now_ms` makes `acquire` a try-lock.
  int64_t deadline_ms = lock_forever;
};

/// A request the table knows, as reported in changes and listings.
struct lock_ticket {
  /// Assigned by the table in arrival order; 0 for a lock already held.
  lock_request_id id = 0;
  /// See `lock_request`.
  std::string owner;
  /// See `lock_request`.
  std::string resource;
  /// See `lock_request`.
  lock_mode mode = lock_mode::exclusive;
  /// See `lock_request`.
  int32_t priority = 0;
  /// See `lock_request`.
  int64_t deadline_ms = lock_forever;

  /// Returns whether both tickets are the same.
  bool operator==(const lock_ticket&) const = default;
};

/// A lock held: `owner` holds `resource` in `mode`.
struct lock_holding {
  /// The holder.
  std::string owner;
  /// The resource name or glob.
  std::string resource;
  /// The mode held.
  lock_mode mode = lock_mode::exclusive;

  /// Returns whether both holdings are the same.
  bool operator==(const lock_holding&) const = default;
};

/// One step of a deadlock cycle: `waiter` waits for its resource, which
/// conflicts with `blocker_resource`, held or awaited by the next step's owner.
struct deadlock_step {
  /// The waiting request.
  lock_ticket waiter;
  /// The conflicting resource of the next owner in the cycle.
  std::string blocker_resource;
  /// Whether the next owner holds `blocker_resource` (else it waits for it).
  bool blocker_holds = true;

  /// Returns whether both steps are the same.
  bool operator==(const deadlock_step&) const = default;
};

/// A deadlock found and broken by refusing `victim`.
struct deadlock {
  /// The cycle in order; the last step's blocker is the first step's owner.
  std::vector<deadlock_step> cycle;
  /// The refused request: lowest priority in the cycle, then the youngest.
  lock_ticket victim;

  /// Returns whether both deadlocks are the same.
  bool operator==(const deadlock&) const = default;
};

/// Returns a one-line description of `x` for logs and error messages.
std::string to_string(const deadlock& x);

/// What an operation changed, each list in the order it happened.
struct lock_changes {
  /// Waiting requests granted.
  std::vector<lock_ticket> granted;
  /// Deadlocks broken, each with its refused victim.
  std::vector<deadlock> deadlocks;
  /// Waiting requests whose deadline passed.
  std::vector<lock_ticket> timed_out;
  /// Waiting requests withdrawn: by `cancel`, by their owner's
  /// `release_all`, or an upgrade whose shared lock was released.
  std::vector<lock_ticket> cancelled;
  /// Locks released.
  std::vector<lock_holding> released;

  /// Returns whether nothing changed.
  bool empty() const noexcept;
};

/// What became of an acquire request.
enum class acquire_status : uint8_t {
  /// The lock is held now (or was already).
  granted,
  /// The request waits; a later change grants, refuses or times it out.
  waiting,
  /// The request was refused to break a deadlock.
  deadlocked,
  /// The request would have to wait past its deadline.
  timed_out,
};

/// Returns the enumerator's name, e.g. `"waiting"`.
std::string to_string(acquire_status x);

/// The answer to `acquire`.
struct acquire_result {
  /// The request as the table knows it.
  lock_ticket ticket;
  /// What became of it.
  acquire_status status = acquire_status::granted;
  /// What happened to other requests as a consequence. `deadlocks` lists
  /// every deadlock broken, including one whose victim is this request;
  /// `granted` never lists this request.
  lock_changes changes;
};

/// Holders and waiters of one resource, for `cw locks`.
struct resource_locks {
  /// The resource name or glob.
  std::string resource;
  /// Holders, by owner name.
  std::vector<lock_holding> holders;
  /// Waiters, in the order they are served.
  std::vector<lock_ticket> waiters;

  /// Returns whether both listings are the same.
  bool operator==(const resource_locks&) const = default;
};

// -- globs --------------------------------------------------------------------

/// Returns whether `name` is a glob: it contains `*`, `?` or `[`.
bool is_glob(std::string_view name) noexcept;

/// Returns whether `name` matches `pattern` (fnmatch with FNM_PATHNAME, no
/// escapes): `*`, `?` and `[...]` stay within a path segment, `**` crosses
/// `/` and `**/` also matches nothing; `[!...]` or `[^...]` negates.
bool glob_match(std::string_view pattern, std::string_view name);

/// Returns whether `a` and `b` may name a common resource: equal names, a
/// glob and a name it matches, or two globs unless their literal prefixes or
/// suffixes rule it out (conservative).
bool may_overlap(std::string_view a, std::string_view b);

// -- lock table ---------------------------------------------------------------

/// The decisions of the resource manager: who holds which named resource in
/// which mode, who waits in which order, and which deadlocks to break.
///
/// Waiters are served by priority, then arrival. A request waits while it
/// conflicts with a holder or with a waiter ahead of it, so a stream of
/// shared requests does not starve an earlier exclusive waiter. An upgrade
/// (shared to exclusive by a holder) waits only for the other holders and is
/// served before plain requests. Holdings are not counted: acquiring twice
/// and releasing once frees the lock.
///
/// Every wait updates the wait-for graph and searches it from the waiting
/// owner; a cycle is broken by refusing its lowest-priority request (then the
/// youngest). No clocks: the caller passes virtual time. Given the same
/// sequence of calls the table reaches the same state, so replaying the
/// journaled calls rebuilds it. Owned by the lock manager actor.
class lock_table {
public:
  // -- constants --------------------------------------------------------------

  /// The default limit for owner and resource names, in bytes.
  static constexpr size_t default_max_name_bytes = 1024;

  // -- constructors -----------------------------------------------------------

  /// Creates an empty table that accepts names of up to `max_name_bytes`.
  explicit lock_table(size_t max_name_bytes = default_max_name_bytes);

  // -- operations -------------------------------------------------------------

  /// Grants, queues or refuses `req` at virtual time `now_ms`. Asking again
  /// for a lock held in the same or a stronger mode, or awaited in the same
  /// mode, changes nothing. Errors: `invalid_argument` for an empty or
  /// oversized name; `illegal_transition` when the owner already waits for
  /// the resource in the other mode.
  caf::expected<acquire_result> acquire(const lock_request& req,
                                        int64_t now_ms);

  /// Releases the lock `owner` holds on `resource` (and withdraws its pending
  /// upgrade of it). Errors: `invalid_argument` for a bad name;
  /// `illegal_transition` when `owner` does not hold `resource`.
  caf::expected<lock_changes> release(const std::string& owner,
                                      const std::string& resource);

  /// Releases every lock of `owner` and withdraws its waiting requests, for
  /// an owner that ended. Errors: `invalid_argument` for a bad name.
  caf::expected<lock_changes> release_all(const std::string& owner);

  /// Withdraws the waiting request `id`. Errors: `invalid_argument` when no
  /// request with that id waits.
  caf::expected<lock_changes> cancel(lock_request_id id);

  /// Times out every waiting request whose deadline is not after `now_ms`.
  lock_changes expire(int64_t now_ms);

  // -- queries ----------------------------------------------------------------

  /// Returns the earliest deadline of a waiting request: when to call
  /// `expire` next.
  std::optional<int64_t> next_deadline() const;

  /// Returns holders and waiters of every resource, by resource name.
  std::vector<resource_locks> list() const;

  /// Returns the locks `owner` holds, by resource name.
  std::vector<lock_holding> held_by(const std::string& owner) const;

  /// Returns the waiting request `id`, if it waits.
  std::optional<lock_ticket> find_waiting(lock_request_id id) const;

  /// Returns the number of waiting requests.
  size_t waiting() const noexcept {
    return waiting_.size();
  }

  /// Returns the wait-for graph, for diagnostics and benchmarks.
  const wait_for_graph& graph() const noexcept {
    return graph_;
  }

private:
  // -- member types -----------------------------------------------------------

  using owner_id = wait_for_graph::node_id;

  // Service order: upgrades first, then higher priority, then arrival.
  using wait_key = std::tuple<int, int64_t, lock_request_id>;

  struct request_entry {
    lock_request_id id = 0;
    owner_id owner = 0;
    std::string resource;
    lock_mode mode = lock_mode::exclusive;
    int32_t priority = 0;
    int64_t deadline_ms = lock_forever;
    bool upgrade = false;
    // Owners this request waits for, in discovery order; mirrors the graph.
    std::vector<owner_id> blockers;
  };

  struct resource_entry {
    std::map<owner_id, lock_mode> holders;
    std::set<wait_key> waiters;
  };

  struct owner_entry {
    std::string name;
    std::set<std::string> held;
    std::map<std::string, lock_request_id> waiting;
  };

  // -- helpers ----------------------------------------------------------------

  caf::error check_name(const char* field, const std::string& name) const;
  owner_id intern(const std::string& name);
  std::optional<owner_id> lookup(const std::string& name) const;
  void forget_if_idle(owner_id id);

  resource_entry* find_resource(const std::string& name);
  resource_entry& resource(const std::string& name);
  void erase_if_unused(const std::string& name);
  template <class F>
  void for_each_overlapping(const std::string& name, F f);

  static wait_key key_of(const request_entry& q);
  lock_ticket ticket_of(const request_entry& q) const;
  std::vector<owner_id> blockers_of(const request_entry& q);
  deadlock_step step_of(const wait_for_graph::edge& e);

  void add_holder(owner_id owner, const std::string& name, lock_mode mode);
  void enqueue(request_entry q);
  lock_ticket dequeue(lock_request_id id);
  bool link_behind(const request_entry& q, bool holds);
  void set_blockers(request_entry& q, std::vector<owner_id> blockers,
                    std::vector<owner_id>& recheck);
  void grant(lock_request_id id, lock_changes& changes,
             std::vector<owner_id>& recheck);
  void pump(const std::vector<std::string>& names, lock_changes& changes);
  void resolve_deadlocks(std::vector<owner_id> recheck, lock_changes& changes);

  // -- member variables -------------------------------------------------------

  size_t max_name_bytes_;
  lock_request_id last_id_ = 0;
  // Exact names and globs apart: an exact name finds its entry in O(log n);
  // only globs are scanned.
  std::map<std::string, resource_entry> exact_;
  std::map<std::string, resource_entry> globs_;
  std::map<lock_request_id, request_entry> waiting_;
  std::set<std::pair<int64_t, lock_request_id>> deadlines_;
  std::vector<owner_entry> owners_;
  std::map<std::string, owner_id> owner_ids_;
  std::vector<owner_id> free_ids_;
  wait_for_graph graph_;
};

} // namespace cw::actors
