#pragma once

// Real cw-node and cw processes for integration tests (Boost.Process).

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <iostream>
#include <signal.h>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <algorithm>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/env.hpp>
#include <boost/process/environment.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/io.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/pipe.hpp>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caf/test/unit_test.hpp"

#include "tests/support/paths.hpp"
#include "tests/support/waiter.hpp"

namespace cw::test {

/// Boost.Process initializer: the child is killed when the test process
/// dies (a crash, ctest's timeout), so no cw-node outlives a failed test.
inline auto dies_with_test() {
  return boost::process::extend::on_exec_setup = [](auto&) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  };
}

/// Returns the contents of a file, empty when it does not exist.
inline std::string slurp(const std::string& path) {
  std::ifstream in{path};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Waits at most `timeout` for `c` to end; returns whether it did. When
/// the time is up the child is killed (and reaped) before returning false.
/// A blocking `wait()` on a helper thread, not `child::wait_for`: in Boost
/// 1.81 that one can miss an early SIGCHLD and sleep through its timeout.
inline bool wait_exit(boost::process::child& c,
                      std::chrono::milliseconds timeout) {
  waiter<bool> ended;
  std::thread reaper{[&] {
    std::error_code ec;
    c.wait(ec);
    ended.set(true);
  }};
  auto done = ended.wait(timeout).has_value();
  if (!done) {
    std::error_code ec;
    c.terminate(ec); // makes the blocking wait return
  }
  reaper.join();
  return done;
}

/// Waits (at most `timeout`) for process `pid` to end, on a pidfd: it
/// becomes readable when the process exits, child of ours or not, reaped or
/// not. Returns whether it ended. A signal that interrupts the wait resumes
/// it with the time left. Why a wait failed goes to stderr.
inline bool await_end(pid_t pid, std::chrono::milliseconds timeout) {
  if (pid <= 0) {
    std::cerr << "await_end: no such process: " << pid << "\n";
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    if (errno == ESRCH)
      return true; // already gone
    std::cerr << "await_end(" << pid << "): pidfd_open: "
              << std::strerror(errno) << "\n";
    return false;
  }
  int rc;
  do {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    rc = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
  } while (rc < 0 && errno == EINTR);
  if (rc != 1)
    std::cerr << "await_end(" << pid << "): "
              << (rc == 0 ? "still running at the timeout" : std::strerror(errno))
              << "\n";
  ::close(fd);
  return rc == 1;
}

/// A real cw-node process on a free loopback port; stopped (SIGTERM) or
/// killed (SIGKILL) by the test, terminated on destruction otherwise.
/// This process's environment with `overrides` set.
inline boost::process::environment
environment_with(const std::map<std::string, std::string>& overrides) {
  boost::process::environment result = boost::this_process::environment();
  for (auto& [name, value] : overrides)
    result[name] = value;
  return result;
}

class node_process {
public:
  /// Starts cw-node on `data_dir` with `extra` arguments; `env` overrides
  /// variables of its environment.
  explicit node_process(const std::string& data_dir,
                        std::vector<std::string> extra = {},
                        const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args{"--data-dir", data_dir, "--api",
                                  "127.0.0.1:0", "--log-level", "warn"};
    // Two agents unless the test asks for a number.
    if (std::find(extra.begin(), extra.end(), "--agents") == extra.end())
      args.insert(args.end(), {"--agents", "2"});
    args.insert(args.end(), extra.begin(), extra.end());
    child_ = boost::process::child{boost::process::exe = CW_NODE_BIN,
                                   boost::process::args = args,
                                   boost::process::std_out > out_,
                                   boost::process::std_err > stderr,
                                   environment_with(env), dies_with_test()};
    // The first line names the address; reading it waits for start-up.
    std::string line;
    std::getline(out_, line);
    auto pos = line.find("http://");
    CAF_REQUIRE(pos != std::string::npos);
    url_ = line.substr(pos, line.find(' ', pos) - pos);
  }

  ~node_process() {
    if (child_.running())
      child_.terminate();
  }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// Returns `http://127.0.0.1:PORT`.
  const std::string& url() const {
    return url_;
  }

  /// Sends SIGTERM and returns the exit code.
  int stop() {
    return signal_and_wait(SIGTERM);
  }

  /// Sends SIGKILL and waits until the process is gone.
  void kill() {
    signal_and_wait(SIGKILL);
  }

private:
  int signal_and_wait(int sig) {
    ::kill(child_.id(), sig);
    if (!wait_exit(child_, std::chrono::seconds(30))) {
      CAF_FAIL("cw-node did not end within 30 s of signal " << sig);
    }
    return child_.exit_code();
  }

  boost::process::ipstream out_;
  boost::process::child child_;
  std::string url_;
};

/// What a finished program printed, and how it ended.
struct cli_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// What a cw-node that ended by itself printed.
using node_run = cli_result;

/// Runs `program` with `args` until it exits (at most 60 s), collecting its
/// output in `dir` under `name`.out and `name`.err; `env` overrides
/// variables of its environment.
inline cli_result run_to_end(const std::string& program, const std::string& name,
                             const std::filesystem::path& dir,
                             std::vector<std::string> args,
                             const std::map<std::string, std::string>& env = {}) {
  auto out = (dir / (name + ".out")).string();
  auto err = (dir / (name + ".err")).string();
  // Boost.Process opens these without truncating.
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  boost::process::child c{boost::process::exe = program,
                          boost::process::args = args,
                          boost::process::std_out > out,
                          boost::process::std_err > err,
                          boost::process::std_in < boost::process::null,
                          environment_with(env), dies_with_test()};
  if (!wait_exit(c, std::chrono::seconds(60))) {
    CAF_FAIL(name << " did not exit within 60 s");
  }
  return {c.exit_code(), slurp(out), slurp(err)};
}

/// Runs the real `cw` binary with `args`, collecting output in `dir`.
inline cli_result run_cw(const std::filesystem::path& dir,
                         std::vector<std::string> args) {
  return run_to_end(CW_CLI_BIN, "cw", dir, std::move(args));
}

/// Runs cw-node with `args` until it exits (a refused start, `--check`),
/// collecting output in `dir`.
inline node_run run_node(const std::filesystem::path& dir,
                         std::vector<std::string> args,
                         const std::map<std::string, std::string>& env = {}) {
  return run_to_end(CW_NODE_BIN, "node", dir, std::move(args), env);
}

} // namespace cw::test
