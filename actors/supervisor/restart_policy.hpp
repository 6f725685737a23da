#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace cw::actors {

/// Which children a supervisor restarts when one of them has to be restarted.
enum class restart_strategy : uint8_t {
  /// Only the child that exited.
  one_for_one,
  /// Every child: the others are stopped first.
  one_for_all,
  /// The child that exited and every child started after it.
  rest_for_one,
};

/// When a child is restarted.
enum class restart_type : uint8_t {
  /// After every exit.
  permanent,
  /// After an abnormal exit only.
  transient,
  /// Never; a temporary child stopped by its supervisor is dropped too.
  temporary,
};

/// Where a child is in its life.
enum class child_state : uint8_t {
  /// Its actor is alive.
  running,
  /// The supervisor asked it to stop and waits for it to be down.
  stopping,
  /// It is down and will be started again once its back-off timer fired.
  waiting,
  /// It ended for good: it is never started again.
  stopped,
};

/// Returns `"one_for_one"`, `"one_for_all"` or `"rest_for_one"`.
std::string to_string(restart_strategy x);

/// Returns `"permanent"`, `"transient"` or `"temporary"`.
std::string to_string(restart_type x);

/// Returns `"running"`, `"stopping"`, `"waiting"` or `"stopped"`.
std::string to_string(child_state x);

/// Exponential back-off between restarts of the same child. The n-th
/// consecutive restart waits `min(max_ms, base_ms * factor^(n-1))`.
struct backoff_policy {
  /// Delay of the first restart; 0 restarts at once, every time.
  int64_t base_ms = 0;
  /// Growth per consecutive restart.
  double factor = 2.0;
  /// Upper bound of one delay.
  int64_t max_ms = 30'000;
  /// A child that ran at least this long before exiting starts over at the
  /// base delay.
  int64_t reset_after_ms = 60'000;
};

/// How a supervisor reacts to exits (OTP's supervisor flags).
struct supervisor_flags {
  /// Which children restart together.
  restart_strategy strategy = restart_strategy::one_for_one;
  /// At most this many restarts within `period_ms`; one more and the
  /// supervisor gives up.
  uint32_t intensity = 3;
  /// The sliding window of `intensity`.
  int64_t period_ms = 5'000;
  /// Delays between restarts of the same child.
  backoff_policy backoff;
};

/// What a supervisor does about one child exit.
struct restart_decision {
  /// The kinds of decision.
  enum class verdict : uint8_t {
    /// Nothing to do: the child ended for good, or the supervisor had
    /// stopped it itself.
    none,
    /// Stop `stop`, then start `restart` after `delay_ms`.
    restart,
    /// The intensity is exceeded: stop `stop`, then exit with `reason`.
    give_up,
  };

  /// What to do.
  verdict action = verdict::none;
  /// Running children to stop, in reverse start order.
  std::vector<std::string> stop;
  /// Children to start again once `ticket` fired, in start order.
  std::vector<std::string> restart;
  /// Back-off before the restart.
  int64_t delay_ms = 0;
  /// Consecutive restarts of the exited child, this one included.
  uint32_t restarts = 0;
  /// Pass to `restart_policy::fire` when the back-off elapsed.
  uint64_t ticket = 0;
  /// Why the supervisor gives up; empty otherwise.
  std::string reason;
};

/// One child as the policy sees it.
struct child_status {
  /// The child's unique name within its supervisor.
  std::string name;
  /// When it is restarted.
  restart_type type = restart_type::permanent;
  /// Where it is in its life.
  child_state state = child_state::waiting;
  /// Consecutive restarts (the back-off exponent); 0 after a stable run.
  uint32_t restarts = 0;
};

/// The deciding half of a supervisor (OTP semantics): which children to
/// stop and restart after an exit, after what delay, and when to give up.
/// Time comes in as milliseconds from the caller; no actor, no clock.
///
/// A child's life: `add` (waiting, due) → `started` (running) → `exited`
/// (waiting, stopped) or `stop` requested by a decision (stopping) →
/// `exited` (waiting or stopped) → `fire(ticket)` → `next_startable` →
/// `started` …
class restart_policy {
public:
  // -- constructors -----------------------------------------------------------

  /// Creates a policy without children.
  explicit restart_policy(supervisor_flags flags = {});

  // -- properties -------------------------------------------------------------

  /// Returns the flags this policy decides by.
  const supervisor_flags& flags() const noexcept {
    return flags_;
  }

  /// Returns every child in start order.
  std::vector<child_status> children() const;

  /// Returns the state of `name`, if it is a child.
  std::optional<child_state> state_of(const std::string& name) const;

  /// Returns whether some child is running or stopping.
  bool has_live_children() const noexcept;

  /// Returns the delay before the `n`-th consecutive restart (n ≥ 1).
  int64_t backoff_delay_ms(uint32_t n) const noexcept;

  // -- changes ----------------------------------------------------------------

  /// Adds a child at the end of the start order, due to start at once.
  /// Names must be unique; returns false and changes nothing otherwise.
  bool add(std::string name, restart_type type);

  /// Returns the first child (in start order) that may start now: its timer
  /// fired and no child of the same restart is still stopping.
  std::optional<std::string> next_startable() const;

  /// Records that `name` started at `now_ms`.
  void started(const std::string& name, int64_t now_ms);

  /// Decides what follows the exit of `name` at `now_ms`. An exit of a child
  /// the supervisor is stopping is never a new failure: it only moves the
  /// child to `waiting` (or `stopped`) and returns verdict `none`.
  restart_decision exited(const std::string& name, bool abnormal,
                          int64_t now_ms);

  /// Records that the back-off of `ticket` elapsed; stale tickets (of
  /// children that were since regrouped or stopped) are ignored.
  void fire(uint64_t ticket);

  /// Takes `name` out for good (OTP's terminate_child): a running child is
  /// now stopping and never restarted; a waiting one is stopped. Returns
  /// whether it runs and must be told to stop, or nothing if unknown.
  std::optional<bool> terminate(const std::string& name);

  /// Forgets a child that is stopped (OTP's delete_child); false if it is
  /// unknown or still alive.
  bool remove(const std::string& name);

  /// Stops everything, as on shutdown or give-up: returns the running
  /// children in reverse start order (now stopping); no child is started
  /// again.
  std::vector<std::string> shut_down();

private:
  struct child {
    std::string name;
    restart_type type;
    child_state state = child_state::waiting;
    uint32_t restarts = 0;
    int64_t started_ms = 0;
    // The restart this child waits for, and whether its timer fired.
    uint64_t ticket = 0;
    bool due = true;
  };

  child* find(const std::string& name);
  const child* find(const std::string& name) const;

  /// Records a restart at `now_ms`; returns false if it exceeds the
  /// intensity.
  bool admit_restart(int64_t now_ms);

  supervisor_flags flags_;
  std::vector<child> children_;
  // Times of the restarts within the last `period_ms`.
  std::deque<int64_t> restarts_;
  uint64_t next_ticket_ = 1;
  bool shut_down_ = false;
};

} // namespace cw::actors
