#define CAF_SUITE integration.shim
#include "caf/test/unit_test.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using json = nlohmann::json;
namespace bp = boost::process;

namespace {

/// The whole lines of the status file `path`, one per state its shim
/// recorded (a last line without its newline is still being written).
std::vector<std::string> status_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in{test::slurp(path)};
  std::string line;
  while (std::getline(in, line))
    if (!in.eof())
      lines.push_back(line);
  return lines;
}

/// The state the status file `path` records last: its last whole line.
json last_state(const std::string& path) {
  auto lines = status_lines(path);
  if (lines.empty())
    return json{};
  auto j = json::parse(lines.back(), nullptr, false);
  return j.is_discarded() ? json{} : j;
}

struct fixture {
  test::temp_dir dir;
  std::string log = dir.file("task.log");
  std::string status = dir.file("task.status");

  std::vector<std::string> shim_args(std::vector<std::string> program) {
    std::vector<std::string> args{"--log", log, "--status", status, "--cwd",
                                  dir.path().string(), "--"};
    args.insert(args.end(), program.begin(), program.end());
    return args;
  }

  /// Runs the shim to its end; returns its exit code.
  int run_shim(std::vector<std::string> program) {
    bp::child c{bp::exe = CW_SHIM_BIN, bp::args = shim_args(std::move(program)),
                bp::std_in < bp::null};
    CAF_REQUIRE(test::wait_exit(c, std::chrono::seconds(30)));
    return c.exit_code();
  }

  json read_status() {
    return last_state(status);
  }

