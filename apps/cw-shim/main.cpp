// cw-shim: owns agent processes so that they outlive the node.
//
//   cw-shim --log FILE --status FILE [--cwd DIR] [--ready-fd FD]
//           -- PROGRAM ARGS...
//   cw-shim --serve
//
// The shim leaves the node's session (setsid), starts PROGRAM in a process
// group of its own with stdout and stderr appended to FILE, and records its
// states in a status file, one JSON line each, appended with one write:
//   {"state":"running","shim_pid":P,"shim_start":K,"pid":C,"started_ms":T}
//   {"state":"exited","shim_pid":P,"shim_start":K,"pid":C,"started_ms":T,
//    "ended_ms":E,"exit_code":X,"signal":S}
// A reader takes the last whole line (a last line without its newline is
// still being written); an empty file says no more than a missing one.
// K is the shim's start time in clock ticks since boot (field 22 of
// /proc/P/stat): with P it names the shim for good, so a node that restarts
// never mistakes a reused pid for it. With --ready-fd, the line "C P K" is
// written to FD once the status file says running, and FD is closed: the
// node learns the pids without waiting for the file.
// SIGTERM, SIGINT and SIGHUP sent to the shim go to the program's process
// group as SIGTERM; the shim stays until the program has ended and then
// exits with its status (128 + signal when killed). Exit codes of the shim
// itself: 2 for bad arguments, 125 when it cannot start at all; a program
// that cannot be executed ends with exit code 127 and a line in the log.
//
// With --serve the shim stays and runs one program after another, each as
// above (its own group, log and status file), so that a task costs one
// process start instead of two. Stdin and stdout are the node's end of a
// socket. The node sends
//   "run N\n" and N bytes: LOG \0 STATUS \0 CWD \0 ARGC \0 ARGV... \0 ENV...
// (fields separated by NUL; ENV is the program's whole environment, as
// NAME=VALUE) only while no program runs; the shim answers
//   "start C P K O\n"        once the status file says running (O: the
//                            log's size before the program wrote to it),
//   "exit C CODE SIGNAL\n"   once the status file says exited,
//   "fail REASON\n"          when the program could not be started at all.
// Signals sent while no program runs are dropped before the next one starts.
// At the end of its stdin (the node closed it, or died) the shim lets the
// program that runs finish, records its exit and leaves: a restarted node
// follows it by its status file, as it follows a one-program shim.
//
// Plain POSIX on purpose: nothing but async-signal-safe calls between fork
// and exec, no threads, no allocations after the fork in the child.

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// One program to run: where its output and status go, where it runs and
/// with what environment.
struct job {
  std::string log;
  std::string status;
  std::string cwd;
  std::vector<std::string> argv;
  /// NAME=VALUE entries; empty and `own_env` set: the shim's own.
  std::vector<std::string> env;
  bool own_env = true;
};

/// Returns the start time of this process in clock ticks since boot.
unsigned long long own_start_ticks() {
  char buf[1024];
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  auto n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  // Fields after the command name, which may contain spaces, in parens.
  auto p = std::strrchr(buf, ')');
  if (p == nullptr)
    return 0;
  // Field 3 (state) follows ") "; the start time is field 22.
  int field = 2;
  for (++p; *p != '\0' && field < 22; ++p)
    if (*p == ' ')
      ++field;
  return std::strtoull(p, nullptr, 10);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "cw-shim: %s\nusage: cw-shim --log FILE --status FILE "
               "[--cwd DIR] [--ready-fd FD] -- PROGRAM ARGS...\n"
               "       cw-shim --serve\n",
               why);
  return 2;
}

/// Writes all of `text` to `fd`; false when the reader went away.
bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

