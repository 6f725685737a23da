#include "actors/workspace/ledger.hpp"

#include <algorithm>

#include "messages/errc.hpp"

namespace cw::actors {

change_ledger::change_ledger(std::string workspace)
  : workspace_(std::move(workspace)) {
  // nop
}

caf::expected<void> change_ledger::begin(task_id task) {
  if (open_.count(task) > 0)
    return make_error(errc::illegal_transition,
                      "task " + std::to_string(task)
                        + " is already running in workspace '" + workspace_
                        + "'");
  open_[task].order = next_order_++;
  return caf::unit;
}

std::vector<workspace_conflict>
change_ledger::record(const std::vector<file_change>& changes) {
  std::vector<workspace_conflict> result;
  if (open_.empty())
    return result;
  for (auto& change : changes) {
    auto& owners = changed_by_[change.path];
    for (auto& [task, win] : open_) {
      win.files[change.path] = change.kind;
      owners.insert(task);
    }
    if (owners.size() < 2)
      continue;
    std::vector<task_id> by_order{owners.begin(), owners.end()};
    std::sort(by_order.begin(), by_order.end(), [&](task_id a, task_id b) {
      return open_[a].order < open_[b].order;
    });
    for (size_t i = 0; i < by_order.size(); ++i)
      for (size_t j = i + 1; j < by_order.size(); ++j) {
        auto a = by_order[i];
        auto b = by_order[j];
        if (!reported_.emplace(change.path, a, b).second)
          continue;
        workspace_conflict c{workspace_, change.path, a, b};
        open_[a].conflicts.push_back(c);
        open_[b].conflicts.push_back(c);
        result.push_back(std::move(c));
      }
  }
  return result;
}

caf::expected<task_changes> change_ledger::end(task_id task) {
  auto i = open_.find(task);
  if (i == open_.end())
    return make_error(errc::illegal_transition,
                      "task " + std::to_string(task)
                        + " is not running in workspace '" + workspace_ + "'");
  task_changes result;
  result.task = task;
  for (auto& [path, kind] : i->second.files) {
    result.files.push_back({path, kind});
    auto j = changed_by_.find(path);
    j->second.erase(task);
    if (j->second.empty())
      changed_by_.erase(j);
  }
  result.conflicts = std::move(i->second.conflicts);
  for (auto& c : result.conflicts)
    reported_.erase({c.path, c.first, c.second});
  open_.erase(i);
  return result;
}

bool change_ledger::is_open(task_id task) const {
  return open_.count(task) > 0;
}

std::vector<task_id> change_ledger::open_tasks() const {
  std::vector<std::pair<uint64_t, task_id>> xs;
  for (auto& [task, win] : open_)
    xs.emplace_back(win.order, task);
  std::sort(xs.begin(), xs.end());
  std::vector<task_id> result;
  for (auto& x : xs)
    result.push_back(x.second);
  return result;
}

} // namespace cw::actors
