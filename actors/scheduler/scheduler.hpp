#pragma once

#include <memory>
#include <string>

#include "caf/fwd.hpp"

#include "messages/interfaces.hpp"

namespace cw::actors {

class task_table;

/// What a scheduler starts with.
struct scheduler_config {
  /// Name of the node, stamped on every event.
  std::string node_name;
  /// Directory of the per-task log files.
  std::string log_dir;
  /// Workspace of tasks that name none.
  std::string default_workspace;
  /// The journal every decision goes to.
  journal_actor journal;
  /// State folded from the journal at start-up; null for an empty journal.
  std::shared_ptr<task_table> recovered;
};

/// Spawns the scheduler. Every state change is journaled before any effect
/// of it (a reply, a process start) is visible outside the scheduler. Tasks
/// that were `running` in `cfg.recovered` go back to the queue.
scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_config cfg);

} // namespace cw::actors
