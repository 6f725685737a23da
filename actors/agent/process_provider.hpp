#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// Reads the output of one running attempt as it grows, to stop it early.
class run_watcher {
public:
  virtual ~run_watcher();

  /// Takes the next bytes of the run's output. Returns why the run must
  /// stop (its attempt fails with this reason), or an empty string.
  virtual std::string feed(std::string_view bytes) = 0;
};

/// What makes one process-backed provider differ from another: the program
/// it starts for a task and what it reads from the run's output when the
/// process has ended. The agent actor does everything else (shim, log,
/// status file, adoption, cancel, liveness) the same for all of them.
class process_provider {
public:
  virtual ~process_provider();

  /// Returns the program and arguments for `spec`. Errors: a message the
  /// attempt fails with, e.g. a prompt the program cannot take.
  virtual caf::expected<std::vector<std::string>>
  argv(const task_spec& spec) const = 0;

  /// Refines `outcome` once the process ended, reading its output: the
  /// bytes of `log_path` from `log_offset` on. The default keeps it.
  virtual void conclude(const std::string& log_path, uint64_t log_offset,
                        task_outcome& outcome) const;

  /// Returns a watcher for a run of `spec`, or null when its runs need none
  /// (the default). The agent feeds it the log while the process runs.
  virtual std::unique_ptr<run_watcher> watch(const task_spec& spec) const;
};

/// The `command` provider: the task's own argv; the exit code decides.
class command_provider final : public process_provider {
public:
  caf::expected<std::vector<std::string>>
  argv(const task_spec& spec) const override;
};

} // namespace cw::actors
