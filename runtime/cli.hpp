#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace cw::runtime {

/// Exit statuses of the `cw` command.
enum class cli_status : int {
  /// The command (and, with --wait, the task) succeeded.
  success = 0,
  /// The task ended unsuccessfully, or the node refused the request.
  failure = 1,
  /// Bad command line.
  usage = 2,
  /// The node could not be reached.
  unreachable = 3,
};

/// Options every `cw` command takes.
struct cli_context {
  /// Base URL of the node, e.g. `http://127.0.0.1:7420`.
  std::string node_url;
  /// Print JSON instead of human-readable text.
  bool json = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

/// `cw run`: submits a task and optionally waits for its end.
struct run_options {
  std::vector<std::string> argv;
  std::string workspace;
  int32_t priority = 0;
  bool wait = false;
  /// Attempts in all (0: the node's default).
  uint32_t attempts = 0;
  /// Seconds an attempt may run (0: no limit).
  double timeout_s = 0;
  /// Seconds to wait before the task may start.
  double delay_s = 0;
  /// Tasks that must complete first.
  std::vector<uint64_t> after;
};

/// Submits `opts` and prints the new task's id (or, with `wait`, its
/// outcome); the status follows the task's success with `wait`.
cli_status cli_run(const cli_context& ctx, const run_options& opts);

/// `cw status ID`: prints one task.
cli_status cli_status_of(const cli_context& ctx, uint64_t id);

/// `cw tasks [--status S] [--limit N] [--dead]`: lists tasks, newest first;
/// `dead` lists only the dead-letter queue.
cli_status cli_tasks(const cli_context& ctx, const std::string& status,
                     uint32_t limit, bool dead = false);

/// `cw cancel ID`: cancels a queued or running task.
cli_status cli_cancel(const cli_context& ctx, uint64_t id);

/// `cw retry ID`: gives a failed or cancelled task fresh attempts.
cli_status cli_retry(const cli_context& ctx, uint64_t id);

/// `cw pause|resume|drain` (POST) and `cw scheduler` (GET): prints the
/// scheduler's phase, task counts, throughput and latencies.
cli_status cli_scheduler(const cli_context& ctx, const std::string& action);

/// `cw logs ID [-f]`: prints a task's output; `follow` keeps printing until
/// the task ends.
cli_status cli_logs(const cli_context& ctx, uint64_t id, bool follow);

} // namespace cw::runtime
