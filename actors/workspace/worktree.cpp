#include "actors/workspace/worktree.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "messages/errc.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace cw::actors {

namespace {

using steady = std::chrono::steady_clock;

struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

// The child's environment: ours, without variables that would point git at
// another repository, and without prompts.
std::vector<std::string> git_environment() {
  std::vector<std::string> result;
  for (auto env = environ; env != nullptr && *env != nullptr; ++env) {
    std::string_view x{*env};
    if (x.starts_with("GIT_DIR=") || x.starts_with("GIT_WORK_TREE=")
        || x.starts_with("GIT_INDEX_FILE=")
        || x.starts_with("GIT_TERMINAL_PROMPT="))
      continue;
    result.emplace_back(x);
  }
  result.emplace_back("GIT_TERMINAL_PROMPT=0");
  return result;
}

std::vector<char*> c_strings(std::vector<std::string>& xs) {
  std::vector<char*> result;
  for (auto& x : xs)
    result.push_back(x.data());
  result.push_back(nullptr);
  return result;
}

std::string trim(std::string x) {
  while (!x.empty()
         && (x.back() == '\n' || x.back() == '\r' || x.back() == ' '))
    x.pop_back();
  return x;
}

// Splits NUL-separated output.
std::vector<std::string> split_nul(const std::string& x) {
  std::vector<std::string> result;
  size_t start = 0;
  while (start < x.size()) {
    auto end = x.find('\0', start);
    if (end == std::string::npos)
      end = x.size();
    if (end > start)
      result.emplace_back(x.substr(start, end - start));
    start = end + 1;
  }
  return result;
}

caf::error git_failed(const std::string& what, const fs::path& path,
                      const process_output& out) {
  auto msg = trim(out.err.empty() ? out.out : out.err);
  return make_error(errc::invalid_argument,
                    what + " '" + path.string() + "' failed: "
                      + (msg.empty() ? "git exited with "
                                         + std::to_string(out.exit_code)
                                     : msg));
}

// Runs git in `dir` and requires exit code 0.
caf::expected<std::string> git_ok(const std::string& what, const fs::path& dir,
                                  const std::vector<std::string>& args,
                                  const fs::path& named = {}) {
  auto out = run_git(dir, args);
  if (!out)
    return std::move(out.error());
  if (out->exit_code != 0)
    return git_failed(what, named.empty() ? dir : named, *out);
  return std::move(out->out);
}

} // namespace

caf::expected<process_output> run_git(const fs::path& dir,
                                      const std::vector<std::string>& args,
                                      std::chrono::milliseconds timeout) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return make_error(errc::agent_spawn_failed,
                      std::string{"cannot run git: pipe: "} + strerror(errno));
  fd_guard out_r{out_pipe[0]};
  fd_guard out_w{out_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return make_error(errc::agent_spawn_failed,
                      std::string{"cannot run git: pipe: "} + strerror(errno));
  fd_guard err_r{err_pipe[0]};
  fd_guard err_w{err_pipe[1]};
  std::vector<std::string> argv{"git", "-C", dir.string(), "-c",
                                "core.quotePath=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto env = git_environment();
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(env);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.fd, 2);
  pid_t pid = -1;
  auto rc = ::posix_spawnp(&pid, "git", &actions, nullptr, c_argv.data(),
                           c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return make_error(errc::agent_spawn_failed,
                      std::string{"cannot run git: "} + strerror(rc));
  ::close(out_w.fd);
  out_w.fd = -1;
  ::close(err_w.fd);
  err_w.fd = -1;
  process_output result;
  auto deadline = steady::now() + timeout;
  bool timed_out = false;
  pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {err_r.fd, POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[16384];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - steady::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    auto n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0)
        continue;
      auto got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out)
    ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    // retry
  }
  if (timed_out)
    return make_error(errc::invalid_argument,
                      "git in '" + dir.string() + "' did not finish within "
                        + std::to_string(timeout.count()) + " ms");
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

caf::expected<fs::path> git_toplevel(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return make_error(errc::invalid_argument,
                      "'" + dir.string() + "' is not a directory");
  auto out = run_git(dir, {"rev-parse", "--show-toplevel"});
  if (!out)
    return std::move(out.error());
  if (out->exit_code != 0)
    return make_error(errc::invalid_argument,
                      "'" + dir.string() + "' is not a git repository");
  return fs::path{trim(std::move(out->out))};
}

std::string worktree_branch(task_id task) {
  return "cw/" + std::to_string(task);
}

