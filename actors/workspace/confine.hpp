#pragma once

#include <filesystem>
#include <string>

#include "caf/expected.hpp"

namespace cw::actors {

/// Returns `root` as an absolute path with every symlink resolved (realpath).
/// Errors: `invalid_argument` naming `root` when it does not exist or is not
/// a directory.
caf::expected<std::filesystem::path>
canonical_root(const std::filesystem::path& root);

/// Returns where `path` leads inside the workspace `root`: an absolute path
/// with `.`, `..` and every symlink along it resolved, the way the kernel
/// would resolve it when opening the file. `path` may be relative (to `root`)
/// or absolute, and need not exist; a missing tail is resolved lexically.
/// `root` itself is inside.
///
/// Errors (`invalid_argument`, the message naming `path` and `root`): `root`
/// is no directory; `path` leaves the tree through `..`, is absolute outside
/// it, or goes through a symlink (even a dangling one) that points outside
/// it; `path` contains a NUL byte; more than 40 symlinks on the way.
caf::expected<std::filesystem::path> confine(const std::filesystem::path& root,
                                             const std::filesystem::path& path);

/// Returns `path` confined as by `confine`, relative to the canonical root in
/// generic form (`src/main.cpp`, `.` for the root itself). Errors: as
/// `confine`.
caf::expected<std::string> confine_relative(const std::filesystem::path& root,
                                            const std::filesystem::path& path);

/// Returns whether the absolute, normal path `path` is `root` or below it
/// (by whole components: `/a/bc` is not below `/a/b`). No file system access.
bool is_within(const std::filesystem::path& root,
               const std::filesystem::path& path) noexcept;

} // namespace cw::actors
