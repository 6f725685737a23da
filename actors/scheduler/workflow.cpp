#include "actors/scheduler/workflow.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "actors/scheduler/task_table.hpp"
#include "messages/errc.hpp"

namespace cw::actors {

namespace {

caf::error invalid(const std::string& field, const std::string& what) {
  return make_error(errc::invalid_argument, field + ": " + what);
}

std::string task_field(size_t index, const char* name) {
  return "tasks[" + std::to_string(index) + "]." + name;
}

} // namespace

caf::expected<std::vector<size_t>> check_workflow(const workflow_spec& spec) {
  if (spec.tasks.empty())
    return invalid("tasks", "a workflow needs at least one task");
  if (spec.tasks.size() > workflow_limits::max_tasks)
    return invalid("tasks", "at most " + std::to_string(workflow_limits::max_tasks)
                              + " tasks per workflow");
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < spec.tasks.size(); ++i) {
    auto& key = spec.tasks[i].key;
    if (key.empty())
      return invalid(task_field(i, "id"), "must not be empty");
    if (key.size() > workflow_limits::max_key_bytes)
      return invalid(task_field(i, "id"),
                     "longer than " + std::to_string(workflow_limits::max_key_bytes)
                       + " bytes");
    if (!index.emplace(key, i).second)
      return invalid(task_field(i, "id"), "duplicate id '" + key + "'");
  }
  // Dependencies as indexes; unknown names are refused.
  std::vector<std::vector<size_t>> deps(spec.tasks.size());
  for (size_t i = 0; i < spec.tasks.size(); ++i) {
    for (auto& name : spec.tasks[i].depends_on) {
      auto j = index.find(name);
      if (j == index.end())
        return invalid(task_field(i, "depends_on"),
                       "unknown task '" + name + "'");
      deps[i].push_back(j->second);
    }
  }
  // Depth-first search from every task in order; a back edge closes a cycle
  // whose path is on the stack. Iterative: workflows may be deep chains.
  enum class mark : uint8_t { fresh, open, done };
  std::vector<mark> marks(spec.tasks.size(), mark::fresh);
  std::vector<size_t> order;
  order.reserve(spec.tasks.size());
  for (size_t root = 0; root < spec.tasks.size(); ++root) {
    if (marks[root] != mark::fresh)
      continue;
    // (task, next dependency to visit)
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    marks[root] = mark::open;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next == deps[node].size()) {
        marks[node] = mark::done;
        order.push_back(node);
        stack.pop_back();
        continue;
      }
      auto dep = deps[node][next++];
      if (marks[dep] == mark::open) {
        // The stack runs from `root` down to `node`, each entry depending on
        // the next; the cycle starts where `dep` is on it.
        std::string path;
        auto start = std::find_if(stack.begin(), stack.end(),
                                  [&](auto& e) { return e.first == dep; });
        for (auto i = start; i != stack.end(); ++i)
          path += spec.tasks[i->first].key + " -> ";
        path += spec.tasks[dep].key + " (each depends on the next)";
        return invalid("tasks", "cycle " + path);
      }
      if (marks[dep] == mark::fresh) {
        marks[dep] = mark::open;
        stack.emplace_back(dep, 0);
      }
    }
  }
  return order;
}

std::optional<std::pair<workflow_status, std::string>>
settled_status(const task_table& tasks, const workflow_record& rec) {
  const task_info* first_failed = nullptr;
  const task_info* first_cancelled = nullptr;
  for (auto id : rec.tasks) {
    auto info = tasks.find(id);
    if (info == nullptr || !is_terminal(info->status))
      return std::nullopt;
    if (info->status == task_status::failed && first_failed == nullptr)
      first_failed = info;
    if (info->status == task_status::cancelled && first_cancelled == nullptr)
      first_cancelled = info;
  }
  auto why = [](const task_info* info) {
    return "task " + info->spec.key + " (" + std::to_string(info->id) + ") "
           + to_string(info->status)
           + (info->reason.empty() ? "" : ": " + info->reason);
  };
  if (first_failed != nullptr)
    return std::pair{workflow_status::failed, why(first_failed)};
  if (first_cancelled != nullptr)
    return std::pair{workflow_status::cancelled, why(first_cancelled)};
  return std::pair{workflow_status::completed, std::string{}};
}

workflow_info view_workflow(const task_table& tasks, const workflow_record& rec,
                            int64_t now_ms) {
  workflow_info result;
  result.id = rec.id;
  result.name = rec.name;
  result.policy = rec.policy;
  result.status = rec.status;
  result.reason = rec.reason;
  result.submitted_ms = rec.submitted_ms;
  result.finished_ms = rec.finished_ms;
  result.cost = figures_of(tasks.costs().for_workflow(rec.id));
  result.budget_usd = rec.budget_usd;
  std::map<task_id, size_t> position;
  size_t ended = 0;
  for (auto id : rec.tasks) {
    auto info = tasks.find(id);
    if (info == nullptr)
      continue;
    position.emplace(id, result.tasks.size());
    workflow_task_view view;
    view.key = info->spec.key;
    view.id = id;
    view.status = info->status;
    view.reason = info->reason;
    view.started_ms = info->started_ms;
    view.finished_ms = info->finished_ms;
    for (auto dep : info->spec.depends_on)
      if (auto d = tasks.find(dep))
        view.depends_on.push_back(d->spec.key);
    if (is_terminal(info->status))
      ++ended;
    result.tasks.push_back(std::move(view));
  }
  if (!result.tasks.empty())
    result.progress = 100.0 * static_cast<double>(ended)
                      / static_cast<double>(result.tasks.size());
  // Longest path by run time over the tasks in topological order.
  std::vector<int64_t> length(result.tasks.size(), 0);
  std::vector<size_t> via(result.tasks.size(), SIZE_MAX);
  size_t last = 0;
  for (size_t i = 0; i < result.tasks.size(); ++i) {
    auto& t = result.tasks[i];
    int64_t own = 0;
    if (t.started_ms != 0)
      own = (t.finished_ms >= t.started_ms && t.finished_ms != 0 ? t.finished_ms
                                                                  : now_ms)
            - t.started_ms;
    int64_t best = 0;
    for (auto dep : tasks.find(t.id)->spec.depends_on) {
      auto p = position.find(dep);
      if (p != position.end() && (via[i] == SIZE_MAX || length[p->second] > best)) {
        best = length[p->second];
        via[i] = p->second;
      }
    }
    length[i] = best + std::max<int64_t>(own, 0);
    if (length[i] > length[last] || (length[i] == length[last] && i > last))
      last = i;
  }
  if (!result.tasks.empty()) {
    result.critical_path_ms = length[last];
    for (auto i = last; i != SIZE_MAX; i = via[i])
      result.critical_path.push_back(result.tasks[i].key);
    std::reverse(result.critical_path.begin(), result.critical_path.end());
  }
  return result;
}

} // namespace cw::actors
