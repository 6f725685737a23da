#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/expected.hpp"
#include "caf/meta/type_name.hpp"

#include "actors/workspace/ignore.hpp"

namespace cw::actors {

// -- vocabulary ---------------------------------------------------------------

/// What became of a file once its writes settled.
enum class change_kind : uint8_t {
  /// Created or written (or its attributes changed); it exists.
  modified,
  /// Deleted or moved away; it is gone.
  removed,
};

/// Returns `"modified"` or `"removed"`.
std::string to_string(change_kind x);

/// A file that changed in a workspace.
struct file_change {
  /// Relative to the workspace root, `/`-separated, e.g. `src/main.cpp`.
  std::string path;
  /// What became of it.
  change_kind kind = change_kind::modified;

  /// Returns whether both changes are the same.
  bool operator==(const file_change&) const = default;
};

/// Serializes or prints a `file_change`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, file_change& x) {
  return f(caf::meta::type_name("cw.file_change"), x.path, x.kind);
}

/// What a watcher watches and how.
struct watcher_config {
  /// The workspace directory; symlinks in it are resolved once at open.
  std::filesystem::path root;
  /// Paths neither watched nor reported (defaults included).
  ignore_rules ignore;
  /// A file is reported once no event touched it for this long.
  int64_t settle_ms = 50;
  /// Most directories watched (0: no limit): `open` fails on a larger tree,
  /// and directories made later beyond it count as watch failures. Guards
  /// against watching a home directory by accident.
  size_t max_dirs = 0;
};

// -- watcher ------------------------------------------------------------------

/// Watches a directory tree with inotify and reports files that changed once
/// their writes settle. Recursive: every directory not ignored gets a watch,
/// and a directory created (or moved in) later is watched and scanned at
/// once, so files made in it before its watch existed are reported too.
/// Directories themselves are not reported. A file created and removed
/// within one settle window is not reported at all.
///
/// Time is an argument: `read(now)` takes in queued events, `settled(now)`
/// returns the files quiet since `now - settle_ms`, `flush()` returns every
/// file pending regardless. No thread inside; the caller polls `fd()`.
/// Not thread-safe: one owner (the reader of `spawn_watcher`).
///
/// Limits: inotify does not say which process wrote; a directory moved out
/// of the tree is reported as its own path, not file by file; a file changed
/// through a symlink pointing outside the tree is not seen. When the kernel
/// queue overflows, the tree is rescanned and every file with a modification
/// time since shortly before the previous `read` is reported (`overflows()`
/// counts these).
class watcher {
public:
  // -- constructors -----------------------------------------------------------

  /// Opens an inotify instance and watches `cfg.root` and its directories.
  /// Errors: `invalid_argument` naming the root when it is no directory or
  /// cannot be watched (e.g. the inotify watch limit is reached).
  static caf::expected<std::unique_ptr<watcher>> open(watcher_config cfg);

  /// Closes the inotify descriptor.
  ~watcher();

  watcher(const watcher&) = delete;
  watcher& operator=(const watcher&) = delete;

  // -- operations -------------------------------------------------------------

  /// Takes in every event queued now without blocking, stamping the files
  /// they touch with `now_ms`; returns the number of events.
  size_t read(int64_t now_ms);

  /// Returns the files no event touched since `now_ms - settle_ms`, in the
  /// order they settled, and forgets them.
  std::vector<file_change> settled(int64_t now_ms);

  /// Returns every pending file, settled or not, and forgets them. Call
  /// `read` first to include everything that happened before.
  std::vector<file_change> flush();

  // -- properties -------------------------------------------------------------

  /// Returns the inotify descriptor, readable when events wait.
  int fd() const noexcept {
    return fd_;
  }

  /// Returns the canonical root.
  const std::filesystem::path& root() const noexcept {
    return root_;
  }

  /// Returns when the next pending file settles, if any is pending.
  std::optional<int64_t> next_settle();

  /// Returns the number of files waiting to settle.
  size_t pending() const noexcept {
    return pending_.size();
  }

  /// Returns the number of directories watched.
  size_t watched_dirs() const noexcept {
    return dirs_.size();
  }

  /// Returns how often the kernel queue overflowed.
  uint64_t overflows() const noexcept {
    return overflows_;
  }

  /// Returns the number of directories that could not be watched, and why
  /// the last one failed.
  std::pair<uint64_t, std::string> watch_failures() const {
    return {watch_failures_, last_failure_};
  }

private:
  // -- member types -----------------------------------------------------------

  struct pending_entry {
    uint64_t seq = 0;
    bool removed = false;
    // Did not exist when the window opened: created and removed means no
    // change at all.
    bool created = false;
  };

  struct touch_entry {
    int64_t ms;
    uint64_t seq;
    std::string path;
  };

  // -- helpers ----------------------------------------------------------------

  watcher(watcher_config cfg, int fd, std::filesystem::path root);

  bool add_watch(const std::string& rel);
  void watch_tree(const std::string& rel, int64_t now_ms, bool report,
                  int64_t modified_since_ns);
  void forget_tree(const std::string& rel);
  void touch(std::string path, bool removed, bool created, int64_t now_ms);
  void take(const std::string& path, std::vector<file_change>& out);

  // -- member variables -------------------------------------------------------

  watcher_config cfg_;
  int fd_;
  std::filesystem::path root_;
  std::unordered_map<int, std::string> dirs_;
  std::unordered_map<std::string, int> wds_;
  std::unordered_map<std::string, pending_entry> pending_;
  std::deque<touch_entry> touches_;
  uint64_t next_seq_ = 1;
  uint64_t overflows_ = 0;
  uint64_t watch_failures_ = 0;
  std::string last_failure_;
  // Wall-clock ns when the previous `read` began; an overflow rescan
  // reports files modified since shortly before.
  int64_t last_read_wall_ns_ = 0;
  std::vector<char> buf_;
};

} // namespace cw::actors
