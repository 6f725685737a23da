#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/task.hpp"

namespace cw::actors {

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
};

/// The `command` provider: the task's own argv; the exit code decides.
class command_provider final : public process_provider {
public:
  caf::expected<std::vector<std::string>>
  argv(const task_spec& spec) const override;
};

} // namespace cw::actors
