#pragma once

#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "messages/agent.hpp"
#include "messages/interfaces.hpp"

namespace cw::actors {

class process_launcher;
class process_provider;

/// What an agent starts with.
struct agent_config {
  /// Name (unique on the node), pool, provider, capabilities, max load and
  /// weight, as registered with the scheduler.
  agent_profile profile;
  /// Receives `started` and `finished` reports.
  scheduler_actor scheduler;
  /// Starts the processes; must outlive the agent.
  std::shared_ptr<process_launcher> launcher;
  /// How long a cancelled process gets between SIGTERM and SIGKILL.
  std::chrono::milliseconds grace = std::chrono::seconds(5);
  /// A process silent and idle this long is hung (see `launch_request`);
  /// zero: never.
  std::chrono::milliseconds hung_after{0};
  /// What the processes are and what their output means; null: the
  /// `command` provider.
  std::shared_ptr<const process_provider> provider = nullptr;
  /// Readies each task's directory before its process starts (a worktree,
  /// a watcher window) and reports the files it changed after; null: the
  /// process starts in the task's directory and nothing is tracked.
  workspace_actor workspaces = {};
  /// The pool's variables for its processes: over the allow-listed ones,
  /// under the task's own `env`.
  std::map<std::string, std::string> env = {};
};

/// Spawns an agent running processes of `cfg.provider` (default: the task's
/// own argv): up to its max load of processes at a time, stdout and stderr
/// appended to each task's log file. It registers itself with the scheduler.
agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg);

/// Spawns an in-process agent of provider `noop`: every task it is given
/// starts and completes at once, with no process. For benchmarks and for
/// trying workflows out. It registers itself with the scheduler.
agent_actor spawn_noop_agent(caf::actor_system& sys, agent_profile profile,
                             scheduler_actor scheduler);

/// Returns the log file of task `id` in `log_dir`.
std::string task_log_path(const std::string& log_dir, task_id id);

/// Returns the status file of attempt `attempt` of the task whose log is
/// `log_path` (`<dir>/<id>.log` → `<dir>/<id>.<attempt>.status`).
std::string task_status_path(const std::string& log_path, uint32_t attempt);

/// Returns the environment an agent process gets: an allow-list of the
/// node's own variables (PATH, HOME, USER, LANG, LC_ALL, TERM, TMPDIR, TZ).
std::map<std::string, std::string> agent_environment();

} // namespace cw::actors
