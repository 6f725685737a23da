#pragma once

#include <chrono>
#include <memory>

#include "actors/agent/process_launcher.hpp"

namespace cw::runtime {

/// Starts agent processes with Boost.Process: no shell, its own process
/// group, a clean environment, stdin from /dev/null, stdout and stderr
/// appended to the log file. Children are reaped on the launcher's own I/O
/// thread (SIGCHLD + waitpid), never on a CAF scheduler thread.
class boost_process_launcher : public actors::process_launcher {
public:
  boost_process_launcher();

  ~boost_process_launcher() override;

  void launch(actors::launch_request req, start_callback on_start,
              exit_callback on_exit) override;

  void terminate(int64_t pid, std::chrono::milliseconds grace) override;

  /// Terminates every running process group (SIGTERM, SIGKILL after
  /// `grace`), waits until they are reaped and stops the I/O thread.
  void shutdown(std::chrono::milliseconds grace);

  /// Returns the number of processes not yet reaped.
  size_t running() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace cw::runtime
