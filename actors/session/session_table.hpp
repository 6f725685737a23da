#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "caf/fwd.hpp"

#include "messages/session.hpp"
#include "messages/task.hpp"

namespace cw::actors {

/// What may happen to a session.
enum class session_command : uint8_t { assign, release, pause, resume, close };

/// Returns `"assign"`, `"release"`, `"pause"`, `"resume"` or `"close"`.
std::string to_string(session_command x);

/// The timeouts and default limit of a `session_table`.
struct session_config {
  /// Idle sessions older than this are closed by `expire`.
  int64_t idle_timeout_ms = 30 * 60'000;
  /// A key binding not used for this long no longer routes tasks.
  int64_t binding_timeout_ms = 60 * 60'000;
  /// Open sessions per pool unless `set_pool_limit` says otherwise.
  uint32_t default_pool_limit = 4;
};

/// Which tier of `session_table::allocate` found a session.
enum class allocation_tier : uint8_t {
  /// The session bound to the task's resume key.
  by_key,
  /// The session the task ran in before it was parked, kept for it.
  own,
  /// An idle session of the same provider and pool.
  idle,
  /// A new session.
  fresh,
  /// None: the task waits.
  wait,
};

/// Returns `"by_key"`, `"own"`, `"idle"`, `"fresh"` or `"wait"`.
std::string to_string(allocation_tier x);

/// The answer of `session_table::allocate`.
struct allocation {
  allocation_tier tier = allocation_tier::wait;
  /// The session now running the task; 0 when waiting.
  session_id session = 0;
  /// Why the task waits; empty otherwise.
  std::string reason;
  /// A `fresh` answer for a full pool: the idle session to close first to
  /// make room (0: none needed).
  session_id evict = 0;

  /// Returns whether the task has to wait.
  bool is_wait() const noexcept {
    return tier == allocation_tier::wait;
  }
};

/// What `session_table::expire` ended.
struct expiry {
  /// Sessions closed for being idle too long.
  std::vector<session_id> closed;
  /// Resume keys whose binding lapsed or whose session closed.
  std::vector<std::string> unbound_keys;
};

/// Sessions, their states and resume-key bindings. A pure class owned by the
/// session manager actor; time comes in as arguments. State machine:
/// `idle --assign--> busy --release--> idle`, `idle|busy --pause--> paused
/// --resume--> idle|busy`, `idle|paused --close--> closed` (a session with a
/// running task cannot close).
class session_table {
public:
  explicit session_table(session_config cfg = {});

  /// Replaces the timeouts and default limit (settings, not state).
  void configure(const session_config& cfg) {
    cfg_ = cfg;
  }

  // -- pools ------------------------------------------------------------------

  /// Sets how many open (not closed) sessions `pool` may have.
  void set_pool_limit(const std::string& pool, uint32_t max_sessions);

  /// Returns how many open sessions `pool` may have.
  uint32_t pool_limit(const std::string& pool) const;

  /// Returns the number of open sessions in `pool`.
  size_t open_in_pool(const std::string& pool) const;

  // -- commands ---------------------------------------------------------------

  /// Creates an idle session. Errors: `illegal_transition` when the pool is
  /// at its limit.
  caf::expected<session_id>
  create(const std::string& provider, const std::string& pool, int64_t now_ms);

  /// Binds `task` to idle session `id`. Errors: `invalid_argument` for an
  /// unknown session, `illegal_transition` naming the allowed commands.
  caf::expected<void> assign(session_id id, task_id task, int64_t now_ms);

  /// Unbinds the finished task of session `id`; refreshes its key binding.
  caf::expected<void> release(session_id id, int64_t now_ms);

  /// Stops session `id` from taking new tasks.
  caf::expected<void> pause(session_id id);

  /// Lets paused session `id` take tasks again.
  caf::expected<void> resume(session_id id, int64_t now_ms);

  /// Closes session `id` and drops its key binding.
  caf::expected<void> close(session_id id);

  /// Returns the commands session `id` allows now (none if unknown).
  std::vector<session_command> allowed(session_id id) const;

  // -- allocation -------------------------------------------------------------

  /// Returns what `allocate` would answer now, changing nothing (a `fresh`
  /// answer names the id the new session would get).
  allocation plan(const std::string& provider, const std::string& pool,
                  const std::optional<std::string>& resume_key,
                  int64_t now_ms, const std::string& workspace = {},
                  bool new_session = false, task_id task = 0) const;

