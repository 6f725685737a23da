#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "caf/expected.hpp"

#include "messages/events.hpp"
#include "messages/interfaces.hpp"
#include "messages/task.hpp"

namespace cw::actors {

/// The scheduler's view of all tasks: a fold over task events plus the queue
/// of runnable tasks ordered by priority (higher first), then submission.
/// The same class serves the live scheduler, start-up recovery and replay.
class task_table {
public:
  /// Applies one fact. Events about unknown tasks (other than submissions)
  /// are ignored and reported by returning false: facts are never rejected.
  bool apply(const task_event& ev, int64_t time_ms);

  /// Returns the task with id `id`, or null.
  const task_info* find(task_id id) const;

  /// Returns the queued task that should run next at time `now_ms`, if any:
  /// highest priority, then earliest `run_at`, then first submitted, among
  /// those whose `not_before_ms` has come.
  std::optional<task_id> next_queued(int64_t now_ms = INT64_MAX);

  /// Like `next_queued`, but skips tasks for which `eligible` is false (for
  /// example because their workspace is at its concurrency limit).
  std::optional<task_id>
  next_queued(int64_t now_ms,
              const std::function<bool(const task_info&)>& eligible);

  /// Returns the earliest `not_before_ms` of a queued task that is not yet
  /// due at `now_ms`, if any: when the scheduler should look again.
  std::optional<int64_t> next_due(int64_t now_ms) const;

  /// Returns the id the next submitted task gets.
  task_id next_id() const noexcept {
    return max_id_ + 1;
  }

  /// Returns matching tasks, newest first.
  std::vector<task_info> list(const task_filter& filter) const;

  /// Returns the number of tasks per status name.
  std::map<std::string, uint64_t> counts() const;

  /// Returns the ids of all tasks in state `running`.
  std::vector<task_id> running() const;

  /// Returns the state as a snapshot blob (CAF binary format, versioned).
  std::string save() const;

  /// Restores a state saved by `save`. Errors: `journal_corrupt` when the
  /// blob is truncated or of an unknown format.
  static caf::expected<task_table> load(const std::string& blob);

  /// Returns whether both tables hold the same tasks and queue.
  bool operator==(const task_table& other) const;

  /// Returns the tasks that wait for `id` (blocked on it).
  std::vector<task_id> blocked_on(task_id id) const;

  /// Returns the number of tasks known.
  size_t size() const noexcept {
    return tasks_.size();
  }

  /// Returns the number of tasks waiting for an agent or for their time.
  size_t queued() const noexcept {
    return ready_.size() + delayed_.size();
  }

private:
  // Ready tasks by (-priority, run_at, id); delayed ones by (not_before, id)
  // until they are due.
  using ready_key = std::tuple<int32_t, int64_t, task_id>;
  using delayed_key = std::pair<int64_t, task_id>;

  void enqueue(const task_info& info);
  void dequeue(const task_info& info);
  static ready_key ready_key_of(const task_info& info);

  /// Makes `info` blocked if a dependency has not completed yet.
  void block_or_enqueue(task_info& info);
  /// Moves dependents of a completed task whose dependencies all completed
  /// to the queue.
  void unblock_dependents(task_id id);

  std::map<task_id, task_info> tasks_;
  // Blocked tasks by the dependency they wait for.
  std::multimap<task_id, task_id> waiting_on_;
  std::set<ready_key> ready_;
  std::set<delayed_key> delayed_;
  task_id max_id_ = 0;
};

} // namespace cw::actors
