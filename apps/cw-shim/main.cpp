// cw-shim: owns one agent process so that it outlives the node.
//
//   cw-shim --log FILE --status FILE [--cwd DIR] [--ready-fd FD]
//           -- PROGRAM ARGS...
//
// The shim leaves the node's session (setsid), starts PROGRAM in a process
// group of its own with stdout and stderr appended to FILE, and keeps a
// status file up to date, replaced atomically (write a temporary, rename):
//   {"state":"running","shim_pid":P,"shim_start":K,"pid":C,"started_ms":T}
//   {"state":"exited","shim_pid":P,"shim_start":K,"pid":C,"started_ms":T,
//    "ended_ms":E,"exit_code":X,"signal":S}
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

struct options {
  std::string log;
  std::string status;
  std::string cwd;
  int ready_fd = -1;
  std::vector<std::string> argv;
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
               "[--cwd DIR] -- PROGRAM ARGS...\n",
               why);
  return 2;
}

/// Writes `text` to `path` atomically: a temporary file, then rename.
/// Readers see the old or the new text, never a mix. No fsync: the file
/// outlives the node, not the machine (whose crash ends the program too),
/// and an fsync per write cost about 10 ms of every task's start and end.
bool write_status(const std::string& path, const std::string& text) {
  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return false;
  auto ok = ::write(fd, text.data(), text.size())
            == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

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

} // namespace

int main(int argc, char** argv) {
  options opts;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc)
      return usage(("missing value after " + arg).c_str());
    if (arg == "--log")
      opts.log = argv[++i];
    else if (arg == "--status")
      opts.status = argv[++i];
    else if (arg == "--cwd")
      opts.cwd = argv[++i];
    else if (arg == "--ready-fd")
      opts.ready_fd = std::atoi(argv[++i]);
    else
      return usage(("unknown option " + arg).c_str());
  }
  for (; i < argc; ++i)
    opts.argv.emplace_back(argv[i]);
  if (opts.log.empty())
    return usage("--log is required");
  if (opts.status.empty())
    return usage("--status is required");
  if (opts.argv.empty() || opts.argv.front().empty())
    return usage("a program to run is required after --");
  // Out of the node's session and process group: signals to the node's
  // group and the node's death do not reach the shim.
  ::setsid();
  int log = ::open(opts.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0644);
  if (log < 0) {
    std::fprintf(stderr, "cw-shim: cannot open log %s: %s\n", opts.log.c_str(),
                 std::strerror(errno));
    return 125;
  }
  std::vector<char*> args;
  for (auto& a : opts.argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  // The signals the shim handles stay blocked and are taken with
  // sigwaitinfo: no handler, no window between a check and a wait.
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD})
    sigaddset(&handled, sig);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &handled, &previous);
  // A node gone before the ready line is written must not kill the shim:
  // with SIGPIPE blocked the write fails with EPIPE instead. The program
  // gets the node's mask back.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &pipe, nullptr);
  auto cwd = opts.cwd;
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "cw-shim: fork failed: %s\n", std::strerror(errno));
    return 125;
  }
  if (child == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0 && null != STDIN_FILENO) {
      ::dup2(null, STDIN_FILENO);
      ::close(null);
    }
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      static const char msg[] = "cw-shim: cannot enter the working directory\n";
      [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
      ::_exit(126);
    }
    ::execvp(args[0], args.data());
    static const char msg[] = "cw-shim: program not found or not executable\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  // Also from the parent: the group exists before anyone signals it.
  ::setpgid(child, child);
  auto self = ::getpid();
  auto self_start = own_start_ticks();
  auto started = now_ms();
  write_status(opts.status,
               status_json("running", self, self_start, child, started));
  if (opts.ready_fd >= 0) {
    auto line = std::to_string(child) + " " + std::to_string(self) + " "
                + std::to_string(self_start) + "\n";
    [[maybe_unused]] auto n = ::write(opts.ready_fd, line.data(), line.size());
    // Nothing else goes there: a reader that went away cannot hurt later.
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) {
      ::dup2(null, opts.ready_fd);
      ::close(null);
    } else {
      ::close(opts.ready_fd);
    }
  }
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
  int code = -1;
  int sig = 0;
  if (WIFEXITED(wstatus))
    code = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    sig = WTERMSIG(wstatus);
  write_status(opts.status, status_json("exited", self, self_start, child,
                                       started, now_ms(), code, sig));
  return sig != 0 ? 128 + sig : code;
}
