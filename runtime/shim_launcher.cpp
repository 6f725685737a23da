#include "runtime/shim_launcher.hpp"

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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/process/async_pipe.hpp>
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

shim_status read_status(const std::string& path) {
  shim_status result;
  auto text = slurp(path);
  auto j = nlohmann::json::parse(text, nullptr, false);
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

/// One shim followed by the launcher, from its start (or adoption) to its
/// end. Touched only on the I/O thread once registered.
struct followed {
  process_ref ref;
  std::string status_path;
  actors::process_launcher::start_callback on_start;
  actors::process_launcher::exit_callback on_exit;
  std::unique_ptr<asio::posix::stream_descriptor> pidfd;
  /// The ready line of a shim started here, until it is read.
  std::unique_ptr<bp::async_pipe> ready_pipe;
  asio::streambuf ready_buf;
  /// Started here: the launcher reaps it.
  bool child = false;
  /// The ready line was read, or will never come.
  bool ready = true;
  /// The shim ended (its pidfd became readable).
  bool ended = false;
  /// The shim's own wait status, when it was a child.
  int wait_status = -1;
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
  // Guards `procs`; written on the I/O thread, read by running().
  mutable std::mutex mtx;
  std::condition_variable all_ended;
  std::map<int64_t, std::shared_ptr<followed>> procs;
  std::thread thread;

  explicit impl(std::string path)
    : shim(std::move(path)), work(ioc.get_executor()) {
    thread = std::thread([this] { ioc.run(); });
  }

  static task_outcome failed(std::string reason) {
    return task_outcome{task_status::failed, -1, 0, std::move(reason)};
  }

  /// The outcome of a shim that ended, from its status file.
  static task_outcome outcome_of(const followed& p) {
    auto st = read_status(p.status_path);
    if (p.hung) {
      auto result = actors::outcome_from_exit(-1, SIGKILL);
      result.reason = "hung: no output and no CPU time for "
                      + std::to_string(p.hung_after.count()) + " ms";
      return result;
    }
    if (st.state == "exited")
      return actors::outcome_from_exit(st.exit_code, st.signal);
    if (st.state.empty() && p.child && WIFEXITED(p.wait_status))
      return failed("cw-shim could not start the program (exit code "
                    + std::to_string(WEXITSTATUS(p.wait_status))
                    + "; see the task log)");
    // The shim died without a word: stop what it left behind.
    auto pid = st.pid != 0 ? st.pid : p.ref.pid;
    if (pid > 0)
      ::kill(-static_cast<pid_t>(pid), SIGKILL);
    return failed("cw-shim (pid " + std::to_string(p.ref.shim_pid)
                  + ") died without recording the program's exit");
  }

  /// Reports the end of `p` once its shim ended and its ready line is in.
  void maybe_finish(const std::shared_ptr<followed>& p) {
    if (!p->ready || !p->ended)
      return;
    auto outcome = outcome_of(*p);
    {
      std::lock_guard<std::mutex> guard{mtx};
      procs.erase(p->ref.shim_pid);
      if (procs.empty())
        all_ended.notify_all();
    }
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

  /// Follows `p` (registered in `procs`) until its shim ends.
  void watch(const std::shared_ptr<followed>& p) {
    p->pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                         [this, p](const boost::system::error_code& ec) {
                           if (ec == asio::error::operation_aborted)
                             return;
                           p->ended = true;
                           if (p->child) {
                             int status = 0;
                             if (::waitpid(static_cast<pid_t>(p->ref.shim_pid),
                                           &status, 0)
                                 > 0)
                               p->wait_status = status;
                           }
                           maybe_finish(p);
                         });
  }

  void read_ready_line(const std::shared_ptr<followed>& p) {
    asio::async_read_until(
      *p->ready_pipe, p->ready_buf, '\n',
      [this, p](const boost::system::error_code& ec, size_t) {
        if (!ec) {
          std::istream in{&p->ready_buf};
          int64_t pid = 0;
          int64_t shim_pid = 0;
          uint64_t start = 0;
          if (in >> pid >> shim_pid >> start && shim_pid == p->ref.shim_pid) {
            p->ref.pid = pid;
            p->ref.shim_start = start;
            p->on_start(p->ref);
          }
        }
        p->ready = true;
        p->ready_pipe.reset();
        maybe_finish(p);
      });
  }

  /// Starts the shim with `args` and exactly the variables `env`: stdin
  /// from /dev/null, stdout to `out_fd`, stderr to `err_fd`, no other
  /// descriptor of the node, no blocked signal (cw-node blocks SIGTERM).
  /// The shim makes its own session. Returns its pid, or 0 and why.
  std::pair<int64_t, std::string>
  spawn_shim(const std::vector<std::string>& args,
             const std::map<std::string, std::string>& env, int out_fd,
             int err_fd) {
    std::vector<std::string> env_strings;
    env_strings.reserve(env.size());
    for (auto& [key, value] : env)
      env_strings.push_back(key + "=" + value);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(shim.c_str()));
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    ::posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none;
    sigemptyset(&none);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid = 0;
    auto rc = ::posix_spawn(&pid, shim.c_str(), &actions, &attr, argv.data(),
                            envp.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0)
      return {0, std::strerror(rc)};
    return {static_cast<int64_t>(pid), {}};
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
    // The shim's own complaints go to the task log too.
    FILE* log = std::fopen(req.log_path.c_str(), "a");
    if (log == nullptr)
      return fail("cannot open log file " + req.log_path + ": "
                  + std::strerror(errno));
    struct stat info = {};
    uint64_t offset = ::fstat(::fileno(log), &info) == 0
                        ? static_cast<uint64_t>(info.st_size)
                        : 0;
    ::unlink(req.status_path.c_str());
    std::vector<std::string> args{"--log", req.log_path, "--status",
                                  req.status_path, "--ready-fd", "1"};
    if (!req.workspace.empty()) {
      args.emplace_back("--cwd");
      args.emplace_back(req.workspace);
    }
    args.emplace_back("--");
    args.insert(args.end(), req.argv.begin(), req.argv.end());
    auto p = std::make_shared<followed>();
    p->status_path = req.status_path;
    p->on_start = std::move(on_start);
    p->on_exit = std::move(on_exit);
    p->child = true;
    p->ready = false;
    p->ref.log_offset = offset;
    p->log_path = req.log_path;
    p->hung_after = req.hung_after;
    p->last_log_size = offset;
    p->ready_pipe = std::make_unique<bp::async_pipe>(ioc);
    // posix_spawn, not fork: glibc spawns with CLONE_VM|CLONE_VFORK, so the
    // node's page tables are not copied for every process (fork's cost
    // grows with the node's memory and threads).
    auto [pid, why] = spawn_shim(args, req.env, p->ready_pipe->native_sink(),
                                 ::fileno(log));
    // Our copy of the write end goes: the read end sees EOF when the shim
    // ends.
    {
      auto sink = std::move(*p->ready_pipe).sink();
      boost::system::error_code ignored;
      sink.close(ignored);
    }
    if (pid == 0) {
      std::fclose(log);
      return fail("cannot start cw-shim " + shim + ": " + why);
    }
    p->ref.shim_pid = pid;
    std::fclose(log);
    int fd = open_pidfd(p->ref.shim_pid);
    if (fd < 0) {
      // Cannot happen for an unreaped child; stop it rather than lose it.
      ::kill(static_cast<pid_t>(p->ref.shim_pid), SIGKILL);
      ::waitpid(static_cast<pid_t>(p->ref.shim_pid), nullptr, 0);
      return p->on_exit(
        failed(std::string{"cannot follow cw-shim: pidfd_open: "}
               + std::strerror(errno)));
    }
    p->pidfd = std::make_unique<asio::posix::stream_descriptor>(ioc, fd);
    {
      std::lock_guard<std::mutex> guard{mtx};
      procs.emplace(p->ref.shim_pid, p);
    }
    read_ready_line(p);
    watch(p);
    check_liveness(p);
  }

  void kill_group(int64_t shim_pid, std::chrono::milliseconds grace) {
    std::shared_ptr<followed> p;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = procs.find(shim_pid);
      if (i == procs.end())
        return;
      p = i->second;
    }
    // The shim passes SIGTERM on to the program's group and stays to record
    // how it ended.
    ::kill(static_cast<pid_t>(shim_pid), SIGTERM);
    auto timer = std::make_shared<asio::steady_timer>(ioc, grace);
    timer->async_wait([this, timer, p](const boost::system::error_code&) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (procs.count(p->ref.shim_pid) == 0)
          return;
      }
      if (p->ref.pid > 0)
        ::kill(-static_cast<pid_t>(p->ref.pid), SIGKILL);
      else
        ::kill(static_cast<pid_t>(p->ref.shim_pid), SIGKILL);
    });
  }
};

