#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "caf/expected.hpp"
#include "caf/meta/type_name.hpp"

#include "actors/workspace/watcher.hpp"
#include "messages/task.hpp"

namespace cw::actors {

/// Two tasks open at once in one shared workspace both changed a file.
struct workspace_conflict {
  /// The workspace's name.
  std::string workspace;
  /// The file, relative to the workspace root.
  std::string path;
  /// The task that began first.
  task_id first = 0;
  /// The task that began later.
  task_id second = 0;

  /// Returns whether both conflicts are the same.
  bool operator==(const workspace_conflict&) const = default;
};

/// Serializes or prints a `workspace_conflict`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workspace_conflict& x) {
  return f(caf::meta::type_name("cw.workspace_conflict"), x.workspace, x.path,
           x.first, x.second);
}

/// The summary of one task's window: what changed while it ran.
struct task_changes {
  /// The task.
  task_id task = 0;
  /// The files changed, by path, each with its last change.
  std::vector<file_change> files;
  /// The conflicts the task was part of, in the order they arose.
  std::vector<workspace_conflict> conflicts;
};

/// Serializes or prints a `task_changes`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_changes& x) {
  return f(caf::meta::type_name("cw.task_changes"), x.task, x.files,
           x.conflicts);
}

/// Attributes file changes of one workspace to the tasks running in it and
/// finds conflicts. A task's window opens with `begin` and closes with `end`;
/// every change `record`ed in between counts for it. inotify cannot tell
/// which process wrote, so a change while several tasks are open counts for
/// each of them: a file in the change sets of two open tasks is a conflict
/// (reported once per pair of tasks and file), whether they changed it one
/// after the other or at once. Worktree isolation avoids this ambiguity.
/// A pure class owned by the watcher actor.
class change_ledger {
public:
  /// Creates a ledger for the workspace named `workspace`.
  explicit change_ledger(std::string workspace);

  /// Opens the window of `task`. Errors: `illegal_transition` when it is open
  /// already.
  caf::expected<void> begin(task_id task);

  /// Attributes `changes` to every open task; returns the conflicts they made.
  std::vector<workspace_conflict>
  record(const std::vector<file_change>& changes);

  /// Closes the window of `task` and returns what it changed. Errors:
  /// `illegal_transition` when it is not open.
  caf::expected<task_changes> end(task_id task);

  /// Returns whether the window of `task` is open.
  bool is_open(task_id task) const;

  /// Returns the open tasks, in the order they began.
  std::vector<task_id> open_tasks() const;

  /// Returns the workspace's name.
  const std::string& workspace() const noexcept {
    return workspace_;
  }

private:
  struct window {
    uint64_t order = 0;
    std::map<std::string, change_kind> files;
    std::vector<workspace_conflict> conflicts;
  };

  std::string workspace_;
  uint64_t next_order_ = 0;
  std::map<task_id, window> open_;
  // For each file, the open tasks that changed it.
  std::map<std::string, std::set<task_id>> changed_by_;
  std::set<std::tuple<std::string, task_id, task_id>> reported_;
};

} // namespace cw::actors
