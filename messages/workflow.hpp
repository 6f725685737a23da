#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/task.hpp"

namespace cw {

/// Identifies a workflow on its node; assigned by the scheduler, from 1.
using workflow_id = uint64_t;

/// What happens to the rest of a workflow when one of its tasks fails for
/// good or is cancelled.
enum class failure_policy : uint8_t {
  /// Cancel every task of the workflow that has not ended.
  fail_fast,
  /// Cancel only the tasks that depend on the failed one; run the rest.
  continue_,
};

/// Returns `"fail_fast"` or `"continue"`.
std::string to_string(failure_policy x);

/// Parses a policy name; returns false if `str` names none.
bool from_string(const std::string& str, failure_policy& x);

/// The states of a workflow.
enum class workflow_status : uint8_t {
  /// Some task has not ended.
  running,
  /// Every task completed.
  completed,
  /// Every task ended and at least one failed.
  failed,
  /// Every task ended, none failed, at least one was cancelled.
  cancelled,
};

/// Returns the lower-case name of `x`.
std::string to_string(workflow_status x);

/// Parses a workflow status name; returns false if `str` names none.
bool from_string(const std::string& str, workflow_status& x);

/// One task of a workflow as submitted: a name unique in the workflow, what
/// to run, and the names of the tasks it waits for.
struct workflow_task_spec {
  std::string key;
  task_spec spec;
  std::vector<std::string> depends_on;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workflow_task_spec& x) {
  return f(caf::meta::type_name("cw.workflow_task_spec"), x.key, x.spec,
           x.depends_on);
}

/// A DAG of tasks submitted as one.
struct workflow_spec {
  std::string name;
  failure_policy policy = failure_policy::fail_fast;
  std::vector<workflow_task_spec> tasks;
  /// Most its tasks may cost together in USD; 0: the node's
  /// `per_workflow_usd`.
  double budget_usd = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workflow_spec& x) {
  return f(caf::meta::type_name("cw.workflow_spec"), x.name, x.policy, x.tasks,
           x.budget_usd);
}

/// One task of a workflow as clients see it.
struct workflow_task_view {
  std::string key;
  task_id id = 0;
  task_status status = task_status::blocked;
  std::vector<std::string> depends_on;
  std::string reason;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workflow_task_view& x) {
  return f(caf::meta::type_name("cw.workflow_task_view"), x.key, x.id,
           x.status, x.depends_on, x.reason, x.started_ms, x.finished_ms);
}

/// A workflow as clients see it: its tasks, progress and critical path.
struct workflow_info {
  workflow_id id = 0;
  std::string name;
  failure_policy policy = failure_policy::fail_fast;
  workflow_status status = workflow_status::running;
  /// Why it failed or was cancelled, empty otherwise.
  std::string reason;
  /// In submission (topological) order.
  std::vector<workflow_task_view> tasks;
  /// Ended tasks in percent of all tasks.
  double progress = 0;
  /// Keys of the longest chain of dependencies by run time so far: the tasks
  /// that decide when the workflow can end.
  std::vector<std::string> critical_path;
  int64_t critical_path_ms = 0;
  int64_t submitted_ms = 0;
  int64_t finished_ms = 0;
  /// What its tasks spent, and its own budget (0: the node's).
  cost_figures cost = {};
  double budget_usd = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workflow_info& x) {
  return f(caf::meta::type_name("cw.workflow_info"), x.id, x.name, x.policy,
           x.status, x.reason, x.tasks, x.progress, x.critical_path,
           x.critical_path_ms, x.submitted_ms, x.finished_ms, x.cost,
           x.budget_usd);
}

/// Limits that validation enforces on a workflow spec.
struct workflow_limits {
  static constexpr size_t max_tasks = 10'000;
  static constexpr size_t max_key_bytes = 128;
};

} // namespace cw
