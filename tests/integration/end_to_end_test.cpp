#define CAF_SUITE integration.end_to_end
#include "caf/test/unit_test.hpp"

#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

using cw::test::cli_result;
using cw::test::node_process;
using cw::test::run_cw;
using cw::test::temp_dir;

struct fixture {
  temp_dir dir;
  std::string data_dir = dir.file("data");

  /// Runs the real `cw` binary against the node at `url`.
  cli_result cw(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", url});
    return run_cw(dir.path(), std::move(args));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(end_to_end_tests, fixture)

CAF_TEST(a task travels from cw to a process and back and survives a restart) {
  std::string id;
  {
    node_process node{data_dir};
    auto run = cw(node.url(), {"run", "--wait", "--", "echo", "hello"});
    CAF_CHECK_EQUAL(run.exit_code, 0);
    CAF_CHECK(run.out.find("completed") != std::string::npos);
    // "task N completed (exit 0)"
    std::istringstream words{run.out};
    std::string word;
    words >> word >> id;
    CAF_REQUIRE(!id.empty());
    auto logs = cw(node.url(), {"logs", id});
    CAF_CHECK_EQUAL(logs.exit_code, 0);
    CAF_CHECK_EQUAL(logs.out, "hello\n");
    auto failing = cw(node.url(), {"run", "--wait", "--", "sh", "-c", "exit 3"});
    CAF_CHECK_EQUAL(failing.exit_code, 1);
    CAF_CHECK(failing.out.find("failed (exit code 3)") != std::string::npos);
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  node_process node{data_dir};
  auto status = cw(node.url(), {"status", id});
  CAF_CHECK_EQUAL(status.exit_code, 0);
  CAF_CHECK(status.out.find("completed") != std::string::npos);
  CAF_CHECK(status.out.find("echo hello") != std::string::npos);
  auto json = cw(node.url(), {"--json", "status", id});
  CAF_CHECK(json.out.find("\"status\":\"completed\"") != std::string::npos);
  auto tasks = cw(node.url(), {"tasks", "--status", "failed"});
  CAF_CHECK(tasks.out.find("sh -c exit 3") != std::string::npos);
  CAF_CHECK(tasks.out.find("echo hello") == std::string::npos);
  auto logs = cw(node.url(), {"logs", id});
  CAF_CHECK_EQUAL(logs.out, "hello\n");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a process gets allow-listed variables and those of its task) {
  // The node inherits this; an agent process must not.
  ::setenv("CW_TEST_SECRET", "leaked", 1);
  node_process node{data_dir};
  ::unsetenv("CW_TEST_SECRET");
  auto run = cw(node.url(),
                {"run", "--wait", "--env", "GREETING=hello there", "--env",
                 "EMPTY=", "--", "sh", "-c",
                 "echo \"$GREETING|${EMPTY-unset}|${HOME:+home}|"
                 "${CW_TEST_SECRET:-hidden}\""});
  CAF_CHECK_EQUAL(run.exit_code, 0);
  std::istringstream words{run.out};
  std::string word, id;
  words >> word >> id;
  auto logs = cw(node.url(), {"logs", id});
  CAF_CHECK_EQUAL(logs.out, "hello there||home|hidden\n");
  // The variables are part of the task, journaled with it.
  auto json = cw(node.url(), {"--json", "status", id});
  CAF_CHECK(json.out.find("\"env\":{\"EMPTY\":\"\",\"GREETING\":\"hello there\"}")
            != std::string::npos);
  auto no_eq = cw(node.url(), {"run", "--env", "GREETING", "--", "true"});
  CAF_CHECK_EQUAL(no_eq.exit_code, 2);
  CAF_CHECK_EQUAL(no_eq.err, "cw: --env: 'GREETING' is not NAME=VALUE\n");
  auto bad_name = cw(node.url(), {"run", "--env", "1X=y", "--", "true"});
  CAF_CHECK_EQUAL(bad_name.exit_code, 1);
  CAF_CHECK(bad_name.err.find("env: '1X' is not a variable name")
            != std::string::npos);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(cw explains bad input and a node that is not running) {
  node_process node{data_dir};
  auto missing = cw(node.url(), {"status", "424242"});
  CAF_CHECK_EQUAL(missing.exit_code, 1);
  CAF_CHECK_EQUAL(missing.err, "cw: no task with id 424242\n");
  auto no_argv = cw(node.url(), {"run"});
  CAF_CHECK_EQUAL(no_argv.exit_code, 2);
  auto bad_ws = cw(node.url(), {"run", "--workspace", "/no/such/dir", "--", "true"});
  CAF_CHECK_EQUAL(bad_ws.exit_code, 1);
  CAF_CHECK(bad_ws.err.find("workspace") != std::string::npos);
  auto url = node.url();
  CAF_CHECK_EQUAL(node.stop(), 0);
  auto down = cw(url, {"tasks"});
  CAF_CHECK_EQUAL(down.exit_code, 3);
  CAF_CHECK_EQUAL(down.err, "cw: cannot reach cw-node at " + url
                              + ": connection refused (is cw-node running?)\n");
}

CAF_TEST(durations take units and a task shows its times in UTC) {
  node_process node{data_dir};
  auto delayed = cw(node.url(), {"run", "--timeout", "1500ms", "--delay", "2h",
                                 "--", "true"});
  CAF_REQUIRE_EQUAL(delayed.exit_code, 0);
  auto id = delayed.out.substr(0, delayed.out.find('\n'));
  auto task = nlohmann::json::parse(cw(node.url(), {"--json", "status", id}).out);
  CAF_CHECK_EQUAL(task["spec"]["timeout_ms"].get<int64_t>(), 1500);
  auto delay_ms = task["spec"]["run_at_ms"].get<int64_t>()
                  - task["submitted_ms"].get<int64_t>();
  CAF_CHECK_GREATER_OR_EQUAL(delay_ms, 2 * 3600 * 1000 - 1000);
  CAF_CHECK_LESS_OR_EQUAL(delay_ms, 2 * 3600 * 1000);
  auto waiting = cw(node.url(), {"status", id}).out;
  CAF_CHECK(waiting.find("timeout:    1.500 s\n") != std::string::npos);
  // 2026-12-05T23:37:51.132Z
  auto utc = [](const std::string& text, const std::string& label) {
    auto at = text.find(label);
    if (at == std::string::npos)
      return false;
    auto value = text.substr(at + label.size(), 25);
    return value.size() == 25 && value[4] == '-' && value[10] == 'T'
           && value[19] == '.' && value[23] == 'Z' && value[24] == '\n';
  };
  CAF_CHECK(utc(waiting, "submitted:  "));
  CAF_CHECK(utc(waiting, "not before: "));
  CAF_CHECK(waiting.find("started:") == std::string::npos);
  auto done = cw(node.url(), {"run", "--wait", "--", "true"});
  CAF_REQUIRE_EQUAL(done.exit_code, 0);
  std::istringstream words{done.out};
  std::string word, done_id;
  words >> word >> done_id;
  auto ended = cw(node.url(), {"status", done_id}).out;
  CAF_CHECK(utc(ended, "started:    "));
  CAF_CHECK(utc(ended, "ended:      "));
  CAF_CHECK(ended.find("run time:   ") != std::string::npos);
  CAF_CHECK(ended.find("not before:") == std::string::npos);
  // Bad durations are refused with the flag named, and nothing is submitted.
  auto unit = cw(node.url(), {"run", "--delay", "5x", "--", "true"});
  CAF_CHECK_EQUAL(unit.exit_code, 2);
  CAF_CHECK(unit.err.find("--delay: '5x': unknown unit 'x'") != std::string::npos);
  auto too_long = cw(node.url(), {"run", "--timeout", "8d", "--", "true"});
  CAF_CHECK_EQUAL(too_long.exit_code, 2);
  CAF_CHECK(too_long.err.find("--timeout: '8d' is out of range (1ms to 7d)")
            != std::string::npos);
  auto garbled = cw(node.url(), {"lock", "acquire", "db", "--owner", "me",
                                 "--timeout", "1.5.2"});
  CAF_CHECK_EQUAL(garbled.exit_code, 2);
  CAF_CHECK(garbled.err.find("--timeout: '1.5.2' is not a duration")
            != std::string::npos);
  auto listed = cw(node.url(), {"--json", "tasks"});
  CAF_CHECK_EQUAL(nlohmann::json::parse(listed.out)["tasks"].size(), 2u);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(sigterm terminates running processes and the task runs again later) {
  std::string id;
  {
    node_process node{data_dir};
    auto run = cw(node.url(), {"run", "--", "sh", "-c",
                               "echo started; exec sleep 120"});
    CAF_REQUIRE_EQUAL(run.exit_code, 0);
    id = run.out.substr(0, run.out.find('\n'));
    // Wait (bounded, by long-polling logs) until the process runs.
    for (int i = 0; i < 60; ++i) {
      if (cw(node.url(), {"logs", id}).out == "started\n")
        break;
    }
    CAF_REQUIRE_EQUAL(cw(node.url(), {"logs", id}).out, "started\n");
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  node_process node{data_dir};
  auto status = cw(node.url(), {"--json", "status", id});
  // Requeued at start-up and run by the new node: attempt 2.
  CAF_CHECK(status.out.find("\"attempts\":2") != std::string::npos);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
