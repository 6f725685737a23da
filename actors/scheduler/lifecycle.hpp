#pragma once

#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// What a client may ask of the scheduler's life cycle.
enum class lifecycle_command { pause, resume, drain };

/// Returns `"pause"`, `"resume"` or `"drain"`.
std::string to_string(lifecycle_command x);

/// The scheduler's life cycle: `idle → running ⇄ paused`, `drain` →
/// `stopping` (no new starts, running tasks finish) `→ stopped`, `resume`
/// from `stopped` → `running`. A pure state machine.
class lifecycle {
public:
  /// Returns the current phase.
  scheduler_phase phase() const noexcept {
    return phase_;
  }

  /// Returns whether queued tasks may start now.
  bool may_start_tasks() const noexcept {
    return phase_ == scheduler_phase::running;
  }

  /// Returns the phase `cmd` leads to, or `illegal_transition` naming the
  /// commands allowed in the current phase.
  caf::expected<scheduler_phase> next(lifecycle_command cmd) const;

  /// Returns the commands allowed in the current phase.
  std::vector<lifecycle_command> allowed() const;

  /// Applies a recorded change (from the journal or a decision).
  void apply(scheduler_phase to) noexcept {
    phase_ = to;
  }

private:
  scheduler_phase phase_ = scheduler_phase::idle;
};

} // namespace cw::actors
