#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "caf/expected.hpp"

#include "messages/workspace.hpp"

namespace cw::persistence {
class journal;
} // namespace cw::persistence

namespace cw::actors {

/// The workspaces a node knows: a fold over `workspace.*` events. A pure
/// class owned by the workspace manager; the views of `workspace_info`
/// (`running`, `watched`) are left to the manager.
class workspace_registry {
public:
  /// Longest workspace name, in bytes.
  static constexpr size_t max_name_bytes = 64;

  /// Applies one event: `added` registers or replaces the entry of its name,
  /// `worktree_created` and `worktree_removed` keep the worktree list,
  /// `conflict` counts.
  void apply(const workspace_event& ev);

  /// Returns the workspace named `name`, or null.
  const workspace_info* find(const std::string& name) const;

  /// Returns the workspace whose root is `dir` or contains it (the deepest
  /// such root when several do), or null. `dir` must be canonical.
  const workspace_info* containing(const std::filesystem::path& dir) const;

  /// Returns the worktree of `task` and its workspace, or nulls.
  std::pair<const workspace_info*, const worktree_entry*>
  worktree_of(task_id task) const;

  /// Returns `base` if no workspace has that name, else the first free
  /// `base-2`, `base-3`, ….
  std::string free_name(const std::string& base) const;

  /// Returns every workspace, by name.
  const std::map<std::string, workspace_info>& all() const noexcept {
    return by_name_;
  }

  /// Returns the registry as text for a snapshot.
  std::string save() const;

  /// Restores a registry from `save`'s text. Errors: `journal_corrupt`.
  static caf::expected<workspace_registry> load(const std::string& text);

private:
  std::map<std::string, workspace_info> by_name_;
};

/// Returns whether `name` is a valid workspace name: 1 to 64 bytes of
/// letters, digits, `-`, `_` and `.`, not starting with `.`.
bool valid_workspace_name(const std::string& name);

/// What `recover_workspaces` found.
struct workspace_recovery {
  workspace_registry registry;
  /// The snapshot it started from (0: none) and the events replayed after.
  uint64_t snapshot_seq = 0;
  uint64_t replayed = 0;
};

/// The snapshot kind of the registry.
constexpr const char* workspace_snapshot_kind = "workspaces";

/// Rebuilds the registry: the newest loadable `workspaces` snapshot, then
/// every `workspace.*` event after it (SQLite skips the other rows).
/// Errors: `journal_io`, `journal_corrupt`.
caf::expected<workspace_recovery>
recover_workspaces(const persistence::journal& j);

} // namespace cw::actors