/// A status file: one JSON line per state, appended (`running`, then
/// `exited`), each with one write, so a reader sees whole lines and at most
/// a partial last one, which it ignores; the newest whole line is the state.
/// Appending to one file made per program, instead of renaming a fresh
/// temporary over it at each state, spares the directory two renames and
/// an inode freed per program: on ext4 without a journal, every inode freed
/// in the last minute or more is skipped, one block lookup each, by the
/// next file created, which with hundreds of programs a second cost the
/// shims a quarter of their time. No fsync: the file outlives the node, not the
/// machine (whose crash ends the program too), and an fsync per write cost
/// about 10 ms of every task's start and end.
class status_file {
public:
  explicit status_file(const std::string& path)
    : fd_(::open(path.c_str(),
                 O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644)) {
    // nop
  }

  status_file(const status_file&) = delete;
  status_file& operator=(const status_file&) = delete;

  ~status_file() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  bool is_open() const {
    return fd_ >= 0;
  }

  /// Appends one line; false when the file could not be written.
  bool append(const std::string& line) {
    return fd_ >= 0
           && ::write(fd_, line.data(), line.size())
                == static_cast<ssize_t>(line.size());
  }

private:
  int fd_;
};

std::string status_json(const char* state, pid_t shim,
                        unsigned long long shim_start, pid_t child,
                        int64_t started, int64_t ended = 0, int code = -1,
                        int sig = 0) {
  auto result = std::string{"{\"state\":\""} + state + "\",\"shim_pid\":"
                + std::to_string(shim) + ",\"shim_start\":"
                + std::to_string(shim_start) + ",\"pid\":"
                + std::to_string(child) + ",\"started_ms\":"
                + std::to_string(started);
  if (ended != 0)
    result += ",\"ended_ms\":" + std::to_string(ended) + ",\"exit_code\":"
              + std::to_string(code) + ",\"signal\":" + std::to_string(sig);
  return result + "}\n";
}

/// The signals the shim handles: blocked at all times and taken with
/// sigwaitinfo (no handler, no window between a check and a wait).
sigset_t handled_signals() {
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    sigaddset(&handled, sig);
  return handled;
}

/// Drops the handled signals that are pending: they were meant for a
/// program that has ended.
void drop_pending(const sigset_t& handled) {
  timespec zero{0, 0};
  while (::sigtimedwait(&handled, nullptr, &zero) > 0) {
    // nop
  }
}

/// The shim's identity, as the status file and the node name it.
struct identity {
  pid_t pid = 0;
  unsigned long long start = 0;
};

/// How one program went.
struct run_result {
  /// Why it could not start at all (the shim's fault, not the program's).
  std::string error;
  pid_t pid = 0;
  int exit_code = -1;
  int signal = 0;
};

/// Returns the file `program` names on `path` (a PATH value; execvp's
/// default when null), as execvp would run it; empty when there is none.
std::string resolve(const std::string& program, const char* path) {
  if (program.find('/') != std::string::npos)
    return program;
  std::string dirs = path != nullptr ? path : "/bin:/usr/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    auto end = dirs.find(':', pos);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(pos, end - pos);
    auto candidate = (dir.empty() ? std::string{"."} : dir) + "/" + program;
    struct stat info = {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode)
        && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = end + 1;
  }
  return {};
}

