#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf/expected.hpp"

#include "messages/events.hpp"
#include "messages/interfaces.hpp"
#include "messages/task.hpp"

#include "actors/cost/ledger.hpp"
#include "actors/session/session_table.hpp"

namespace cw::actors {

/// A workflow as the fold keeps it; its tasks hold the rest.
struct workflow_record {
  workflow_id id = 0;
  std::string name;
  failure_policy policy = failure_policy::fail_fast;
  /// In topological order.
  std::vector<task_id> tasks;
  workflow_status status = workflow_status::running;
  std::string reason;
  int64_t submitted_ms = 0;
  int64_t finished_ms = 0;
  /// Its own budget in USD (0: the node's `per_workflow_usd`).
  double budget_usd = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workflow_record& x) {
  return f(caf::meta::type_name("cw.workflow_record"), x.id, x.name, x.policy,
           x.tasks, x.status, x.reason, x.submitted_ms, x.finished_ms,
           x.budget_usd);
}

bool operator==(const workflow_record& a, const workflow_record& b);

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
  /// example because their workspace is at its concurrency limit), looking
  /// at no more than `lookahead` tasks.
  std::optional<task_id>
  next_queued(int64_t now_ms,
              const std::function<bool(const task_info&)>& eligible,
              size_t lookahead = SIZE_MAX);

  /// Returns the earliest `not_before_ms` of a queued task that is not yet
  /// due at `now_ms`, if any: when the scheduler should look again.
  std::optional<int64_t> next_due(int64_t now_ms) const;

  /// Returns parked tasks whose time (not 0) has come at `now_ms`.
  std::vector<task_id> due_parked(int64_t now_ms) const;

  /// Returns the usage-limit holds in force at `now_ms`: no pool of their
  /// provider and account starts a task before they lift.
  std::vector<limit_hold> holds(int64_t now_ms) const;

  /// Returns when the hold on `provider` and `account` lifts, if one is in
  /// force at `now_ms`.
  std::optional<int64_t> held_until(const std::string& provider,
                                    const std::string& account,
                                    int64_t now_ms) const;

  /// Returns the holds whose time has come at `now_ms` but that are not
  /// lifted yet (by a `limit.lifted` event).
  std::vector<limit_hold> due_holds(int64_t now_ms) const;

  /// Returns the id the next submitted task gets.
  task_id next_id() const noexcept {
    return max_id_ + 1;
  }

  /// Returns the workflow with id `id`, or null.
  const workflow_record* find_workflow(workflow_id id) const;

  /// Returns the id the next submitted workflow gets.
  workflow_id next_workflow_id() const noexcept {
    return max_workflow_id_ + 1;
  }

  /// Returns workflows, newest first, at most `limit` (0: all).
  std::vector<const workflow_record*> workflows(size_t limit) const;

  /// Returns the number of queued tasks per pool name (empty: any pool).
  const std::map<std::string, uint64_t>& queued_per_pool() const noexcept {
    return queued_per_pool_;
  }

  /// Returns the number of tasks due to run (queued, not delayed) of
  /// `provider` that name `pool` (empty: those that name none).
  uint64_t ready_for(const std::string& provider,
                     const std::string& pool) const;

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

  /// Returns the money and tokens spent, folded from the same events (a
  /// table loaded from a snapshot books each task's cost on the day it
  /// ended).
  const cost_ledger& costs() const noexcept {
    return costs_;
  }

  /// Returns the sessions, folded from the same events.
  const session_table& sessions() const noexcept {
    return sessions_;
  }

  /// Sets the sessions' timeouts and pool limits (settings, not state).
  void configure_sessions(const session_config& cfg,
                          const std::map<std::string, uint32_t>& pool_limits);

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
  /// Drops the waits of a task that leaves `blocked` other than by its
  /// dependencies completing.
  void forget_waits(const task_info& info);
  /// Books what an attempt of `info` cost.
  void book(const task_info& info, const run_report& r, int64_t time_ms);
  /// Takes `r` as the report of the latest attempt of `info`: its cost adds
  /// to the task's and is booked.
  void add_run(task_info& info, const run_report& r, int64_t time_ms);
  /// Returns whether the session of `info` is kept for it: it waits to go on
  /// with its conversation after a usage limit (parked with a time, or
  /// queued again), so no other task may take that session.
  static bool keeps_session(const task_info& info);
  /// Keeps the session of `info` for it, or lets it go, as
  /// `keeps_session` says (after every event of the task: one rule for the
  /// fold and for snapshots).
  void keep_session(const task_info& info);
  /// Takes a task that leaves `parked` off the parked list.
  void unpark(task_info& info);
  /// Frees the session of a task whose attempt ended, adding what the run
  /// reported (`report` null: nothing).
  void release_session(task_info& info, const run_report* report,
                       int64_t time_ms);
  /// Applies a session event; false if it does not fit the state.
  bool apply_session(const session_changed& ev, int64_t time_ms);
  /// Applies a workflow event; false if it does not fit the state.
  bool apply_workflow(const task_event& ev, int64_t time_ms);
  /// Applies a limit hold event; false if it lifts no hold.
  bool apply_limit(const limit_changed& ev);

  std::map<task_id, task_info> tasks_;
  // Blocked tasks by the dependency they wait for, and the number of
  // dependencies each blocked task still waits for.
  std::multimap<task_id, task_id> waiting_on_;
  std::unordered_map<task_id, uint32_t> unmet_;
  std::map<workflow_id, workflow_record> workflows_;
  workflow_id max_workflow_id_ = 0;
  std::map<std::string, uint64_t> queued_per_pool_;
  /// Ready tasks by (provider, pool): the demand an elastic pool grows for.
  std::map<std::pair<std::string, std::string>, uint64_t> ready_per_target_;
  std::set<ready_key> ready_;
  std::set<delayed_key> delayed_;
  /// Parked tasks by (until, id); until 0 waits for a retry.
  std::set<std::pair<int64_t, task_id>> parked_;
  /// Usage-limit holds by (provider, account), lifted ones removed.
  std::map<std::pair<std::string, std::string>, limit_hold> holds_;
  session_table sessions_;
  cost_ledger costs_;
  task_id max_id_ = 0;
};

} // namespace cw::actors
