#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "messages/agent.hpp"

namespace cw::actors {

using cw::breaker_config;

/// Where a circuit breaker is.
enum class breaker_state : uint8_t {
  /// Tasks flow; consecutive failures are counted.
  closed,
  /// Tasks are refused until the cool-down has passed.
  open,
  /// A limited number of trial tasks probe the provider.
  half_open,
};

/// Returns `"closed"`, `"open"` or `"half_open"`.
std::string to_string(breaker_state x);


/// One change of state, for the caller to journal.
struct breaker_transition {
  /// The state before.
  breaker_state from = breaker_state::closed;
  /// The state after.
  breaker_state to = breaker_state::closed;
  /// When it happened (the caller's milliseconds).
  int64_t at_ms = 0;
  /// Consecutive failures counted at that moment.
  uint32_t failures = 0;
  /// Why, in a few words (`"5 consecutive failures"`, `"trial succeeded"`).
  std::string reason;
};

/// The answer of `circuit_breaker::allow`.
struct breaker_admission {
  /// Whether the task may go to the provider now.
  bool allowed = false;
  /// The change `allow` made (open → half_open), if any.
  std::optional<breaker_transition> transition;
};

/// A per-provider circuit breaker: `closed` → `open` after
/// `failure_threshold` consecutive failures; `open` → `half_open` once
/// `cool_down_ms` passed (on the next `allow`); `half_open` admits up to
/// `half_open_trials` tasks at a time, a success closes it and a failure
/// opens it again for another cool-down. Pure: the caller passes the time
/// and journals every returned transition.
///
/// Results are not matched to the tasks that caused them: a success or a
/// failure of a task admitted before the breaker opened still counts once
/// it is half-open, and results that arrive while it is open are ignored.
class circuit_breaker {
public:
  /// Creates a closed breaker.
  explicit circuit_breaker(breaker_config cfg = {});

  /// Returns the current state.
  breaker_state state() const noexcept {
    return state_;
  }

  /// Returns the consecutive failures counted so far.
  uint32_t failures() const noexcept {
    return failures_;
  }

  /// Returns the trial tasks admitted in `half_open` that have not reported.
  uint32_t trials_in_flight() const noexcept {
    return trials_;
  }

  /// Returns when an open breaker admits its next trial; `now_ms` (any time)
  /// when it is not open.
  int64_t retry_at_ms(int64_t now_ms) const noexcept;

  /// Returns whether a task may go to the provider at `now_ms`, counting it
  /// as a trial when half-open.
  breaker_admission allow(int64_t now_ms);

  /// Records a successful task.
  std::optional<breaker_transition> on_success(int64_t now_ms);

  /// Records a failed task.
  std::optional<breaker_transition> on_failure(int64_t now_ms);

  /// Releases the slot of a trial that ended without a verdict (cancelled).
  void on_abandoned() noexcept;

private:
  breaker_transition move_to(breaker_state to, int64_t now_ms,
                             std::string reason);

  breaker_config cfg_;
  breaker_state state_ = breaker_state::closed;
  uint32_t failures_ = 0;
  uint32_t trials_ = 0;
  int64_t opened_ms_ = 0;
};

} // namespace cw::actors
