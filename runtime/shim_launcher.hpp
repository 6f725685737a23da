#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "actors/agent/process_launcher.hpp"

namespace cw::runtime {

/// Starts every agent process under its own `cw-shim` (see
/// apps/cw-shim/main.cpp), spawned with Boost.Process: no shell, a clean
/// environment, stdin from /dev/null. The shim leaves the node's session,
/// runs the program in a process group of its own with stdout and stderr
/// appended to the log file, and records its state in the status file; so
/// the program outlives the node and a restarted node adopts it.
///
/// The launcher follows each shim with a pidfd on its own I/O thread, never
/// on a CAF scheduler thread, and takes the outcome from the status file
/// when the shim ends; started shims are reaped there too.
class shim_launcher : public actors::process_launcher {
public:
  /// `shim` is the path of the cw-shim executable.
  explicit shim_launcher(std::string shim);

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
