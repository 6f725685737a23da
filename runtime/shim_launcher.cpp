#include "runtime/shim_launcher.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string_view>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/process/search_path.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace bp = boost::process;
namespace asio = boost::asio;

namespace cw::runtime {

using actors::launch_request;

namespace {

int open_pidfd(int64_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
}

std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// What a shim's status file says; `state` is empty when there is none.
struct shim_status {
  std::string state;
  int64_t shim_pid = 0;
  uint64_t shim_start = 0;
  int64_t pid = 0;
  int32_t exit_code = -1;
  int32_t signal = 0;
};

/// Reads the state a shim last recorded in `path`: the last whole line (the
/// shim appends one JSON line per state; a line without its newline is
/// still being written).
shim_status read_status(const std::string& path) {
  shim_status result;
  auto text = slurp(path);
  auto end = text.rfind('\n');
  if (end == std::string::npos)
    return result;
  auto begin = end == 0 ? std::string::npos : text.rfind('\n', end - 1);
  begin = begin == std::string::npos ? 0 : begin + 1;
  auto j = nlohmann::json::parse(text.begin() + static_cast<ptrdiff_t>(begin),
                                 text.begin() + static_cast<ptrdiff_t>(end),
                                 nullptr, false);
  if (!j.is_object())
    return result;
  result.state = j.value("state", "");
  result.shim_pid = j.value("shim_pid", int64_t{0});
  result.shim_start = j.value("shim_start", uint64_t{0});
  result.pid = j.value("pid", int64_t{0});
  result.exit_code = j.value("exit_code", int32_t{-1});
  result.signal = j.value("signal", int32_t{0});
  return result;
}

/// Returns the PATH directories of `env`.
std::vector<boost::filesystem::path>
path_dirs(const std::map<std::string, std::string>& env) {
  std::vector<boost::filesystem::path> dirs;
  if (auto i = env.find("PATH"); i != env.end()) {
    std::string_view rest = i->second;
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto dir = rest.substr(0, colon);
      if (!dir.empty())
        dirs.emplace_back(std::string{dir});
      rest = colon == std::string_view::npos ? std::string_view{}
                                             : rest.substr(colon + 1);
    }
  }
  return dirs;
}

} // namespace

uint64_t process_start_ticks(int64_t pid) {
  auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()
      || stat[paren + 2] == 'Z')
    return 0;
  // Field 3 (the state) follows ") "; the start time is field 22.
  size_t pos = paren + 2;
  for (int field = 3; field < 22; ++field) {
    pos = stat.find(' ', pos);
    if (pos == std::string::npos)
      return 0;
    ++pos;
  }
  return std::strtoull(stat.c_str() + pos, nullptr, 10);
}

std::string default_shim_path() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = exe.parent_path();
    for (auto candidate : {dir / "cw-shim", dir / ".." / "cw-shim" / "cw-shim"})
      if (::access(candidate.c_str(), X_OK) == 0)
        return std::filesystem::weakly_canonical(candidate, ec).string();
  }
  auto found = bp::search_path("cw-shim");
  return found.empty() ? std::string{} : found.string();
}

/// One program followed by the launcher, from its start (or adoption) to
/// its end. Touched only on the I/O thread once registered.
struct followed {
  process_ref ref;
  std::string status_path;
  actors::process_launcher::start_callback on_start;
  actors::process_launcher::exit_callback on_exit;
  /// The shim of a program started by a node before this one: followed by
  /// its pidfd until it ends (it ends with the program).
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  /// Liveness: the log and the program's CPU time are its signs of life.
  std::string log_path;
  std::chrono::milliseconds hung_after{0};
  std::unique_ptr<asio::steady_timer> liveness;
  uint64_t last_log_size = 0;
  uint64_t last_cpu_ticks = 0;
  /// When the last sign of life was seen, steady milliseconds.
  int64_t last_sign_ms = 0;
  /// Killed for want of a sign of life.
  bool hung = false;
  /// Its end was reported (on_exit called).
  bool ended = false;
};