/// Starts `j` (its `args` and `envp` as execve takes them) with
/// posix_spawn: its own process group, `mask`, stdin from /dev/null,
/// stdout and stderr to `log`, in its directory. Returns the
/// pid, or 0 when the program or the directory is not there (or the spawn
/// failed): the caller then forks, and the child says what is wrong.
pid_t spawn(const job& j, int log, const sigset_t& mask,
            const std::vector<char*>& args, const std::vector<char*>& envp) {
  const char* path = nullptr;
  if (j.own_env) {
    path = ::getenv("PATH");
  } else {
    for (auto& e : j.env)
      if (e.compare(0, 5, "PATH=") == 0)
        path = e.c_str() + 5;
  }
  auto program = resolve(j.argv.front(), path);
  if (program.empty())
    return 0;
  if (!j.cwd.empty()) {
    struct stat info = {};
    if (::stat(j.cwd.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)
        || ::access(j.cwd.c_str(), X_OK) != 0)
      return 0;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
  if (!j.cwd.empty())
    ::posix_spawn_file_actions_addchdir_np(&actions, j.cwd.c_str());
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setsigmask(&attr, &mask);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP
                                      | POSIX_SPAWN_SETSIGMASK);
  pid_t child = 0;
  auto rc = ::posix_spawn(&child, program.c_str(), &actions, &attr,
                          args.data(), j.own_env ? environ : envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  return rc == 0 ? child : 0;
}

/// Runs `j` to its end: a process group of its own, output appended to the
/// log, status file kept. `on_start(child, offset)` is called once the
/// status file
/// says running. `mask` is the signal mask the program gets.
template <class OnStart>
run_result run_program(const job& j, const identity& self,
                       const sigset_t& mask, OnStart on_start) {
  run_result result;
  int log = ::open(j.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0644);
  if (log < 0) {
    result.error = "cannot open log " + j.log + ": " + std::strerror(errno);
    return result;
  }
  status_file status{j.status};
  if (!status.is_open()) {
    result.error = "cannot open status file " + j.status + ": "
                   + std::strerror(errno);
    ::close(log);
    return result;
  }
  // Where this program's output begins in the log.
  struct stat info = {};
  uint64_t offset = ::fstat(log, &info) == 0
                      ? static_cast<uint64_t>(info.st_size)
                      : 0;
  std::vector<char*> args;
  for (auto& a : j.argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : j.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  auto handled = handled_signals();
  // posix_spawn when the program and directory are there (glibc spawns
  // with CLONE_VM|CLONE_VFORK: no copy of the shim's page tables, no
  // copy-on-write faults after it); fork otherwise, whose child reports
  // what is wrong in the log and with its exit code.
  pid_t child = spawn(j, log, mask, args, envp);
  if (child <= 0)
    child = ::fork();
  if (child < 0) {
    result.error = std::string{"fork failed: "} + std::strerror(errno);
    ::close(log);
    return result;
  }
  if (child == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0 && null != STDIN_FILENO) {
      ::dup2(null, STDIN_FILENO);
      ::close(null);
    }
    if (!j.cwd.empty() && ::chdir(j.cwd.c_str()) != 0) {
      static const char msg[] = "cw-shim: cannot enter the working directory\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      ::_exit(126);
    }
    // execvp looks the program up on the PATH of `environ`: the program's.
    if (!j.own_env)
      environ = envp.data();
    ::execvp(args[0], args.data());
    static const char msg[] = "cw-shim: program not found or not executable\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::close(log);
  result.pid = child;
  // Also from the parent: the group exists before anyone signals it.
  ::setpgid(child, child);
  auto started = now_ms();
  status.append(
    status_json("running", self.pid, self.start, child, started));
  on_start(child, offset);
  int wstatus = 0;
  for (;;) {
    auto r = ::waitpid(child, &wstatus, WNOHANG);
    if (r == child || (r < 0 && errno != EINTR))
      break;
    siginfo_t info;
    auto sig = ::sigwaitinfo(&handled, &info);
    if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
      ::kill(-child, SIGTERM);
  }
  if (WIFEXITED(wstatus))
    result.exit_code = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    result.signal = WTERMSIG(wstatus);
  status.append(status_json("exited", self.pid, self.start, child, started,
                            now_ms(), result.exit_code, result.signal));
  return result;
}

/// Splits a `run` payload into a job; false when it is malformed.
bool parse_job(const std::string& payload, job& j) {
  std::vector<std::string> fields;
  size_t pos = 0;
  while (pos < payload.size()) {
    auto end = payload.find('\0', pos);
    if (end == std::string::npos)
      end = payload.size();
    fields.emplace_back(payload, pos, end - pos);
    pos = end + 1;
  }
  if (fields.size() < 5)
    return false;
  j.log = fields[0];
  j.status = fields[1];
  j.cwd = fields[2];
  char* end = nullptr;
  auto argc = std::strtoul(fields[3].c_str(), &end, 10);
  if (end == fields[3].c_str() || *end != '\0' || argc == 0
      || argc > fields.size() - 4)
    return false;
  j.argv.assign(fields.begin() + 4, fields.begin() + 4 + argc);
  j.env.assign(fields.begin() + 4 + argc, fields.end());
  j.own_env = false;
  return !j.log.empty() && !j.status.empty() && !j.argv.front().empty();
}

/// Reads commands from stdin and runs them one at a time, reporting on
/// stdout, until stdin ends. Returns the shim's exit code.
int serve(const identity& self, const sigset_t& mask) {
  auto handled = handled_signals();
  std::string buf;
  char chunk[65536];
  for (;;) {
    // A whole command: "run N\n" and N bytes.
    auto nl = buf.find('\n');
    if (nl != std::string::npos) {
      if (buf.compare(0, 4, "run ") != 0) {
        std::fprintf(stderr, "cw-shim: unknown command: %s\n",
                     buf.substr(0, nl).c_str());
        return 2;
      }
      auto size = std::strtoull(buf.c_str() + 4, nullptr, 10);
      if (buf.size() >= nl + 1 + size) {
        job j;
        auto ok = parse_job(buf.substr(nl + 1, size), j);
        buf.erase(0, nl + 1 + size);
        if (!ok) {
          write_all(STDOUT_FILENO, "fail malformed run command\n");
          continue;
        }
        drop_pending(handled);
        auto result = run_program(j, self, mask,
                                  [&](pid_t child, uint64_t offset) {
          write_all(STDOUT_FILENO, "start " + std::to_string(child) + " "
                                     + std::to_string(self.pid) + " "
                                     + std::to_string(self.start) + " "
                                     + std::to_string(offset) + "\n");
        });
        if (!result.error.empty())
          write_all(STDOUT_FILENO, "fail " + result.error + "\n");
        else
          write_all(STDOUT_FILENO, "exit " + std::to_string(result.pid) + " "
                                     + std::to_string(result.exit_code)
                                     + " " + std::to_string(result.signal)
                                     + "\n");
        continue;
      }
    }
    auto n = ::read(STDIN_FILENO, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 0;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

} // namespace

int main(int argc, char** argv) {
  job j;
  int ready_fd = -1;
  bool serving = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--serve") {
      serving = true;
      continue;
    }
    if (i + 1 >= argc)
      return usage(("missing value after " + arg).c_str());
    if (arg == "--log")
      j.log = argv[++i];
    else if (arg == "--status")
      j.status = argv[++i];
    else if (arg == "--cwd")
      j.cwd = argv[++i];
    else if (arg == "--ready-fd")
      ready_fd = std::atoi(argv[++i]);
    else
      return usage(("unknown option " + arg).c_str());
  }
  for (; i < argc; ++i)
    j.argv.emplace_back(argv[i]);
  if (serving && (!j.log.empty() || !j.status.empty() || !j.argv.empty()))
    return usage("--serve takes its programs from stdin, not arguments");
  if (!serving) {
    if (j.log.empty())
      return usage("--log is required");
    if (j.status.empty())
      return usage("--status is required");
    if (j.argv.empty() || j.argv.front().empty())
      return usage("a program to run is required after --");
  }
  // Out of the node's session and process group: signals to the node's
  // group and the node's death do not reach the shim.
  ::setsid();
  auto handled = handled_signals();
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &handled, &previous);
  // A node gone before a report is written must not kill the shim: with
  // SIGPIPE blocked the write fails with EPIPE instead. The program gets
  // the caller's mask back.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &pipe, nullptr);
  identity self{::getpid(), own_start_ticks()};
  if (serving)
    return serve(self, previous);
  auto result = run_program(j, self, previous, [&](pid_t child, uint64_t) {
    if (ready_fd < 0)
      return;
    write_all(ready_fd, std::to_string(child) + " " + std::to_string(self.pid)
                          + " " + std::to_string(self.start) + "\n");
    // Nothing else goes there: a reader that went away cannot hurt later.
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, ready_fd);
      ::close(null);
    } else {
      ::close(ready_fd);
    }
  });
  if (!result.error.empty()) {
    std::fprintf(stderr, "cw-shim: %s\n", result.error.c_str());
    return 125;
  }
  return result.signal != 0 ? 128 + result.signal : result.exit_code;
}
