#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/agent/process_launcher.hpp"

namespace cw::runtime {

/// Starts every agent process under a `cw-shim` (see apps/cw-shim/main.cpp),
/// never through a shell, with exactly the environment asked for and stdin
/// from /dev/null. A shim leaves the node's session, runs the program in a
/// process group of its own with stdout and stderr appended to the log file,
/// and records its state in the status file; so the program outlives the
/// node and a restarted node adopts it.
///
/// The shims are servers (`cw-shim --serve`, spawned with `posix_spawn`)
/// that run one program after another, each sent over a socket pair: a task
/// costs one process start, not two. A shim idle for `idle_limit` is told to
/// leave (its socket closed); so is every shim when the launcher shuts down,
/// and one whose node died leaves after its program. All I/O (sockets,
/// pidfds of adopted shims, liveness checks) runs on the launcher's own
/// thread, never on a CAF scheduler thread; the shims are reaped there too.
class shim_launcher : public actors::process_launcher {
public:
  /// `shim` is the path of the cw-shim executable; a shim that ran no
  /// program for `idle_limit` leaves.
  explicit shim_launcher(std::string shim,
                         std::chrono::milliseconds idle_limit
                         = std::chrono::seconds(10));

  ~shim_launcher() override;

  void launch(actors::launch_request req, start_callback on_start,
              exit_callback on_exit) override;

  bool adopt(const process_ref& ref, const actors::launch_request& req,
             exit_callback on_exit) override;

  void terminate(const process_ref& ref,
                 std::chrono::milliseconds grace) override;

  /// Stops the I/O thread. Unless `keep` is set, terminates every process
  /// first (SIGTERM, SIGKILL after `grace`) and waits until they ended; with
  /// `keep` they run on, to be adopted by the next start of the node.
  void shutdown(std::chrono::milliseconds grace, bool keep = false);

  /// Returns the number of processes followed that have not ended.
  size_t running() const;

  /// Returns the number of shims started here that have not ended.
  size_t shims() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Returns the cw-shim to use when the config names none: `cw-shim` next to
/// the running executable, then `../cw-shim/cw-shim` from it (the build
/// tree), then `cw-shim` on PATH. Returns an empty string when none exists.
std::string default_shim_path();

/// Returns the start time of process `pid` in clock ticks since boot (field
/// 22 of /proc/PID/stat), or 0 when it does not exist or is a zombie.
uint64_t process_start_ticks(int64_t pid);

} // namespace cw::runtime