/// One `cw-shim --serve` started by this launcher: it runs one program
/// after another, each sent over a socket that is its stdin and stdout.
/// Touched only on the I/O thread.
struct shim_server {
  int64_t pid = 0;
  std::unique_ptr<asio::local::stream_protocol::socket> socket;
  asio::streambuf reports;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  /// The program it runs, if any.
  std::shared_ptr<followed> current;
  /// Its socket reached its end (or was closed here).
  bool closed = false;
  /// It ended and was reaped.
  bool reaped = false;
  /// When it last became idle, steady milliseconds.
  int64_t idle_since = 0;
};

namespace {

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
    .count();
}

uint64_t file_size(const std::string& path) {
  struct stat info = {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<uint64_t>(info.st_size)
                                          : 0;
}

/// Returns the CPU time of `pid` and its reaped children, in clock ticks
/// (fields 14 to 17 of /proc/PID/stat), or 0.
uint64_t cpu_ticks(int64_t pid) {
  auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos)
    return 0;
  std::istringstream in{stat.substr(paren + 2)};
  std::string field;
  uint64_t total = 0;
  // Fields 3..13 are skipped; 14 utime, 15 stime, 16 cutime, 17 cstime.
  for (int i = 3; i <= 17 && in >> field; ++i)
    if (i >= 14)
      total += std::strtoull(field.c_str(), nullptr, 10);
  return total;
}

} // namespace

struct shim_launcher::impl {
  std::string shim;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  // Guards `procs` and `live_servers`; written on the I/O thread, read by
  // running() and shutdown().
  mutable std::mutex mtx;
  std::condition_variable changed;
  /// The programs followed, by the pid of their shim (a shim runs one
  /// program at a time).
  std::map<int64_t, std::shared_ptr<followed>> procs;
  size_t live_servers = 0;
  /// Every shim server started and not yet reaped, and those waiting for
  /// work (most recently used last).
  std::map<int64_t, std::shared_ptr<shim_server>> servers;
  std::vector<std::shared_ptr<shim_server>> idle;
  /// Stops idle shim servers after `idle_limit`.
  asio::steady_timer retire_timer;
  bool retire_armed = false;
  std::chrono::milliseconds idle_limit{10000};
  std::thread thread;

  impl(std::string path, std::chrono::milliseconds limit)
    : shim(std::move(path)),
      work(ioc.get_executor()),
      retire_timer(ioc),
      idle_limit(limit) {
    thread = std::thread([this] { ioc.run(); });
  }

  static task_outcome failed(std::string reason) {
    return task_outcome{task_status::failed, -1, 0, std::move(reason)};
  }

  /// The outcome of `p`, whose shim recorded `st` (empty when it recorded
  /// nothing).
  static task_outcome outcome_of(const followed& p, const shim_status& st) {
    if (p.hung) {
      auto result = actors::outcome_from_exit(-1, SIGKILL);
      result.reason = "hung: no output and no CPU time for "
                      + std::to_string(p.hung_after.count()) + " ms";
      return result;
    }
    if (st.state == "exited")
      return actors::outcome_from_exit(st.exit_code, st.signal);
    // The shim died without a word: stop what it left behind.
    auto pid = st.pid != 0 ? st.pid : p.ref.pid;
    if (pid > 0)
      ::kill(-static_cast<pid_t>(pid), SIGKILL);
    return failed("cw-shim (pid " + std::to_string(p.ref.shim_pid)
                  + ") died without recording the program's exit");
  }

  /// The outcome of `p` from its status file.
  static task_outcome outcome_of(const followed& p) {
    return outcome_of(p, read_status(p.status_path));
  }

