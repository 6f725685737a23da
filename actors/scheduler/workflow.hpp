#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "caf/expected.hpp"

#include "messages/workflow.hpp"

namespace cw::actors {

class task_table;
struct workflow_record;

/// Checks a workflow's graph and returns the order to submit its tasks in:
/// indexes into `spec.tasks`, every task after the tasks it depends on.
/// Errors (`invalid_argument`, naming the field): no tasks, an empty,
/// oversized or duplicate id, a dependency on an unknown id, a cycle (with
/// its path, e.g. `"tasks: cycle a -> b -> a"`).
caf::expected<std::vector<size_t>> check_workflow(const workflow_spec& spec);

/// Returns the state a workflow ends in once all its tasks have ended, or
/// nothing while some task has not: `failed` if any task failed, else
/// `cancelled` if any was cancelled, else `completed`. The reason names the
/// first failed or cancelled task.
std::optional<std::pair<workflow_status, std::string>>
settled_status(const task_table& tasks, const workflow_record& rec);

/// Returns what clients see of a workflow at time `now_ms`: its tasks,
/// progress and critical path (the chain of dependencies with the longest
/// run time, counting running tasks up to now and waiting ones as zero).
workflow_info view_workflow(const task_table& tasks, const workflow_record& rec,
                            int64_t now_ms);

} // namespace cw::actors
