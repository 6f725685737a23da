#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "caf/fwd.hpp"
#include "caf/timespan.hpp"

#include "actors/cost/ledger.hpp"
#include "actors/session/session_table.hpp"
#include "messages/agent.hpp"
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
  /// Told to release every lock of a task (owner `task:ID`) when it ends;
  /// may be null.
  lock_actor locks;
  /// State folded from the journal at start-up; null for an empty journal.
  std::shared_ptr<task_table> recovered;
  /// Seq of the last event in the journal at start-up.
  uint64_t last_seq = 0;
  /// Life-cycle phase recorded before the restart: `paused` persists; any
  /// other phase starts over at `idle`.
  scheduler_phase recovered_phase = scheduler_phase::idle;
  /// Take a snapshot after this many events (0: never by count).
  uint64_t snapshot_every_events = 100'000;
  /// Take a snapshot this often when events arrived since the last one
  /// (0: never by time).
  caf::timespan snapshot_interval = std::chrono::minutes(5);
  /// At most this many tasks run at once on this node (0: one per agent).
  uint32_t max_running = 0;
  /// At most this many tasks run at once in one workspace (0: no limit).
  uint32_t max_running_per_workspace = 0;
  /// Placement settings per pool, and caps of running tasks per provider.
  std::map<std::string, pool_settings> pools;
  std::map<std::string, uint32_t> provider_limits;
  /// Longest prompt accepted, bytes.
  size_t max_prompt_bytes = task_limits::max_prompt_bytes;
  /// Providers the node would run but cannot, and why (e.g. `claude`: its
  /// CLI was not found): a task of one is refused with the reason.
  std::map<std::string, std::string> absent_providers = {};
  /// How long tasks found running at start-up wait for their agent to
  /// register and take their process over; then their attempt fails (or,
  /// when its process never started, the task goes back to the queue).
  caf::timespan adopt_timeout = std::chrono::seconds(30);
  /// Each provider's circuit breaker (`failure_threshold` 0: none).
  breaker_config breaker;
  /// Spending limits of prompt-driven tasks (0: none). A task that would
  /// start over one is parked with the reason; a task whose attempts spent
  /// its own budget gets no further attempt.
  budgets spending;
  /// A task whose provider hit a usage or rate limit is parked until the
  /// reset the run named, else for this long.
  int64_t limit_backoff_ms = 5 * 60'000;
  /// Parked tasks continue by themselves at the reset; off: they wait for
  /// `retry`.
  bool auto_resume = true;
  /// Sessions' idle timeout, binding timeout and open sessions per pool
  /// (`default_pool_limit`; a task naming no pool counts under "").
  session_config sessions;
  /// What a parked task's session is told when it continues.
  std::string continuation_prompt
    = "You were interrupted by a usage limit. Continue the task where you "
      "left off.";
  /// Retry policy of tasks that bring none (`max_attempts` 0).
  retry_policy default_retry = retry_policy{1, 1000, 2.0, 300'000, 0.1};
  /// Returns wall-clock milliseconds since the epoch; tests substitute a
  /// clock driven by the test coordinator. Null means the system clock.
  std::function<int64_t()> wall_clock = nullptr;
};

/// Spawns the scheduler. Every state change is journaled before any effect
/// of it (a reply, a process start) is visible outside the scheduler. Tasks
/// that were `running` in `cfg.recovered` go back to the queue. Snapshots of
/// the task state go to the journal by count and by time.
scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_config cfg);

} // namespace cw::actors