  /// Drops `p` from the programs followed under shim `shim_pid` (unless
  /// another took its place) and wakes whoever waits for that set to change.
  void unregister(int64_t shim_pid, const std::shared_ptr<followed>& p) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = procs.find(shim_pid);
    if (i != procs.end() && i->second == p)
      procs.erase(i);
    changed.notify_all();
  }

  /// Reports the end of `p` (once) and stops following it.
  void finish(const std::shared_ptr<followed>& p, task_outcome outcome) {
    if (p->ended)
      return;
    p->ended = true;
    unregister(p->ref.shim_pid, p);
    p->pidfd.reset();
    p->liveness.reset();
    p->on_exit(std::move(outcome));
  }

  /// Checks `p` for a sign of life every quarter of its `hung_after`; kills
  /// its group after `hung_after` without one.
  void check_liveness(const std::shared_ptr<followed>& p) {
    if (p->hung_after.count() <= 0)
      return;
    if (!p->liveness) {
      p->liveness = std::make_unique<asio::steady_timer>(ioc);
      p->last_sign_ms = steady_ms();
    }
    auto step = std::max(p->hung_after / 4, std::chrono::milliseconds{50});
    p->liveness->expires_after(step);
    p->liveness->async_wait([this, p](const boost::system::error_code& ec) {
      if (ec || p->ended || p->hung)
        return;
      auto size = file_size(p->log_path);
      auto cpu = p->ref.pid > 0 ? cpu_ticks(p->ref.pid) : 0;
      auto now = steady_ms();
      if (size != p->last_log_size || cpu != p->last_cpu_ticks) {
        p->last_log_size = size;
        p->last_cpu_ticks = cpu;
        p->last_sign_ms = now;
      } else if (now - p->last_sign_ms >= p->hung_after.count()
                 && p->ref.pid > 0) {
        spdlog::warn("agent process {} (shim {}): no output and no CPU time "
                     "for {} ms, killing its group",
                     p->ref.pid, p->ref.shim_pid, p->hung_after.count());
        p->hung = true;
        ::kill(-static_cast<pid_t>(p->ref.pid), SIGKILL);
        return;
      }
      check_liveness(p);
    });
  }

  /// Follows adopted `p` (registered in `procs`) until its shim ends.
  void watch(const std::shared_ptr<followed>& p) {
    p->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, p](const boost::system::error_code& ec) {
                           if (ec == asio::error::operation_aborted)
                             return;
                           finish(p, outcome_of(*p));
                         });
  }

  /// Starts `cw-shim --serve` with `end` (one end of a socket pair) as its
  /// stdin and stdout, stderr to /dev/null (a shim may outlive the node: it
  /// must not hold the node's stderr open), no other descriptor of the node,
  /// no environment and no blocked signal (cw-node blocks SIGTERM): each
  /// program gets its environment with its command. The shim makes its own
  /// session. Returns its pid, or 0 and why.
  std::pair<int64_t, std::string> spawn_server(int end) {
    char* argv[] = {const_cast<char*>(shim.c_str()),
                    const_cast<char*>("--serve"), nullptr};
    char* envp[] = {nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_adddup2(&actions, end, 0);
    ::posix_spawn_file_actions_adddup2(&actions, end, 1);
    ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    // posix_spawn, not fork: glibc spawns with CLONE_VM|CLONE_VFORK, so the
    // node's page tables are not copied (fork's cost grows with the node's
    // memory and threads).
    auto rc = ::posix_spawn(&pid, shim.c_str(), &actions, &attr, argv, envp);
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0)
      return {0, std::strerror(rc)};
    return {static_cast<int64_t>(pid), {}};
  }

  /// Starts a shim server; null and why when it cannot.
  std::pair<std::shared_ptr<shim_server>, std::string> start_server() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
      return {nullptr, std::string{"socketpair: "} + std::strerror(errno)};
    auto [pid, why] = spawn_server(fds[1]);
    ::close(fds[1]);
    if (pid == 0) {
      ::close(fds[0]);
      return {nullptr, "cannot start cw-shim " + shim + ": " + why};
    }
    int pidfd = open_pidfd(pid);
    if (pidfd < 0) {
      // Cannot happen for an unreaped child; stop it rather than lose it.
      auto err = errno;
      ::close(fds[0]);
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(pid), nullptr, 0);
      return {nullptr, std::string{"cannot follow cw-shim: pidfd_open: "}
                         + std::strerror(err)};
    }
    auto s = std::make_shared<shim_server>();
    s->pid = pid;
    s->socket = std::make_unique<asio::local::stream_protocol::socket>(
      ioc, asio::local::stream_protocol{}, fds[0]);
    s->pidfd = std::make_unique<asio::posix::stream_descriptor>(ioc, pidfd);
    servers.emplace(pid, s);
    {
      std::lock_guard<std::mutex> guard{mtx};
      ++live_servers;
    }
    read_reports(s);
    s->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, s](const boost::system::error_code& ec) {
                           if (ec == asio::error::operation_aborted)
                             return;
                           ::waitpid(static_cast<pid_t>(s->pid), nullptr, 0);
                           s->reaped = true;
                           server_gone(s);
                         });
    return {s, {}};
  }

  /// Reads the reports of `s` until its socket ends.
  void read_reports(const std::shared_ptr<shim_server>& s) {
    asio::async_read_until(
      *s->socket, s->reports, '\n',
      [this, s](const boost::system::error_code& ec, size_t) {
        if (ec) {
          s->closed = true;
          return server_gone(s);
        }
        std::string line;
        {
          std::istream in{&s->reports};
          std::getline(in, line);
        }
        on_report(s, line);
        read_reports(s);
      });
  }

  /// Handles one line `s` reported about its current program.
  void on_report(const std::shared_ptr<shim_server>& s,
                 const std::string& line) {
    auto p = s->current;
    if (!p)
      return;
    std::istringstream in{line};
    std::string kind;
    in >> kind;
    if (kind == "start") {
      int64_t pid = 0;
      int64_t shim_pid = 0;
      uint64_t start = 0;
      uint64_t offset = 0;
      if (in >> pid >> shim_pid >> start >> offset && shim_pid == s->pid) {
        p->ref.pid = pid;
        p->ref.shim_start = start;
        p->ref.log_offset = offset;
        p->last_log_size = offset;
        p->on_start(p->ref);
      }
      return;
    }
    if (kind == "exit") {
      shim_status st;
      st.state = "exited";
      in >> st.pid >> st.exit_code >> st.signal;
      s->current.reset();
      finish(p, outcome_of(*p, st));
    } else if (kind == "fail") {
      std::string why;
      std::getline(in >> std::ws, why);
      s->current.reset();
      finish(p, failed("cw-shim could not start the program: " + why));
    } else {
      spdlog::warn("cw-shim {}: unexpected report: {}", s->pid, line);
      return;
    }
    make_idle(s);
  }

  /// Puts `s` among the idle servers and makes sure it is retired in time.
  void make_idle(const std::shared_ptr<shim_server>& s) {
    if (s->closed)
      return;
    s->idle_since = steady_ms();
    idle.push_back(s);
    arm_retire();
  }

  void arm_retire() {
    if (retire_armed || idle.empty())
      return;
    retire_armed = true;
    auto due = idle.front()->idle_since + idle_limit.count() - steady_ms();
    retire_timer.expires_after(std::chrono::milliseconds{std::max<int64_t>(due, 1)});
    retire_timer.async_wait([this](const boost::system::error_code& ec) {
      retire_armed = false;
      if (ec)
        return;
      auto now = steady_ms();
      // The oldest are first: stop those idle for `idle_limit`.
      while (!idle.empty() && now - idle.front()->idle_since >= idle_limit.count()) {
        close(idle.front());
        idle.erase(idle.begin());
      }
      arm_retire();
    });
  }

  /// Closes the socket of `s`: it lets its program (if any) finish, then
  /// leaves.
  void close(const std::shared_ptr<shim_server>& s) {
    s->closed = true;
    boost::system::error_code ignored;
    s->socket->close(ignored);
  }

  /// Forgets `s` once it ended and its socket closed; a program it was
  /// running ends as its status file says.
  void server_gone(const std::shared_ptr<shim_server>& s) {
    if (!s->closed || !s->reaped)
      return;
    if (servers.erase(s->pid) == 0)
      return;
    idle.erase(std::remove(idle.begin(), idle.end(), s), idle.end());
    s->pidfd.reset();
    if (auto p = std::move(s->current))
      finish(p, outcome_of(*p));
    std::lock_guard<std::mutex> guard{mtx};
    --live_servers;
    changed.notify_all();
  }

  /// Returns the `run` command for `req`.
  static std::string run_command(const launch_request& req) {
    std::string payload = req.log_path;
    auto field = [&](const std::string& f) {
      payload += '\0';
      payload += f;
    };
    field(req.status_path);
    field(req.workspace);
    field(std::to_string(req.argv.size()));
    for (auto& a : req.argv)
      field(a);
    for (auto& [key, value] : req.env)
      field(key + "=" + value);
    return "run " + std::to_string(payload.size()) + "\n" + payload;
  }

  void start(launch_request& req, start_callback& on_start,
             exit_callback& on_exit) {
    auto fail = [&](std::string reason) { on_exit(failed(std::move(reason))); };
    // The program is checked here, on the PATH the process gets (not the
    // node's), so that a typo fails at once with its name.
    const auto& program = req.argv.front();
    if (program.find('/') == std::string::npos) {
      if (bp::search_path(program, path_dirs(req.env)).empty())
        return fail("program not found: " + program);
    } else if (::access(program.c_str(), X_OK) != 0) {
      return fail("cannot execute " + program + ": " + std::strerror(errno));
    }
    // A status file of this attempt is stale (its shim never started the
    // program); the check spares the directory's lock when there is none.
    if (::access(req.status_path.c_str(), F_OK) == 0)
      ::unlink(req.status_path.c_str());
    auto p = std::make_shared<followed>();
    p->status_path = req.status_path;
    p->on_start = std::move(on_start);
    p->on_exit = std::move(on_exit);
    p->log_path = req.log_path;
    p->hung_after = req.hung_after;
    hand_over(p, std::make_shared<const std::string>(run_command(req)), 1);
    if (!p->ended)
      check_liveness(p);
  }

  /// Gives `p` to an idle shim, else to a new one, by writing `command` to
  /// its socket without blocking this thread (a stopped shim cannot hold
  /// it). A shim that refuses the command (it went away unnoticed) is
  /// closed and the next one tried, `attempt` of three.
  void hand_over(const std::shared_ptr<followed>& p,
                 std::shared_ptr<const std::string> command, int attempt) {
    std::shared_ptr<shim_server> s;
    if (!idle.empty()) {
      s = idle.back();
      idle.pop_back();
    } else {
      auto [fresh, why] = start_server();
      if (!fresh)
        return finish(p, failed(why));
      s = fresh;
    }
    p->ref.shim_pid = s->pid;
    s->current = p;
    {
      std::lock_guard<std::mutex> guard{mtx};
      procs[s->pid] = p;
    }
    auto& bytes = *command;
    asio::async_write(
      *s->socket, asio::buffer(bytes),
      [this, s, p, command = std::move(command),
       attempt](const boost::system::error_code& ec, size_t) mutable {
        // Gone before the command was out: its end already finished `p`.
        if (!ec || s->current != p)
          return;
        spdlog::warn("cw-shim {}: cannot send it a program: {}", s->pid,
                     ec.message());
        s->current.reset();
        unregister(s->pid, p);
        close(s);
        if (attempt >= 3)
          return finish(p, failed("cannot send the program to cw-shim: "
                                  + ec.message()));
        hand_over(p, std::move(command), attempt + 1);
      });
  }

  /// SIGTERM to the program of shim `shim_pid` if it is still `pid`'s
  /// (0: whichever runs), SIGKILL to its group after `grace`.
  void kill_group(int64_t shim_pid, int64_t pid,
                  std::chrono::milliseconds grace) {
    std::shared_ptr<followed> p;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = procs.find(shim_pid);
      if (i == procs.end())
        return;
      p = i->second;
    }
    if (pid != 0 && p->ref.pid != 0 && p->ref.pid != pid)
      return; // that program ended; the shim runs another one now
    // The shim passes SIGTERM on to the program's group and stays to record
    // how it ended.
    ::kill(static_cast<pid_t>(shim_pid), SIGTERM);
    auto timer = std::make_shared<asio::steady_timer>(ioc, grace);
    timer->async_wait([timer, p](const boost::system::error_code&) {
      if (p->ended)
        return;
      if (p->ref.pid > 0)
        ::kill(-static_cast<pid_t>(p->ref.pid), SIGKILL);
      else
        ::kill(static_cast<pid_t>(p->ref.shim_pid), SIGKILL);
    });
  }

  /// Closes every server: idle ones leave at once, busy ones after their
  /// program.
  void close_all() {
    for (auto& [pid, s] : servers)
      if (!s->closed)
        close(s);
    idle.clear();
    retire_timer.cancel();
  }
};

