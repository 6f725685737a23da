#define CAF_SUITE integration.launcher
#include "caf/test/unit_test.hpp"

#include <fstream>
#include <sstream>
#include <thread>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/agent/agent.hpp"
#include "runtime/shim_launcher.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/waiter.hpp"

using namespace cw;
using namespace std::chrono_literals;

namespace {

using test::slurp;

/// Polls `pred` until it holds or 10 s passed; returns whether it held.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::yield();
  }
  return pred();
}

/// Returns whether `pid` exists and is not a zombie.
bool is_running(int pid) {
  auto stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size()
         && stat[paren + 2] != 'Z';
}

struct fixture {
  test::temp_dir dir;
  runtime::shim_launcher launcher{CW_SHIM_BIN};
  test::waiter<process_ref> started;
  test::waiter<task_outcome> ended;

  std::string status_file() {
    return dir.file("out.1.status");
  }

  /// What adoption looks by: the log and status files.
  actors::launch_request request() {
    actors::launch_request req;
    req.log_path = dir.file("out.log");
    req.status_path = status_file();
    return req;
  }

  void launch(std::vector<std::string> argv,
              std::map<std::string, std::string> env
              = actors::agent_environment(),
              std::chrono::milliseconds hung_after = 0ms) {
    launcher.launch({std::move(argv), dir.path().string(), dir.file("out.log"),
                     status_file(), std::move(env), hung_after},
                    [this](process_ref p) { started.set(p); },
                    [this](task_outcome x) { ended.set(std::move(x)); });
  }

  /// Another program's start and end, for tests that run several.
  struct attempt {
    test::waiter<process_ref> started;
    test::waiter<task_outcome> ended;
  };

  /// Launches `argv` with `via` (the fixture's launcher by default), its
  /// output in NAME.log and its status in NAME.status; `a` sees its start
  /// and end.
  void launch_as(attempt& a, const std::string& name,
                 std::vector<std::string> argv,
                 runtime::shim_launcher* via = nullptr) {
    (via != nullptr ? *via : launcher)
      .launch({std::move(argv), dir.path().string(), dir.file(name + ".log"),
               dir.file(name + ".status"), actors::agent_environment(), 0ms},
              [&a](process_ref p) { a.started.set(p); },
              [&a](task_outcome x) { a.ended.set(std::move(x)); });
  }

  /// The `running` line of a status file whose shim is gone: this process's
  /// pid with a start time it does not have.
  static std::string gone_shim_running_line() {
    return R"({"state":"running","shim_pid":)" + std::to_string(::getpid())
           + R"(,"shim_start":1,"pid":999999,"started_ms":1})" + "\n";
  }

  /// Adopts the attempt whose status file the test wrote and waits for its
  /// outcome.
  task_outcome adopt_from_status_file() {
    test::waiter<task_outcome> adopted_end;
    CAF_REQUIRE(launcher.adopt(process_ref{}, request(), [&](task_outcome x) {
      adopted_end.set(std::move(x));
    }));
    auto x = adopted_end.wait(30s);
    CAF_REQUIRE(x.has_value());
    return *x;
  }

  task_outcome outcome() {
    auto res = ended.wait(30s);
    CAF_REQUIRE(res.has_value());
    return *res;
  }

  /// Makes a FIFO the program blocks on until `release` opens it.
  std::string make_gate() {
    auto path = dir.file("gate");
    CAF_REQUIRE_EQUAL(::mkfifo(path.c_str(), 0600), 0);
    return path;
  }