  /// Finds a session for `task` and assigns it: (1) the session bound to
  /// `resume_key` if the binding is fresh and the session open and idle (the
  /// task waits if that session is busy; a paused one is passed over and the
  /// key moves), else (2) the most recently active idle session of the same
  /// provider and pool, preferring ones no other fresh key holds, else (3) a
  /// new session if the pool has room, else a `wait` answer. A given
  /// `resume_key` ends up bound to the chosen session. Tiers 1 and 2 take
  /// only sessions of `workspace` (or of none yet): a conversation resumes
  /// in its own directory; a key whose session belongs elsewhere moves.
  /// With `new_session` only tier 3 applies, and a full pool closes its
  /// least recently active idle session (one no other fresh key holds, if
  /// any) to make room; the answer names it in `evict`. Before all that, a
  /// session kept for `task` (see `keep`) is its own.
  allocation allocate(task_id task, const std::string& provider,
                      const std::string& pool,
                      const std::optional<std::string>& resume_key,
                      int64_t now_ms, const std::string& workspace = {},
                      bool new_session = false);

  /// Adds what a run reported: the provider's session id (if not empty),
  /// turns, cost and tokens. Errors: `invalid_argument` for an unknown
  /// session.
  caf::expected<void> record(session_id id, const std::string& cli_session_id,
                             uint32_t turns, double cost_usd,
                             const token_counts& tokens = {});

  /// Keeps idle session `id` for parked task `task`: no other task takes
  /// it and it does not close for idling until `task` is assigned again or
  /// ends (`let_go`). Not state of its own: the task table derives it from
  /// its tasks.
  void keep(session_id id, task_id task);

  /// Ends what `keep` did for `task`.
  void let_go(task_id task);

  /// Returns the task session `id` is kept for, 0 for none.
  task_id kept_for(session_id id) const;

  /// Returns every kept session and its task.
  const std::map<session_id, task_id>& kept() const noexcept {
    return kept_;
  }

  // -- replaying decisions ---------------------------------------------------

  /// Applies an allocation decided before (a journaled fact): opens session
  /// `id` if it is new (no limit applies to facts), assigns `task` and binds
  /// `resume_key` (if not empty). Errors: `illegal_transition` when the
  /// session is not idle.
  caf::expected<void> take(session_id id, task_id task,
                           const std::string& provider, const std::string& pool,
                           const std::string& resume_key, int64_t now_ms,
                           const std::string& workspace = {});

  /// Opens session `id` (a journaled fact) with an optional key binding.
  void open_as(session_id id, const std::string& provider,
               const std::string& pool, const std::string& resume_key,
               int64_t now_ms);

  /// Returns idle sessions past the idle timeout at `now_ms`: the ones
  /// `expire` would close.
  std::vector<session_id> idle_expired(int64_t now_ms) const;

  /// Returns the earliest time an idle session is past the idle timeout,
  /// if any session is idle.
  std::optional<int64_t> next_idle_deadline() const;

  /// Returns every session, oldest first (at most `limit`, newest ones,
  /// when not 0).
  std::vector<session_info> list(size_t limit = 0) const;

  /// Returns the id the next new session gets.
  session_id next_id() const noexcept {
    return next_id_;
  }

  /// Writes and reads the state for snapshots (pool limits are settings,
  /// not state). Errors: the serializer's.
  caf::error save_to(caf::serializer& sink) const;
  caf::error load_from(caf::deserializer& source);

  /// Closes idle sessions past the idle timeout and drops key bindings past
  /// the binding timeout; returns what it ended. Paused sessions stay.
  expiry expire(int64_t now_ms);

  // -- properties -------------------------------------------------------------

  /// Returns session `id`, or null.
  const session_info* find(session_id id) const;

  /// Returns the session bound to `key` if the binding is fresh at `now_ms`
  /// and the session open.
  std::optional<session_id> bound(const std::string& key, int64_t now_ms) const;

  /// Returns the number of sessions known, closed ones included.
  size_t size() const noexcept {
    return sessions_.size();
  }

private:
  struct binding {
    session_id session = 0;
    int64_t touched_ms = 0;
  };

  /// The decision of `plan`/`allocate`: the session chosen (null: a new
  /// one, or none when the answer is `wait`).
  std::pair<allocation, const session_info*>
  choose(const std::string& provider, const std::string& pool,
         const std::optional<std::string>& resume_key, int64_t now_ms,
         const std::string& workspace, bool new_session, task_id task) const;

  caf::expected<session_info*> lookup(session_id id);
  caf::expected<void> apply(session_id id, session_command cmd);
  bool is_fresh(const binding& b, int64_t now_ms) const;
  void bind(const std::string& key, session_info& s, int64_t now_ms);
  void unbind(session_info& s);

  session_config cfg_;
  std::map<std::string, uint32_t> pool_limits_;
  std::map<session_id, session_info> sessions_;
  std::map<std::string, binding> bindings_;
  /// Sessions kept for parked tasks.
  std::map<session_id, task_id> kept_;
  session_id next_id_ = 1;
};

} // namespace cw::actors