shim_launcher::shim_launcher(std::string shim,
                             std::chrono::milliseconds idle_limit)
  : impl_(std::make_unique<impl>(std::move(shim), idle_limit)) {
  // nop
}

shim_launcher::~shim_launcher() {
  shutdown(std::chrono::seconds(5));
}

void shim_launcher::launch(launch_request req, start_callback on_start,
                           exit_callback on_exit) {
  asio::post(impl_->ioc, [this, req = std::move(req),
                          on_start = std::move(on_start),
                          on_exit = std::move(on_exit)]() mutable {
    impl_->start(req, on_start, on_exit);
  });
}

bool shim_launcher::adopt(const process_ref& ref,
                          const actors::launch_request& req,
                          exit_callback on_exit) {
  const auto& status_path = req.status_path;
  auto st = read_status(status_path);
  if (st.state.empty())
    return false; // the shim never got as far as running the program
  auto p = std::make_shared<followed>();
  p->status_path = status_path;
  p->log_path = req.log_path;
  p->hung_after = req.hung_after;
  p->last_log_size = file_size(req.log_path);
  p->on_exit = std::move(on_exit);
  p->ref = ref;
  p->ref.pid = st.pid;
  p->ref.shim_pid = st.shim_pid;
  p->ref.shim_start = st.shim_start;
  auto alive = false;
  if (st.state == "running" && st.shim_start != 0) {
    // Alive only if the pid still names the process that wrote the file.
    // A shim of the node before this one runs this program to its end and
    // then leaves (its socket to that node is gone): its end is the
    // program's.
    int fd = -1;
    if (process_start_ticks(st.shim_pid) == st.shim_start) {
      fd = open_pidfd(st.shim_pid);
      if (fd >= 0 && process_start_ticks(st.shim_pid) != st.shim_start) {
        ::close(fd);
        fd = -1;
      }
    }
    if (fd >= 0) {
      alive = true;
      p->pidfd = std::make_unique<asio::posix::stream_descriptor>(impl_->ioc,
                                                                  fd);
    }
  }
  if (alive) {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->procs.emplace(p->ref.shim_pid, p);
  }
  // Ended while the node was down (or just now): the status file says how.
  asio::post(impl_->ioc, [this, p, alive] {
    if (!alive) {
      impl_->finish(p, impl::outcome_of(*p));
    } else {
      impl_->watch(p);
      impl_->check_liveness(p);
    }
  });
  return true;
}

