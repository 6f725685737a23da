#pragma once

#include <cstdint>
#include <memory>

#include "caf/expected.hpp"

#include "messages/task.hpp"

namespace cw::persistence {
class journal;
} // namespace cw::persistence

namespace cw::actors {

class task_table;

/// The task state rebuilt from a journal.
struct task_recovery {
  std::shared_ptr<task_table> tasks;
  /// Seq of the snapshot the fold started from, 0 for none.
  uint64_t snapshot_seq = 0;
  /// Events folded after the snapshot.
  uint64_t replayed = 0;
  /// Seq of the last event folded.
  uint64_t last_seq = 0;
  /// The scheduler's life-cycle phase as last recorded (idle when never).
  scheduler_phase phase = scheduler_phase::idle;
};

/// Folds the task events of `j` with seq <= `up_to` through the same
/// `task_table::apply` the live scheduler uses: from the newest snapshot at
/// or below `up_to` that loads (older ones are tried when a newer one is
/// damaged), else from the start. Errors: `journal_io`, `journal_corrupt`.
caf::expected<task_recovery> recover_tasks(const persistence::journal& j,
                                           uint64_t up_to = UINT64_MAX,
                                           bool use_snapshots = true);

} // namespace cw::actors
