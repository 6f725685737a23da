#pragma once

// The vocabulary of workspaces: the registry's entries, the worktrees made
// for tasks, and the journal events the registry folds.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/task.hpp"

namespace cw {

/// How tasks of a workspace share its files.
enum class workspace_isolation : uint8_t {
  /// Agents work in the directory itself.
  shared,
  /// Each task gets its own git worktree on branch `cw/<task>`.
  worktree,
};

/// Returns `"shared"` or `"worktree"`.
std::string to_string(workspace_isolation x);

/// Parses an isolation name; returns false if `str` names none.
bool from_string(const std::string& str, workspace_isolation& x);

/// What happens when two running tasks of a shared workspace change the
/// same file.
enum class conflict_policy : uint8_t {
  /// A `workspace.conflict` event and a warning; both tasks go on.
  warn,
  /// As `warn`, and a task that changed the file without holding a lock
  /// covering it fails at its end (reason `workspace conflict: …`).
  lock,
};

/// Returns `"warn"` or `"lock"`.
std::string to_string(conflict_policy x);

/// Parses a policy name; returns false if `str` names none.
bool from_string(const std::string& str, conflict_policy& x);

/// A worktree the node made for a task.
struct worktree_entry {
  task_id task = 0;
  /// `cw/<task>`.
  std::string branch;
  /// The worktree's directory (under `<data-dir>/worktrees/`).
  std::string path;
  /// The commit the branch started from.
  std::string base_commit;
  int64_t created_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worktree_entry& x) {
  return f(caf::meta::type_name("cw.worktree_entry"), x.task, x.branch,
           x.path, x.base_commit, x.created_ms);
}

/// A directory registered with the node.
struct workspace_info {
  /// Unique on the node: letters, digits, `-`, `_`, `.`; by default the
  /// directory's base name.
  std::string name;
  /// The canonical absolute directory.
  std::string root;
  workspace_isolation isolation = workspace_isolation::shared;
  /// `worktree` only: the branch, tag or commit new worktrees start from;
  /// empty: the repository's `HEAD` at creation time.
  std::string base;
  conflict_policy policy = conflict_policy::warn;
  /// Extra ignore patterns (gitignore lines) for its watcher, on top of the
  /// defaults and the workspace's `.gitignore`.
  std::vector<std::string> ignore;
  /// Registered by a task's `--workspace`, not by `cw workspace add`.
  bool implicit = false;
  int64_t added_ms = 0;
  // -- views (not journaled) -------------------------------------------------
  /// The worktrees made for tasks and not pruned, oldest first.
  std::vector<worktree_entry> worktrees = {};
  /// Tasks running in it now.
  std::vector<task_id> running = {};
  /// Whether a watcher follows it now, and how many conflicts it saw.
  bool watched = false;
  uint64_t conflicts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workspace_info& x) {
  return f(caf::meta::type_name("cw.workspace_info"), x.name, x.root,
           x.isolation, x.base, x.policy, x.ignore, x.implicit, x.added_ms,
           x.worktrees, x.running, x.watched, x.conflicts);
}

/// What `prune` removes.
struct prune_spec {
  /// Only this workspace; empty: every one.
  std::string workspace;
  /// Deletes the `cw/<task>` branches too (they hold the tasks' commits).
  bool delete_branches = false;
  /// Removes worktrees with changes not committed, and deletes branches
  /// with commits not merged into the repository's HEAD; without it those
  /// stay (`prune_outcome::kept` says why).
  bool force = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prune_spec& x) {
  return f(caf::meta::type_name("cw.prune_spec"), x.workspace,
           x.delete_branches, x.force);
}

/// What `prune` did with one worktree of an ended task.
struct prune_outcome {
  std::string workspace;
  worktree_entry worktree;
  /// Whether the worktree's directory was removed.
  bool removed = false;
  /// Whether its branch was deleted.
  bool branch_deleted = false;
  /// Why the worktree, or a branch asked to go, stayed; empty otherwise.
  std::string kept;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prune_outcome& x) {
  return f(caf::meta::type_name("cw.prune_outcome"), x.workspace, x.worktree,
           x.removed, x.branch_deleted, x.kept);
}

/// Where a task runs, as the workspace manager prepared it.
struct workspace_lease {
  /// The workspace's name; empty when the task's directory belongs to none
  /// (nothing is tracked).
  std::string workspace;
  /// The directory the process starts in: the task's own, or the same
  /// place inside its worktree.
  std::string cwd;
  /// `worktree` isolation: the branch; empty otherwise.
  std::string branch;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workspace_lease& x) {
  return f(caf::meta::type_name("cw.workspace_lease"), x.workspace, x.cwd,
           x.branch);
}

// -- journal events (entity `workspace/<name>`) --------------------------------

/// A directory was registered (`workspace.added@1`).
struct workspace_added {
  workspace_info info;
};

/// A worktree was made for a task before it started
/// (`workspace.worktree_created@1`).
struct worktree_created {
  std::string workspace;
  worktree_entry worktree;
};

/// A task's worktree was removed by `prune` (`workspace.worktree_removed@1`).
struct worktree_removed {
  std::string workspace;
  task_id task = 0;
  std::string path;
  /// Whether the branch went too.
  bool branch_deleted = false;
};

/// Two running tasks of a shared workspace changed the same file
/// (`workspace.conflict@1`).
struct workspace_conflicted {
  std::string workspace;
  /// Relative to the workspace root.
  std::string path;
  /// The task that began first, and the later one.
  task_id first = 0;
  task_id second = 0;
  conflict_policy policy = conflict_policy::warn;
};

/// Any workspace event.
using workspace_event = std::variant<workspace_added, worktree_created,
                                     worktree_removed, workspace_conflicted>;

} // namespace cw
