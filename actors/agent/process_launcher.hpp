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
  /// The complete environment of the process.
  std::map<std::string, std::string> env;
};

/// Starts and stops agent processes: the seam between the agent actor's
/// decisions and the operating system (a fake in tests, Boost.Process in
/// runtime/). Implementations are thread-safe; callbacks run on the
/// launcher's own thread and must not block.
class process_launcher {
public:
  /// Called with the pid once the process runs.
  using start_callback = std::function<void(int64_t pid)>;
  /// Called exactly once when the process ended or could not start.
  using exit_callback = std::function<void(task_outcome)>;

  virtual ~process_launcher();

  /// Starts `req` in its own process group. Calls `on_start` then `on_exit`;
  /// or only `on_exit` with a failed outcome naming the reason when the
  /// process cannot start (e.g. the program does not exist).
  virtual void launch(launch_request req, start_callback on_start,
                      exit_callback on_exit)
    = 0;

  /// Sends SIGTERM to the process group of `pid`, SIGKILL after `grace`.
  virtual void terminate(int64_t pid, std::chrono::milliseconds grace) = 0;
};

/// Returns the outcome of a process that exited with `status` as reported by
/// waitpid: exit code 0 is `completed`, anything else `failed`.
task_outcome outcome_from_wait_status(int status);

} // namespace cw::actors
