#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/fwd.hpp"

#include "actors/supervisor/restart_policy.hpp"

namespace cw::actors {

/// How to start one child of a supervisor, and when to start it again.
struct child_spec {
  /// Unique among the supervisor's children; used in reports and queries.
  std::string name;
  /// Spawns a fresh instance. An invalid handle (or an exception) counts as
  /// an abnormal exit of the new instance. Must not link the child to
  /// anything: the supervisor links and monitors it.
  std::function<caf::actor(caf::actor_system&)> start;
  /// When the child is restarted.
  restart_type restart = restart_type::permanent;
};

/// Something a supervisor did or saw, for the caller to journal.
struct supervisor_report {
  /// The kinds of report.
  enum class kind : uint8_t {
    /// A child instance was spawned (`restarts` > 0 after a restart).
    started,
    /// A child exited abnormally on its own.
    crashed,
    /// A child will be started again after `delay_ms`.
    restarting,
    /// The restart intensity was exceeded: the supervisor stops its
    /// children and exits with `reason`.
    gave_up,
    /// A child exited normally, or was stopped by its supervisor.
    stopped,
  };

  /// What happened.
  kind what = kind::started;
  /// The supervisor's name.
  std::string supervisor;
  /// The child concerned.
  std::string child;
  /// The exit reason or the cause, as text; empty for `started`.
  std::string reason;
  /// Consecutive restarts of the child (the back-off exponent).
  uint32_t restarts = 0;
  /// Back-off before the restart (`restarting` only).
  int64_t delay_ms = 0;
};

/// Returns `"started"`, `"crashed"`, `"restarting"`, `"gave_up"` or
/// `"stopped"`.
std::string to_string(supervisor_report::kind x);

/// Receives every report of a supervisor, on the supervisor's thread: it
/// must not block.
using supervisor_observer = std::function<void(const supervisor_report&)>;

/// What a supervisor starts with.
struct supervisor_config {
  /// Names the supervisor in reports and in its give-up reason.
  std::string name;
  /// Strategy, intensity, period and back-off.
  supervisor_flags flags;
  /// The children, in start order.
  std::vector<child_spec> children;
  /// Receives every report; may be null.
  supervisor_observer observer;
  /// Makes the spec of the `index`-th dynamic child (OTP's start_child), for
  /// `grow`; null: the supervisor has only its fixed children.
  std::function<child_spec(uint32_t index)> dynamic_child;
  /// `grow` refuses to have more children than this in all (fixed ones
  /// included).
  uint32_t max_children = 0;
  /// A child told to stop (`user_shutdown`) that is still alive after this
  /// long is killed (`exit_reason::kill`).
  int64_t shutdown_ms = 5'000;
};

/// Spawns a supervisor (OTP semantics). It starts the children in order,
/// links to and monitors each, and restarts them as `cfg.flags` say; stops
/// are sequential, in reverse start order. When the intensity is exceeded
/// it stops every child and exits with an error of category `cw` whose
/// message starts with `supervisor '<name>' gave up`, so that its parent
/// (another supervisor) decides. An exit message from a non-child (its
/// parent shutting down) with a non-normal reason stops the children, then
/// the supervisor exits with that reason.
///
/// Messages:
/// - `children` replies `(std::vector<std::string> names,
///   std::vector<std::string> states, std::vector<caf::actor> handles)`,
///   in start order; states are those of `child_state`, handles are invalid
///   unless the child runs.
/// - `grow` starts one more child from `cfg.dynamic_child`, with the lowest
///   index from 1 whose name is free, and replies with its name. Errors:
///   `illegal_transition` (no factory, `max_children` reached, stopping),
///   `agent_spawn_failed` (its first start failed; it is not kept).
/// - `(shrink, name, reason)` stops child `name` for good and forgets it
///   (OTP's terminate_child and delete_child); its `stopped` report carries
///   `reason`. Replies with whether it was a child.
/// - `(restart, name, ticket)`: internal; a back-off elapsed.
/// - `(caf::timeout, seq)`: internal; the stop numbered `seq` took too long.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_config cfg);

/// Returns whether `err` is the exit reason of a supervisor that gave up.
bool is_give_up(const caf::error& err);

} // namespace cw::actors