  /// Waits (at most 30 s) until the status file reports `state`. The shim
  /// appends each new state to the file in the directory, so every change
  /// is an inotify IN_MODIFY event there: the test blocks on those.
  json await_state(const std::string& state) {
    int fd = ::inotify_init1(IN_CLOEXEC);
    CAF_REQUIRE(fd >= 0);
    CAF_REQUIRE(::inotify_add_watch(fd, dir.path().c_str(), IN_MODIFY) >= 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      // Read after arming the watch: a change in between is not missed.
      auto j = read_status();
      if (j.is_object() && j.value("state", "") == state) {
        ::close(fd);
        return j;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      pollfd pfd{fd, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
        break;
      char buf[4096];
      [[maybe_unused]] auto n = ::read(fd, buf, sizeof(buf));
    }
    ::close(fd);
    CAF_FAIL("the status file never said " << state << ": "
                                           << test::slurp(status));
  }

  /// Returns the processes of group `pgid` that are not zombies (an
  /// orphaned zombie waits for init, which may never reap it here).
  static std::vector<pid_t> live_in_group(int64_t pgid) {
    std::vector<pid_t> result;
    for (auto& entry : std::filesystem::directory_iterator{"/proc"}) {
      auto stat = test::slurp((entry.path() / "stat").string());
      auto close = stat.rfind(')');
      if (close == std::string::npos)
        continue;
      std::istringstream rest{stat.substr(close + 2)};
      char state = 0;
      int64_t ppid = 0;
      int64_t pgrp = 0;
      rest >> state >> ppid >> pgrp;
      if (pgrp == pgid && state != 'Z')
        result.push_back(static_cast<pid_t>(std::stol(entry.path().filename())));
    }
    return result;
  }

  static bool alive(int64_t pid) {
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
  }
};

/// A `cw-shim --serve` fed and read over pipes, as the launcher does over
/// a socket.
struct server {
  bp::opstream in;
  bp::ipstream out;
  bp::child c{bp::exe = CW_SHIM_BIN, bp::args = {"--serve"}, bp::std_in < in,
              bp::std_out > out, test::dies_with_test()};

  /// Sends one program: its log, status file, directory, argv and the
  /// whole environment.
  void run(const std::string& log, const std::string& status,
           const std::string& cwd, std::vector<std::string> argv,
           std::vector<std::string> env) {
    std::string payload = log + '\0' + status + '\0' + cwd + '\0'
                          + std::to_string(argv.size());
    for (auto& f : argv)
      payload += '\0' + f;
    for (auto& f : env)
      payload += '\0' + f;
    send("run " + std::to_string(payload.size()) + "\n" + payload);
  }

  void send(const std::string& bytes) {
    in << bytes;
    in.flush();
  }

  /// The next report line, split into words.
  std::vector<std::string> report() {
    std::string line;
    std::getline(out, line);
    std::istringstream words{line};
    std::vector<std::string> result;
    for (std::string w; words >> w;)
      result.push_back(w);
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(shim_tests, fixture)

CAF_TEST(the shim logs both streams and records the exit status) {
  auto rc = run_shim({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CAF_CHECK_EQUAL(rc, 3);
  CAF_CHECK_EQUAL(test::slurp(log), "out\nerr\n");
  auto j = read_status();
  CAF_CHECK_EQUAL(j["state"], "exited");
  CAF_CHECK_EQUAL(j["exit_code"], 3);
  CAF_CHECK_EQUAL(j["signal"], 0);
  CAF_CHECK_GREATER(j["pid"].get<int64_t>(), 0);
  CAF_CHECK_GREATER_OR_EQUAL(j["ended_ms"].get<int64_t>(),
                             j["started_ms"].get<int64_t>());
  // One line per state, appended to one file: running, then exited.
  auto lines = status_lines(status);
  CAF_REQUIRE_EQUAL(lines.size(), 2u);
  auto first = json::parse(lines.front(), nullptr, false);
  CAF_CHECK_EQUAL(first.value("state", ""), "running");
  CAF_CHECK_EQUAL(first.value("pid", int64_t{0}), j["pid"].get<int64_t>());
}

CAF_TEST(a program that cannot run ends with 127 and a line in the log) {
  auto rc = run_shim({"no-such-program-cw"});
  CAF_CHECK_EQUAL(rc, 127);
  auto j = read_status();
  CAF_CHECK_EQUAL(j["exit_code"], 127);
  CAF_CHECK(test::slurp(log).find("program not found") != std::string::npos);
}

CAF_TEST(the program starts in its directory and group with the callers mask) {
  // posix_spawn attributes and file actions (or the fork fallback) must give
  // the program the same start: cwd, stdin from /dev/null, a process group
  // of its own, and the signal mask the shim was started with (the shim
  // blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD for itself).
  auto rc = run_shim(
    {"sh", "-c",
     "pwd; read -r pid comm state ppid pgrp rest < /proc/$$/stat; "
     "echo \"$pgrp $$\"; grep SigBlk /proc/$$/status; cat; echo end"});
  CAF_CHECK_EQUAL(rc, 0);
  std::istringstream out{test::slurp(log)};
  std::string cwd;
  std::getline(out, cwd);
  CAF_CHECK_EQUAL(std::filesystem::path{cwd},
                  std::filesystem::canonical(dir.path()));
  int64_t pgrp = 0;
  int64_t pid = 0;
  out >> pgrp >> pid;
  CAF_CHECK_GREATER(pid, 0);
  CAF_CHECK_EQUAL(pgrp, pid);
  std::string blocked;
  out >> blocked >> blocked;
  auto own = test::slurp("/proc/thread-self/status");
  auto at = own.find("SigBlk:");
  CAF_REQUIRE(at != std::string::npos);
  std::istringstream own_line{own.substr(at + 7)};
  std::string own_blocked;
  own_line >> own_blocked;
  CAF_CHECK_EQUAL(blocked, own_blocked);
  std::string end;
  out >> end;
  CAF_CHECK_EQUAL(end, "end"); // cat met the end of /dev/null at once
}

CAF_TEST(a directory that cannot be entered ends with 126 and a line in the log) {
  auto args = shim_args({"true"});
  args[5] = dir.file("no-such-dir");
  bp::child c{bp::exe = CW_SHIM_BIN, bp::args = args, bp::std_in < bp::null};
  CAF_REQUIRE(test::wait_exit(c, std::chrono::seconds(30)));
  CAF_CHECK_EQUAL(c.exit_code(), 126);
  auto j = read_status();
  CAF_CHECK_EQUAL(j["exit_code"], 126);
  CAF_CHECK(test::slurp(log).find("cannot enter the working directory")
            != std::string::npos);
}

CAF_TEST(sigterm to the shim stops the whole process group of the program) {
  bp::child c{bp::exe = CW_SHIM_BIN,
              bp::args = shim_args({"sh", "-c", "sleep 30 & sleep 30; wait"}),
              bp::std_in < bp::null};
  auto running = await_state("running");
  auto pgid = running["pid"].get<int64_t>();
  CAF_CHECK_NOT_EQUAL(pgid, static_cast<int64_t>(c.id()));
  ::kill(c.id(), SIGTERM);
  CAF_REQUIRE(test::wait_exit(c, std::chrono::seconds(20)));
  auto ended = read_status();
  CAF_CHECK_EQUAL(ended["state"], "exited");
  CAF_CHECK_EQUAL(ended["signal"], SIGTERM);
  CAF_CHECK_EQUAL(c.exit_code(), 128 + SIGTERM);
  // Both sleeps were in the group and got the signal: each ends within
  // 5 s (without the signal they would run for 30 s).
  for (auto pid : live_in_group(pgid))
    CAF_CHECK(test::await_end(pid, std::chrono::seconds(5)));
}

CAF_TEST(the shim outlives the process that started it) {
  auto go = dir.file("GO");
  auto pid_file = dir.file("shim.pid");
  auto script = std::string{CW_SHIM_BIN} + " --log " + log + " --status "
                + status + " -- sh -c 'i=0; while [ ! -f " + go
                + " ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; "
                  "echo done' & echo $! > " + pid_file;
  bp::child parent{bp::exe = "/bin/sh", bp::args = {"-c", script},
                   bp::std_in < bp::null};
  CAF_REQUIRE(test::wait_exit(parent, std::chrono::seconds(10)));
  CAF_CHECK_EQUAL(parent.exit_code(), 0);
  auto running = await_state("running");
  auto shim_pid = std::stoll(test::slurp(pid_file));
  CAF_CHECK_EQUAL(running["shim_pid"].get<int64_t>(), shim_pid);
  CAF_CHECK(alive(shim_pid));
  std::ofstream{go} << "go";
  auto ended = await_state("exited");
  CAF_CHECK_EQUAL(ended["exit_code"], 0);
  CAF_CHECK_EQUAL(test::slurp(log), "done\n");
}

CAF_TEST(a serving shim runs programs one after another each with its own files) {
  server s;
  auto script = "echo \"$WHO in $(pwd)\"; "
                "read -r pid comm state ppid pgrp rest < /proc/$$/stat; "
                "echo \"$pgrp $$\"; exit $CODE";
  std::vector<std::vector<std::string>> starts;
  for (auto [who, code] : {std::pair{"one", "4"}, std::pair{"two", "0"}}) {
    s.run(dir.file(std::string{who} + ".log"),
          dir.file(std::string{who} + ".status"), dir.path().string(),
          {"sh", "-c", script},
          {"PATH=/usr/bin:/bin", std::string{"WHO="} + who,
           std::string{"CODE="} + code});
    auto start = s.report();
    CAF_REQUIRE_EQUAL(start.size(), 5u);
    CAF_CHECK_EQUAL(start[0], "start");
    CAF_CHECK_EQUAL(std::stoll(start[2]), static_cast<int64_t>(s.c.id()));
    auto exit = s.report();
    CAF_CHECK_EQUAL(exit, (std::vector<std::string>{"exit", start[1], code, "0"}));
    starts.push_back(start);
    // The program ran in its directory, group and environment, and the
    // status file names the same shim and program.
    std::istringstream out{test::slurp(dir.file(std::string{who} + ".log"))};
    std::string line;
    std::getline(out, line);
    CAF_CHECK_EQUAL(line, std::string{who} + " in "
                            + std::filesystem::canonical(dir.path()).string());
    int64_t pgrp = 0;
    int64_t pid = 0;
    out >> pgrp >> pid;
    CAF_CHECK_EQUAL(pgrp, pid);
    CAF_CHECK_EQUAL(std::to_string(pid), start[1]);
    auto status = last_state(dir.file(std::string{who} + ".status"));
    CAF_CHECK_EQUAL(status["state"], "exited");
    CAF_CHECK_EQUAL(std::to_string(status["pid"].get<int64_t>()), start[1]);
    CAF_CHECK_EQUAL(std::to_string(status["exit_code"].get<int>()), code);
  }
  CAF_CHECK_NOT_EQUAL(starts[0][1], starts[1][1]);
  CAF_CHECK_EQUAL(starts[0][3], starts[1][3]);
  s.in.pipe().close();
  CAF_REQUIRE(test::wait_exit(s.c, std::chrono::seconds(10)));
  CAF_CHECK_EQUAL(s.c.exit_code(), 0);
}

CAF_TEST(a serving shim lets its program finish when its input ends) {
  // The node died: the shim's input ends while a program runs. The program
  // goes on, its exit is recorded, then the shim leaves.
  server s;
  auto go = dir.file("GO");
  s.run(log, status, dir.path().string(),
        // Bounded (30 s), so that a failed test leaves nothing spinning.
        {"sh", "-c", "i=0; while [ ! -f " + go + " ] && [ $i -lt 1500 ]; do "
                     "sleep 0.02; i=$((i+1)); done; echo done"},
        {"PATH=/usr/bin:/bin"});
  auto start = s.report();
  CAF_REQUIRE_EQUAL(start.size(), 5u);
  s.in.pipe().close();
  CAF_CHECK(alive(std::stoll(start[1])));
  auto running = read_status();
  CAF_CHECK_EQUAL(running["state"], "running");
  std::ofstream{go} << "go";
  CAF_REQUIRE(test::wait_exit(s.c, std::chrono::seconds(20)));
  CAF_CHECK_EQUAL(s.c.exit_code(), 0);
  auto ended = read_status();
  CAF_CHECK_EQUAL(ended["state"], "exited");
  CAF_CHECK_EQUAL(ended["exit_code"], 0);
  CAF_CHECK_EQUAL(test::slurp(log), "done\n");
}

CAF_TEST(a signal sent to an idle serving shim does not reach the next program) {
  // A SIGTERM meant for a program that has just ended must not stop the
  // next one.
  server s;
  s.run(log, status, "", {"true"}, {"PATH=/usr/bin:/bin"});
  CAF_REQUIRE_EQUAL(s.report().size(), 5u);
  CAF_REQUIRE_EQUAL(s.report().size(), 4u); // exit
  CAF_REQUIRE_EQUAL(::kill(s.c.id(), SIGTERM), 0);
  s.run(log, status, "", {"sh", "-c", "sleep 0.3; echo survived"},
        {"PATH=/usr/bin:/bin"});
  auto start = s.report();
  CAF_REQUIRE_EQUAL(start.size(), 5u);
  CAF_CHECK_EQUAL(s.report(), (std::vector<std::string>{"exit", start[1], "0", "0"}));
  CAF_CHECK_EQUAL(test::slurp(log), "survived\n");
}

CAF_TEST(a serving shim refuses a malformed command and serves on) {
  server s;
  s.send("run 5\nabcde");
  CAF_CHECK_EQUAL(s.report(),
                  (std::vector<std::string>{"fail", "malformed", "run", "command"}));
  s.run(dir.file("no-such-dir/x.log"), status, "", {"true"}, {});
  auto fail = s.report();
  CAF_REQUIRE_GREATER_OR_EQUAL(fail.size(), 2u);
  CAF_CHECK_EQUAL(fail[0], "fail");
  CAF_CHECK_EQUAL(fail[1], "cannot");
  s.run(log, status, "", {"true"}, {"PATH=/usr/bin:/bin"});
  auto start = s.report();
  auto exit = s.report();
  CAF_REQUIRE(!start.empty() && !exit.empty());
  CAF_CHECK_EQUAL(start[0], "start");
  CAF_CHECK_EQUAL(exit[0], "exit");
}

CAF_TEST(bad arguments are refused naming the problem) {
  bp::ipstream err;
  bp::child c{bp::exe = CW_SHIM_BIN, bp::args = {"--log", log, "--", "true"},
              bp::std_err > err, bp::std_in < bp::null};
  std::string line;
  std::getline(err, line);
  CAF_REQUIRE(test::wait_exit(c, std::chrono::seconds(10)));
  CAF_CHECK_EQUAL(c.exit_code(), 2);
  CAF_CHECK_EQUAL(line, "cw-shim: --status is required");
}

CAF_TEST_FIXTURE_SCOPE_END()
