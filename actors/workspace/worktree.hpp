#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// What a finished child process left.
struct process_output {
  /// The exit code; -1 when a signal ended it.
  int exit_code = 0;
  /// Everything it wrote to stdout.
  std::string out;
  /// Everything it wrote to stderr.
  std::string err;
};

/// The longest a git command may run unless the caller says otherwise.
constexpr std::chrono::milliseconds git_timeout{30'000};

/// Runs `git -C dir args...` as a child process (posix_spawn, no shell,
/// stdin from /dev/null, `GIT_TERMINAL_PROMPT=0`), captures its output and
/// waits at most `timeout`, then kills it. A non-zero exit is not an error
/// here: the caller reads `exit_code`. Errors: `agent_spawn_failed` when git
/// cannot be started, `invalid_argument` naming `dir` when it timed out.
/// Safe to call from any thread.
caf::expected<process_output>
run_git(const std::filesystem::path& dir, const std::vector<std::string>& args,
        std::chrono::milliseconds timeout = git_timeout);

/// Returns the top-level directory of the git working tree containing `dir`.
/// Errors: `invalid_argument` naming `dir` when it does not exist or is not
/// inside a git repository.
caf::expected<std::filesystem::path>
git_toplevel(const std::filesystem::path& dir);

/// Returns the branch a task's worktree gets: `cw/<task>`.
std::string worktree_branch(task_id task);

/// A worktree made for a task.
struct worktree_info {
  /// The task the worktree belongs to; 0 for a worktree not on a `cw/`
  /// branch.
  task_id task = 0;
  /// The branch checked out there, e.g. `cw/12` (empty when detached).
  std::string branch;
  /// The worktree's directory.
  std::filesystem::path path;
  /// The commit the branch started from (full hash); set by
  /// `add_worktree`, empty in listings.
  std::string base_commit;
  /// The commit checked out (full hash).
  std::string head;
};

/// Creates a worktree for `task` at `path` on a new branch `cw/<task>` that
/// starts at `base` (a branch, tag or commit): `git worktree add -b cw/<task>
/// <path> <base>`. Checks everything first, so a failure changes nothing.
/// Errors (`invalid_argument`, naming the path): `repo` is not a git
/// repository; `path` exists already; `base` names no commit; the branch
/// exists already; git fails (its message included).
caf::expected<worktree_info> add_worktree(const std::filesystem::path& repo,
                                          const std::filesystem::path& path,
                                          task_id task,
                                          const std::string& base);

/// Returns the files changed in the worktree at `path` since `base_commit`,
/// relative to the worktree and sorted: committed on its branch, staged,
/// modified or deleted in the working tree, and untracked (unless ignored by
/// git). Errors: `invalid_argument` naming `path` when it is no git working
/// tree or `base_commit` names no commit.
caf::expected<std::vector<std::string>>
changed_files(const std::filesystem::path& path,
              const std::string& base_commit);

/// Returns the worktrees of `repo` on `cw/` branches, in git's order.
/// Errors: `invalid_argument` naming `repo` when it is no git repository.
caf::expected<std::vector<worktree_info>>
list_worktrees(const std::filesystem::path& repo);

/// Removes the worktree at `path` (with its uncommitted changes) from
/// `repo`; its branch stays. Errors: `invalid_argument` naming `path` when
/// it is not a worktree of `repo`.
caf::expected<void> remove_worktree(const std::filesystem::path& repo,
                                    const std::filesystem::path& path);

/// Deletes `branch` of `repo` if it is merged into the repository's HEAD
/// (`git branch -d`), or whatever it holds when `force` (`-D`). Errors:
/// `invalid_argument` naming the branch, with git's reason (e.g. not fully
/// merged).
caf::expected<void> delete_branch(const std::filesystem::path& repo,
                                  const std::string& branch, bool force);

/// Forgets worktrees whose directories are gone (`git worktree prune`).
/// Errors: `invalid_argument` naming `repo` when it is no git repository.
caf::expected<void> prune_worktrees(const std::filesystem::path& repo);

} // namespace cw::actors