void shim_launcher::terminate(const process_ref& ref,
                              std::chrono::milliseconds grace) {
  asio::post(impl_->ioc, [this, shim_pid = ref.shim_pid, pid = ref.pid, grace] {
    impl_->kill_group(shim_pid, pid, grace);
  });
}

void shim_launcher::shutdown(std::chrono::milliseconds grace, bool keep) {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  if (!keep) {
    std::vector<int64_t> pids;
    {
      std::lock_guard<std::mutex> guard{d.mtx};
      for (auto& [pid, p] : d.procs)
        pids.push_back(pid);
    }
    for (auto pid : pids)
      asio::post(d.ioc, [this, pid, grace] { impl_->kill_group(pid, 0, grace); });
    std::unique_lock<std::mutex> guard{d.mtx};
    d.changed.wait_for(guard, grace + std::chrono::seconds(2),
                       [&] { return d.procs.empty(); });
  }
  // The shim servers leave once their program (if any) ended: at once
  // unless `keep` left programs running. Without `keep` they are reaped.
  if (!keep) {
    asio::post(d.ioc, [this] { impl_->close_all(); });
    std::unique_lock<std::mutex> guard{d.mtx};
    d.changed.wait_for(guard, std::chrono::seconds(2),
                       [&] { return d.live_servers == 0; });
  }
  d.work.reset();
  d.ioc.stop();
  d.thread.join();
  // No other thread touches the servers now.
  d.close_all();
  std::lock_guard<std::mutex> guard{d.mtx};
  if (keep && !d.procs.empty())
    spdlog::info("leaving {} agent processes running for the next start",
                 d.procs.size());
  d.procs.clear();
}

size_t shim_launcher::running() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->procs.size();
}

size_t shim_launcher::shims() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->live_servers;
}

} // namespace cw::runtime