  void release(const std::string& gate) {
    std::ofstream{gate} << "go\n";
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(launcher_tests, fixture)

CAF_TEST(output goes to the log file and exit code zero completes) {
  launch({"sh", "-c", "echo to-stdout; echo to-stderr >&2; pwd"});
  auto x = outcome();
  CAF_CHECK(x.status == task_status::completed);
  CAF_CHECK_EQUAL(x.exit_code, 0);
  CAF_CHECK(started.wait(0ms).has_value());
  auto log = slurp(dir.file("out.log"));
  CAF_CHECK(log.find("to-stdout") != std::string::npos);
  CAF_CHECK(log.find("to-stderr") != std::string::npos);
  CAF_CHECK(log.find(dir.path().string()) != std::string::npos);
}

CAF_TEST(a non zero exit fails with the code) {
  launch({"sh", "-c", "exit 7"});
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK_EQUAL(x.exit_code, 7);
  CAF_CHECK_EQUAL(x.reason, "exit code 7");
}

CAF_TEST(a missing program fails without starting) {
  launch({"cw-no-such-program-anywhere"});
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK_EQUAL(x.reason, "program not found: cw-no-such-program-anywhere");
  CAF_CHECK(!started.wait(0ms).has_value());
}

CAF_TEST(a path that is not executable fails without starting) {
  launch({"/no/such/path/prog"});
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK(x.reason.rfind("cannot execute /no/such/path/prog", 0) == 0);
}

CAF_TEST(arguments reach the program unchanged without a shell) {
  launch({"printf", "%s|", "a b", "$HOME", "*", "'q'"});
  CAF_CHECK(outcome().status == task_status::completed);
  CAF_CHECK_EQUAL(slurp(dir.file("out.log")), "a b|$HOME|*|'q'|");
}

CAF_TEST(the process gets only the environment it is given) {
  ::setenv("CW_LAUNCHER_SECRET", "leak", 1);
  launch({"sh", "-c", "echo \"[$CW_LAUNCHER_SECRET][$ONLY]\""},
         {{"PATH", "/usr/bin:/bin"}, {"ONLY", "me"}});
  CAF_CHECK(outcome().status == task_status::completed);
  CAF_CHECK_EQUAL(slurp(dir.file("out.log")), "[][me]\n");
}

CAF_TEST(no descriptor of the parent leaks into the process) {
  // An fd without CLOEXEC, as a careless library might leave one.
  int leaky = ::dup(2);
  CAF_REQUIRE(leaky > 2);
  launch({"ls", "-1", "/proc/self/fd"});
  CAF_CHECK(outcome().status == task_status::completed);
  ::close(leaky);
  // 0, 1, 2, and the directory ls itself opened to list them.
  CAF_CHECK_EQUAL(slurp(dir.file("out.log")), "0\n1\n2\n3\n");
}

CAF_TEST(terminate stops the whole process group) {
  // The shell starts a grandchild that would outlive a plain kill(pid).
  launch({"sh", "-c", "sleep 60 & echo $! > grandchild.pid; wait"});
  auto pid = started.wait(30s);
  CAF_REQUIRE(pid.has_value());
  // Wait until the grandchild exists (its pid file is written).
  std::string grandchild;
  CAF_REQUIRE(eventually([&] {
    grandchild = slurp(dir.file("grandchild.pid"));
    return !grandchild.empty() && grandchild.back() == '\n';
  }));
  launcher.terminate(*pid, 5s);
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK_EQUAL(x.signal, SIGTERM);
  auto gpid = std::stoi(grandchild);
  // The grandchild got SIGTERM too: it ends (gone, or a zombie of init).
  CAF_CHECK(eventually([&] { return !is_running(gpid); }));
}

CAF_TEST(the start names the shim the program and where its output begins) {
  { std::ofstream{dir.file("out.log")} << "earlier attempt\n"; }
  launch({"true"});
  auto ref = started.wait(30s);
  CAF_REQUIRE(ref.has_value());
  CAF_CHECK(ref->shim_pid > 0);
  CAF_CHECK(ref->pid > 0);
  CAF_CHECK_NOT_EQUAL(ref->pid, ref->shim_pid);
  CAF_CHECK(ref->shim_start > 0);
  CAF_CHECK_EQUAL(ref->log_offset, 16u);
  CAF_CHECK(outcome().status == task_status::completed);
  // The shim recorded the same identity and how the program ended.
  auto status = slurp(status_file());
  CAF_CHECK(status.find("\"state\":\"exited\"") != std::string::npos);
  CAF_CHECK(status.find("\"shim_start\":" + std::to_string(ref->shim_start))
            != std::string::npos);
}

CAF_TEST(a process outlives its launcher and a new launcher adopts it) {
  auto gate = make_gate();
  launch({"sh", "-c", "echo before; read line < " + gate + "; echo after; exit 5"});
  auto ref = started.wait(30s);
  CAF_REQUIRE(ref.has_value());
  // The node goes away and leaves its agents running.
  launcher.shutdown(1s, true);
  CAF_CHECK(is_running(static_cast<int>(ref->pid)));
  runtime::shim_launcher next{CW_SHIM_BIN};
  test::waiter<task_outcome> adopted_end;
  CAF_REQUIRE(next.adopt(*ref, request(), [&](task_outcome x) {
    adopted_end.set(std::move(x));
  }));
  CAF_CHECK_EQUAL(next.running(), 1u);
  release(gate);
  auto x = adopted_end.wait(30s);
  CAF_REQUIRE(x.has_value());
  CAF_CHECK(x->status == task_status::failed);
  CAF_CHECK_EQUAL(x->exit_code, 5);
  CAF_CHECK_EQUAL(slurp(dir.file("out.log")), "before\nafter\n");
  CAF_CHECK(!ended.wait(0ms).has_value());
}

CAF_TEST(a process that ended while nobody watched reports its recorded exit) {
  auto gate = make_gate();
  launch({"sh", "-c", "read line < " + gate + "; exit 3"});
  auto ref = started.wait(30s);
  CAF_REQUIRE(ref.has_value());
  launcher.shutdown(1s, true);
  release(gate);
  CAF_REQUIRE(eventually([&] {
    return slurp(status_file()).find("exited") != std::string::npos;
  }));
  runtime::shim_launcher next{CW_SHIM_BIN};
  test::waiter<task_outcome> adopted_end;
  CAF_REQUIRE(next.adopt(*ref, request(), [&](task_outcome x) {
    adopted_end.set(std::move(x));
  }));
  auto x = adopted_end.wait(30s);
  CAF_REQUIRE(x.has_value());
  CAF_CHECK_EQUAL(x->exit_code, 3);
}

CAF_TEST(a shim that died without an exit status fails the attempt) {
  // A status file left by a shim that was killed: its pid is gone (or is
  // another process now, with another start time).
  std::ofstream{status_file()} << gone_shim_running_line();
  auto x = adopt_from_status_file();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK(x.reason.find("died without recording") != std::string::npos);
}

CAF_TEST(a status line without its newline is still being written and is not read) {
  // The shim appends one line per state: a reader that comes in the middle
  // of the `exited` line must go by the `running` line before it, whose
  // shim (this process, with another start time) is gone.
  std::ofstream{status_file()}
    << gone_shim_running_line() << R"({"state":"exited","shim_pid":)"
    << ::getpid()
    << R"(,"shim_start":1,"pid":999999,"started_ms":1,"ended_ms":2,)"
    << R"("exit_code":0,"signal":0})";
  auto x = adopt_from_status_file();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK(x.reason.find("died without recording") != std::string::npos);
}

CAF_TEST(a process without output or cpu time past the setting is hung) {
  launch({"sleep", "60"}, actors::agent_environment(), 300ms);
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK(x.reason.rfind("hung: ", 0) == 0);
  CAF_CHECK_EQUAL(x.signal, SIGKILL);
}

CAF_TEST(output keeps a process alive past the hung setting) {
  // Ten lines 100 ms apart: 1 s of run time, never 1 s without output.
  launch({"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.1; done"},
         actors::agent_environment(), 1000ms);
  auto x = outcome();
  CAF_CHECK(x.status == task_status::completed);
}

CAF_TEST(programs started one after another share one shim) {
  // One process start per task: the second program runs under the shim
  // that ran the first, which waited for it.
  launch({"true"});
  auto first = started.wait(30s);
  CAF_REQUIRE(first.has_value());
  CAF_CHECK(outcome().status == task_status::completed);
  attempt two;
  launch_as(two, "two", {"sh", "-c", "exit 4"});
  auto second = two.started.wait(30s);
  CAF_REQUIRE(second.has_value());
  CAF_CHECK_EQUAL(second->shim_pid, first->shim_pid);
  CAF_CHECK_EQUAL(second->shim_start, first->shim_start);
  CAF_CHECK_NOT_EQUAL(second->pid, first->pid);
  auto x = two.ended.wait(30s);
  CAF_REQUIRE(x.has_value());
  CAF_CHECK_EQUAL(x->exit_code, 4);
  CAF_CHECK_EQUAL(launcher.shims(), 1u);
  // Each program kept a status file of its own.
  CAF_CHECK(slurp(dir.file("two.status")).find("\"exit_code\":4")
            != std::string::npos);
  CAF_CHECK(slurp(status_file()).find("\"exit_code\":0") != std::string::npos);
}

CAF_TEST(a shim killed under its program fails the attempt and is replaced) {
  launch({"sleep", "60"});
  auto ref = started.wait(30s);
  CAF_REQUIRE(ref.has_value());
  ::kill(static_cast<pid_t>(ref->shim_pid), SIGKILL);
  auto x = outcome();
  CAF_CHECK(x.status == task_status::failed);
  CAF_CHECK(x.reason.find("died without recording") != std::string::npos);
  // What it left behind was stopped.
  CAF_CHECK(test::await_end(static_cast<pid_t>(ref->pid), 10s));
  CAF_CHECK(eventually([&] { return launcher.shims() == 0; }));
  // The next program gets a new shim.
  attempt two;
  launch_as(two, "two", {"true"});
  auto next = two.started.wait(30s);
  CAF_REQUIRE(next.has_value());
  CAF_CHECK_NOT_EQUAL(next->shim_pid, ref->shim_pid);
  auto y = two.ended.wait(30s);
  CAF_REQUIRE(y.has_value());
  CAF_CHECK(y->status == task_status::completed);
}

CAF_TEST(an idle shim leaves after the idle limit) {
  runtime::shim_launcher brief{CW_SHIM_BIN, 200ms};
  attempt one;
  launch_as(one, "one", {"true"}, &brief);
  auto ref = one.started.wait(30s);
  CAF_REQUIRE(ref.has_value());
  CAF_REQUIRE(one.ended.wait(30s).has_value());
  // The shim waits for more work, then goes; no process is left behind.
  CAF_CHECK(test::await_end(static_cast<pid_t>(ref->shim_pid), 10s));
  CAF_CHECK(eventually([&] { return brief.shims() == 0; }));
}

CAF_TEST(a stopped shim does not hold up other launches) {
  launch({"true"});
  auto first = started.wait(30s);
  CAF_REQUIRE(first.has_value());
  CAF_REQUIRE(outcome().status == task_status::completed);
  // The idle shim stops; the next program goes to it with a command far
  // larger than a socket's buffer, so sending it cannot finish.
  auto shim = static_cast<pid_t>(first->shim_pid);
  CAF_REQUIRE_EQUAL(::kill(shim, SIGSTOP), 0);
  std::vector<std::string> big{"sh", "-c", "exit 0"};
  for (int i = 0; i < 8; ++i)
    big.emplace_back(120'000, 'x');
  attempt stuck;
  launch_as(stuck, "big", big);
  // Another program starts and ends meanwhile, under another shim.
  attempt two;
  launch_as(two, "two", {"true"});
  auto other = two.started.wait(30s);
  auto other_x = two.ended.wait(30s);
  ::kill(shim, SIGCONT);
  CAF_REQUIRE(other.has_value());
  CAF_CHECK_NOT_EQUAL(other->shim_pid, first->shim_pid);
  CAF_REQUIRE(other_x.has_value());
  CAF_CHECK(other_x->status == task_status::completed);
  // Resumed, the first shim reads the command and runs the program.
  auto x = stuck.ended.wait(30s);
  CAF_REQUIRE(x.has_value());
  CAF_CHECK(x->status == task_status::completed);
}

CAF_TEST(no status file means the process never started) {
  CAF_CHECK(!launcher.adopt(process_ref{}, request(), [](task_outcome) {}));
}

CAF_TEST_FIXTURE_SCOPE_END()
