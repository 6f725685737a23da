#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

#include "actors/workspace/registry.hpp"
#include "messages/interfaces.hpp"

namespace cw::actors {

/// What the workspace manager starts with.
struct workspace_manager_config {
  /// Name of the node, stamped on every event.
  std::string node_name;
  /// Where every `workspace.*` event (and the registry's snapshot) goes.
  journal_actor journal;
  /// Asked, under the `lock` conflict policy, which locks a task holds.
  lock_actor locks;
  /// The registry as the journal left it.
  workspace_registry registry;
  /// Where task worktrees go: `<worktree_dir>/<workspace>/<task>`.
  std::string worktree_dir;
  /// The conflict policy of workspaces registered implicitly.
  conflict_policy default_policy = conflict_policy::warn;
  /// Ignore patterns every watcher adds to the defaults and to the
  /// workspace's own `.gitignore` and patterns.
  std::vector<std::string> ignore;
  /// Directories the node itself writes (its data dir, the worktree dir):
  /// a watcher whose tree holds one ignores it, so that the node's journal,
  /// logs and status files never count as a task's changes.
  std::vector<std::string> node_dirs = {};
  /// A file is reported once quiet this long.
  int64_t settle_ms = 50;
  /// Largest tree a watcher follows, in directories (0: no limit).
  size_t max_watched_dirs = 20'000;
  /// A watcher with no task open this long is stopped (its inotify watches
  /// freed); the next task opens a new one.
  std::chrono::milliseconds watcher_idle{60'000};
  /// Returns wall-clock milliseconds for events; null: the system clock.
  std::function<int64_t()> wall_clock = nullptr;
};

/// Spawns the workspace manager, detached (git runs on its own thread,
/// never on the scheduler's workers).
///
/// - A task prepared again without `conclude` (its agent died mid-attempt)
///   starts afresh: the old attempt's window closes unreported.
/// - Registry: `workspace(info)` registers a directory; a task whose
///   directory lies in no workspace registers it implicitly (`shared`).
///   Every change is a `workspace.*` event, journaled before the reply; a
///   snapshot of the registry follows each, so that start-up replays only
///   the events after it.
/// - `worktree` isolation: `prepare` creates `<worktree_dir>/<ws>/<task>` on
///   branch `cw/<task>` from the workspace's base (a retry reuses it); the
///   process starts at the same place inside it; `conclude` lists the files
///   changed against the base commit (committed, staged, modified, deleted,
///   untracked). `prune` removes the worktrees of tasks not running.
/// - `shared` isolation: a watcher per workspace, started by its first task
///   and stopped after `watcher_idle` without one; `prepare` opens the task's
///   window, `conclude` closes it and lists what changed meanwhile. Two
///   tasks open at once that change one file make a `workspace.conflict`
///   event; under the `lock` policy a task that held no lock covering the
///   file (owner `task:<id>`, the name as given to `--lock`: the relative or
///   absolute path or a glob matching it) gets a `violation`.
workspace_manager_actor spawn_workspace_manager(caf::actor_system& sys,
                                                workspace_manager_config cfg);

} // namespace cw::actors
