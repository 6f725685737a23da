#include "actors/workspace/watcher.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/workspace/confine.hpp"
#include "messages/errc.hpp"

namespace fs = std::filesystem;

namespace cw::actors {

namespace {

// Directories only; no IN_CLOSE_WRITE: every write already sends IN_MODIFY,
// and a third event per file would fill the kernel queue a third sooner.
constexpr uint32_t watch_mask = IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE
                                | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR
                                | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

// An overflow rescan reports files modified up to this long before the
// previous read began: generous against clock granularity.
constexpr int64_t overflow_margin_ns = 2'000'000'000;

std::string join(const std::string& dir, const char* name) {
  return dir.empty() ? std::string{name} : dir + "/" + name;
}

int64_t wall_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

std::string to_string(change_kind x) {
  return x == change_kind::modified ? "modified" : "removed";
}

// -- constructors -------------------------------------------------------------

caf::expected<std::unique_ptr<watcher>> watcher::open(watcher_config cfg) {
  auto root = canonical_root(cfg.root);
  if (!root)
    return std::move(root.error());
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return make_error(errc::invalid_argument,
                      "cannot watch workspace '" + root->string()
                        + "': inotify_init1: " + strerror(errno));
  std::unique_ptr<watcher> result{new watcher(std::move(cfg), fd, *root)};
  result->watch_tree("", 0, false, 0);
  if (result->cfg_.max_dirs != 0
      && result->dirs_.size() >= result->cfg_.max_dirs
      && result->watch_failures_ > 0)
    return make_error(errc::invalid_argument,
                      "cannot watch workspace '" + root->string()
                        + "': more than "
                        + std::to_string(result->cfg_.max_dirs)
                        + " directories (max_watched_dirs)");
  if (result->wds_.count("") == 0)
    return make_error(errc::invalid_argument,
                      "cannot watch workspace '" + root->string()
                        + "': " + result->last_failure_);
  result->last_read_wall_ns_ = wall_ns();
  return result;
}

watcher::watcher(watcher_config cfg, int fd, fs::path root)
  : cfg_(std::move(cfg)), fd_(fd), root_(std::move(root)) {
  // Room for many events per read() call; the kernel never splits one.
  buf_.resize(256 * 1024);
}

watcher::~watcher() {
  ::close(fd_);
}

// -- operations ---------------------------------------------------------------

size_t watcher::read(int64_t now_ms) {
  auto started_ns = wall_ns();
  size_t events = 0;
  for (;;) {
    auto n = ::read(fd_, buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    for (size_t off = 0; off < static_cast<size_t>(n);) {
      inotify_event ev;
      // The buffer holds events back to back; copy the fixed part out so
      // no misaligned access is needed.
      std::memcpy(&ev, buf_.data() + off, sizeof(ev));
      if (ev.mask & IN_Q_OVERFLOW) {
        ++overflows_;
        watch_tree("", now_ms, true, last_read_wall_ns_ - overflow_margin_ns);
      } else {
        // The name follows the fixed part, NUL-padded.
        const char* name = buf_.data() + off + sizeof(inotify_event);
        if (ev.len == 0)
          name = "";
        auto it = dirs_.find(ev.wd);
        if (it != dirs_.end()) {
          if (ev.mask & IN_IGNORED) {
            wds_.erase(it->second);
            dirs_.erase(it);
          } else if (ev.len > 0) {
            auto dir = it->second;
            auto path = join(dir, name);
            bool is_dir = (ev.mask & IN_ISDIR) != 0;
            if (is_dir) {
              if (ev.mask & (IN_CREATE | IN_MOVED_TO)) {
                if (!cfg_.ignore.is_ignored_entry(path, true))
                  watch_tree(path, now_ms, true, 0);
              } else if (ev.mask & IN_MOVED_FROM) {
                forget_tree(path);
                if (!cfg_.ignore.is_ignored_entry(path, true))
                  touch(path, true, false, now_ms);
              }
            } else if (!cfg_.ignore.is_ignored_entry(path, false)) {
              bool removed = (ev.mask & (IN_DELETE | IN_MOVED_FROM)) != 0;
              // A file moved in may replace one that existed: not "created".
              bool created = (ev.mask & IN_CREATE) != 0;
              touch(std::move(path), removed, created, now_ms);
            }
          }
        }
      }
      ++events;
      off += sizeof(inotify_event) + ev.len;
    }
  }
  last_read_wall_ns_ = started_ns;
  return events;
}

std::vector<file_change> watcher::settled(int64_t now_ms) {
  std::vector<file_change> result;
  while (!touches_.empty() && touches_.front().ms + cfg_.settle_ms <= now_ms) {
    auto entry = std::move(touches_.front());
    touches_.pop_front();
    auto i = pending_.find(entry.path);
    // Only the latest touch of a path counts; earlier ones are stale.
    if (i != pending_.end() && i->second.seq == entry.seq)
      take(entry.path, result);
  }
  return result;
}

std::vector<file_change> watcher::flush() {
  std::vector<file_change> result;
  for (auto& entry : touches_) {
    auto i = pending_.find(entry.path);
    if (i != pending_.end() && i->second.seq == entry.seq)
      take(entry.path, result);
  }
  touches_.clear();
  return result;
}

std::optional<int64_t> watcher::next_settle() {
  while (!touches_.empty()) {
    auto& front = touches_.front();
    auto i = pending_.find(front.path);
    if (i != pending_.end() && i->second.seq == front.seq)
      return front.ms + cfg_.settle_ms;
    touches_.pop_front();
  }
  return std::nullopt;
}

// -- helpers ------------------------------------------------------------------

bool watcher::add_watch(const std::string& rel) {
  auto abs = rel.empty() ? root_ : root_ / rel;
  if (cfg_.max_dirs != 0 && dirs_.size() >= cfg_.max_dirs
      && wds_.count(rel) == 0) {
    ++watch_failures_;
    last_failure_ = "more than " + std::to_string(cfg_.max_dirs)
                    + " directories: '" + abs.string() + "' not watched";
    return false;
  }
  int wd = ::inotify_add_watch(fd_, abs.c_str(), watch_mask);
  if (wd < 0) {
    // A directory gone again before its watch is no failure.
    if (errno != ENOENT && errno != ENOTDIR) {
      ++watch_failures_;
      last_failure_ = "inotify_add_watch '" + abs.string()
                      + "': " + strerror(errno);
    }
    return false;
  }
  // The same directory under a new name (moved) keeps its descriptor.
  auto old = dirs_.find(wd);
  if (old != dirs_.end() && old->second != rel)
    wds_.erase(old->second);
  dirs_[wd] = rel;
  wds_[rel] = wd;
  return true;
}

void watcher::watch_tree(const std::string& rel, int64_t now_ms, bool report,
                         int64_t modified_since_ns) {
  std::vector<std::string> todo{rel};
  while (!todo.empty()) {
    auto dir = std::move(todo.back());
    todo.pop_back();
    // The watch goes first: an entry made after it sends an event, one made
    // before shows up in the listing below (both is fine: coalesced). A
    // directory watched already keeps its descriptor.
    if (!add_watch(dir))
      continue;
    auto abs = dir.empty() ? root_ : root_ / dir;
    DIR* d = ::opendir(abs.c_str());
    if (d == nullptr)
      continue;
    while (auto* entry = ::readdir(d)) {
      if (std::strcmp(entry->d_name, ".") == 0
          || std::strcmp(entry->d_name, "..") == 0)
        continue;
      auto path = join(dir, entry->d_name);
      struct stat st;
      bool need_stat = entry->d_type == DT_UNKNOWN || modified_since_ns > 0;
      if (need_stat && ::fstatat(dirfd(d), entry->d_name, &st,
                                 AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      bool is_dir = need_stat ? S_ISDIR(st.st_mode) : entry->d_type == DT_DIR;
      if (cfg_.ignore.is_ignored_entry(path, is_dir))
        continue;
      if (is_dir) {
        todo.push_back(std::move(path));
      } else if (report) {
        auto mtime_ns = need_stat ? static_cast<int64_t>(st.st_mtim.tv_sec)
                                        * 1'000'000'000
                                      + st.st_mtim.tv_nsec
                                  : 0;
        if (modified_since_ns <= 0 || mtime_ns >= modified_since_ns)
          touch(std::move(path), false, false, now_ms);
      }
    }
    ::closedir(d);
  }
}

void watcher::forget_tree(const std::string& rel) {
  auto prefix = rel + "/";
  std::vector<std::string> gone;
  for (auto& [path, wd] : wds_)
    if (path == rel || path.starts_with(prefix))
      gone.push_back(path);
  for (auto& path : gone) {
    auto wd = wds_[path];
    // The kernel answers with IN_IGNORED, which finds nothing left to erase.
    ::inotify_rm_watch(fd_, wd);
    dirs_.erase(wd);
    wds_.erase(path);
  }
}

void watcher::touch(std::string path, bool removed, bool created,
                    int64_t now_ms) {
  auto seq = next_seq_++;
  auto [i, added] = pending_.try_emplace(path);
  i->second.seq = seq;
  i->second.removed = removed;
  if (added)
    i->second.created = created && !removed;
  touches_.push_back({now_ms, seq, std::move(path)});
}

void watcher::take(const std::string& path, std::vector<file_change>& out) {
  auto i = pending_.find(path);
  if (!(i->second.created && i->second.removed))
    out.push_back({path, i->second.removed ? change_kind::removed
                                           : change_kind::modified});
  pending_.erase(i);
}

} // namespace cw::actors