shim_launcher::shim_launcher(std::string shim)
  : impl_(std::make_unique<impl>(std::move(shim))) {
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
  p->ended = true;
  if (st.state == "running" && st.shim_start != 0) {
    // Alive only if the pid still names the process that wrote the file.
    int fd = -1;
    if (process_start_ticks(st.shim_pid) == st.shim_start) {
      fd = open_pidfd(st.shim_pid);
      if (fd >= 0 && process_start_ticks(st.shim_pid) != st.shim_start) {
        ::close(fd);
        fd = -1;
      }
    }
    if (fd >= 0) {
      p->ended = false;
      p->pidfd = std::make_unique<asio::posix::stream_descriptor>(impl_->ioc,
                                                                  fd);
    }
  }
  if (!p->ended) {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->procs.emplace(p->ref.shim_pid, p);
  }
  // Ended while the node was down (or just now): the status file says how.
  asio::post(impl_->ioc, [this, p] {
    if (p->ended) {
      p->on_exit(impl::outcome_of(*p));
    } else {
      impl_->watch(p);
      impl_->check_liveness(p);
    }
  });
  return true;
}

void shim_launcher::terminate(const process_ref& ref,
                              std::chrono::milliseconds grace) {
  asio::post(impl_->ioc, [this, shim_pid = ref.shim_pid, grace] {
    impl_->kill_group(shim_pid, grace);
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
      asio::post(d.ioc, [this, pid, grace] { impl_->kill_group(pid, grace); });
    std::unique_lock<std::mutex> guard{d.mtx};
    d.all_ended.wait_for(guard, grace + std::chrono::seconds(2),
                         [&] { return d.procs.empty(); });
  }
  d.work.reset();
  d.ioc.stop();
  d.thread.join();
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

} // namespace cw::runtime