caf::expected<worktree_info> add_worktree(const fs::path& repo,
                                          const fs::path& path, task_id task,
                                          const std::string& base) {
  auto top = git_toplevel(repo);
  if (!top)
    return std::move(top.error());
  std::error_code ec;
  if (fs::exists(fs::symlink_status(path, ec)))
    return make_error(errc::invalid_argument,
                      "worktree path '" + path.string() + "' exists already");
  auto base_commit = run_git(*top, {"rev-parse", "--verify", "--quiet",
                                    base + "^{commit}"});
  if (!base_commit)
    return std::move(base_commit.error());
  if (base_commit->exit_code != 0)
    return make_error(errc::invalid_argument,
                      "base '" + base + "' of worktree '" + path.string()
                        + "' names no commit in '" + top->string() + "'");
  worktree_info result;
  result.task = task;
  result.branch = worktree_branch(task);
  result.path = fs::absolute(path).lexically_normal();
  result.base_commit = trim(std::move(base_commit->out));
  auto exists = run_git(*top, {"rev-parse", "--verify", "--quiet",
                               "refs/heads/" + result.branch});
  if (!exists)
    return std::move(exists.error());
  if (exists->exit_code == 0)
    return make_error(errc::invalid_argument,
                      "branch '" + result.branch + "' for worktree '"
                        + path.string() + "' exists already in '"
                        + top->string() + "'");
  auto added = git_ok("creating worktree", *top,
                      {"worktree", "add", "--quiet", "-b", result.branch,
                       result.path.string(), result.base_commit},
                      result.path);
  if (!added)
    return std::move(added.error());
  result.head = result.base_commit;
  return result;
}

caf::expected<std::vector<std::string>>
changed_files(const fs::path& path, const std::string& base_commit) {
  auto top = git_toplevel(path);
  if (!top)
    return std::move(top.error());
  // The working tree against the base covers commits on the branch, the
  // index and unstaged edits (deletions included); untracked files come
  // from ls-files. -z keeps odd names intact.
  auto diff = git_ok("listing changes of worktree", path,
                     {"diff", "--name-only", "--no-renames", "-z",
                      base_commit, "--"});
  if (!diff)
    return std::move(diff.error());
  auto untracked = git_ok("listing untracked files of worktree", path,
                          {"ls-files", "--others", "--exclude-standard", "-z",
                           "--full-name", ":/"});
  if (!untracked)
    return std::move(untracked.error());
  std::set<std::string> files;
  for (auto& x : split_nul(*diff))
    files.insert(std::move(x));
  for (auto& x : split_nul(*untracked))
    files.insert(std::move(x));
  return std::vector<std::string>{files.begin(), files.end()};
}

caf::expected<std::vector<worktree_info>>
list_worktrees(const fs::path& repo) {
  auto top = git_toplevel(repo);
  if (!top)
    return std::move(top.error());
  auto out = git_ok("listing worktrees of", *top,
                    {"worktree", "list", "--porcelain", "-z"});
  if (!out)
    return std::move(out.error());
  std::vector<worktree_info> result;
  worktree_info current;
  auto flush = [&] {
    if (current.branch.starts_with("cw/"))
      result.push_back(std::move(current));
    current = worktree_info{};
  };
  // Records are attribute lines separated by NUL, ended by an empty one.
  size_t start = 0;
  while (start <= out->size()) {
    auto end = out->find('\0', start);
    if (end == std::string::npos)
      end = out->size();
    std::string_view line{out->data() + start, end - start};
    if (line.empty()) {
      if (!current.path.empty())
        flush();
    } else if (line.starts_with("worktree ")) {
      current.path = std::string{line.substr(9)};
    } else if (line.starts_with("HEAD ")) {
      current.head = std::string{line.substr(5)};
    } else if (line.starts_with("branch refs/heads/")) {
      current.branch = std::string{line.substr(18)};
      if (current.branch.starts_with("cw/")) {
        auto id = current.branch.substr(3);
        if (!id.empty() && std::all_of(id.begin(), id.end(), ::isdigit))
          current.task = std::stoull(id);
      }
    }
    start = end + 1;
  }
  if (!current.path.empty())
    flush();
  return result;
}

caf::expected<void> remove_worktree(const fs::path& repo,
                                    const fs::path& path) {
  auto top = git_toplevel(repo);
  if (!top)
    return std::move(top.error());
  auto all = list_worktrees(*top);
  if (!all)
    return std::move(all.error());
  auto abs = fs::weakly_canonical(fs::absolute(path));
  auto i = std::find_if(all->begin(), all->end(), [&](const worktree_info& x) {
    return fs::weakly_canonical(x.path) == abs;
  });
  if (i == all->end())
    return make_error(errc::invalid_argument,
                      "'" + path.string() + "' is not a cw worktree of '"
                        + top->string() + "'");
  auto removed = git_ok("removing worktree", *top,
                        {"worktree", "remove", "--force", i->path.string()},
                        path);
  if (!removed)
    return std::move(removed.error());
  return caf::unit;
}

caf::expected<void> delete_branch(const fs::path& repo,
                                  const std::string& branch, bool force) {
  auto top = git_toplevel(repo);
  if (!top)
    return std::move(top.error());
  auto deleted = git_ok("deleting branch", *top,
                        {"branch", force ? "-D" : "-d", "--quiet", branch},
                        branch);
  if (!deleted)
    return std::move(deleted.error());
  return caf::unit;
}

caf::expected<void> prune_worktrees(const fs::path& repo) {
  auto top = git_toplevel(repo);
  if (!top)
    return std::move(top.error());
  auto pruned = git_ok("pruning worktrees of", *top, {"worktree", "prune"});
  if (!pruned)
    return std::move(pruned.error());
  return caf::unit;
}

} // namespace cw::actors
