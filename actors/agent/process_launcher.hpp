#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "messages/task.hpp"

namespace cw::actors {

/// What to start: a program with its arguments, never through a shell.
struct launch_request {
  /// Program (looked up on PATH when it has no slash) and its arguments.
  std::vector<std::string> argv;
  /// Working directory.
  std::string workspace;
  /// File that receives stdout and stderr (appended, created if missing).
  std::string log_path;
  /// File the process's owner keeps its state in (see `cw-shim`): running
  /// with its pids, then exited with its status. Survives the node.
  std::string status_path;
  /// The complete environment of the process.
  std::map<std::string, std::string> env;
  /// A process that neither writes to its log nor uses CPU time for this
  /// long is hung: its group is killed and its attempt fails (`hung: ...`).
  /// Zero: never.
  std::chrono::milliseconds hung_after{0};
};

/// Starts, finds again and stops agent processes: the seam between the agent
/// actor's decisions and the operating system (a fake in tests, cw-shim
/// processes started with Boost.Process in runtime/). Implementations are
/// thread-safe; callbacks run on the launcher's own thread and must not
/// block.
class process_launcher {
public:
  /// Called with the process once it runs.
  using start_callback = std::function<void(process_ref)>;
  /// Called exactly once when the process ended or could not start.
  using exit_callback = std::function<void(task_outcome)>;

  virtual ~process_launcher();

  /// Starts `req` in its own process group. Calls `on_start` then `on_exit`;
  /// or only `on_exit` with a failed outcome naming the reason when the
  /// process cannot start (e.g. the program does not exist).
  virtual void launch(launch_request req, start_callback on_start,
                      exit_callback on_exit)
    = 0;

  /// Looks for a process started before the node restarted, by its status
  /// file (`req.status_path`) and `ref` (a pid counts only with the start time
  /// it had); `req.log_path` and `req.hung_after` apply as for `launch`. Returns
  /// false when it never started. Otherwise calls `on_exit` once: when the
  /// process ends, or soon when it ended while the node was down (with its
  /// recorded status) or its owner died without recording one (failed).
  virtual bool adopt(const process_ref& ref, const launch_request& req,
                     exit_callback on_exit)
    = 0;

  /// Asks the process to stop (SIGTERM to its group), SIGKILL after `grace`.
  virtual void terminate(const process_ref& ref,
                         std::chrono::milliseconds grace)
    = 0;
};

/// Returns the outcome of a process that exited with `status` as reported by
/// waitpid: exit code 0 is `completed`, anything else `failed`.
task_outcome outcome_from_wait_status(int status);

/// Returns the outcome of a process that exited with `code` or was killed by
/// `signal` (when not 0).
task_outcome outcome_from_exit(int32_t code, int32_t signal);

} // namespace cw::actors
