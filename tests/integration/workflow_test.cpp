#define CAF_SUITE integration.workflow
#include "caf/test/unit_test.hpp"

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/http_client.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/poll.hpp"
#include "tests/support/tasks.hpp"
#include "tests/support/temp_dir.hpp"

// Workflows (DAGs of tasks) end to end: real `cw-node` processes running
// real `sh -c` tasks, driven by the real `cw` binary and checked over HTTP.
// Every task runs in the test's temp dir and appends its name to `order`,
// so the file shows the order of execution. Tasks that must wait for the
// test poll for a `GO` file themselves (the workload, bounded to 60 s);
// the test never sleeps: it blocks on `--wait`, long-polls, or asks the
// node until the state it needs is there.

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using cw::runtime::http_client;
using cw::test::cli_result;
using cw::test::node_process;
using cw::test::poll_until;
using cw::test::run_cw;
using cw::test::running_task;
using cw::test::slurp;
using cw::test::temp_dir;

/// A shell command that waits (at most 60 s) until the test creates `GO`
/// and then runs `then`; fails when `GO` never came.
std::string after_go(const std::string& then) {
  return "i=0; while [ ! -f GO ] && [ $i -lt 1200 ]; do sleep 0.05; "
         "i=$((i+1)); done; [ -f GO ] && "
         + then;
}

struct fixture {
  temp_dir dir;
  std::string data_dir = dir.file("data");
  std::string ws = dir.path().string();

  /// Runs the real `cw` binary against the node at `url`.
  cli_result cw(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", url});
    return run_cw(dir.path(), std::move(args));
  }

  /// Runs `cw` on a thread of its own (with its own output files), for
  /// commands that block until the test has done its part.
  std::future<cli_result> cw_async(const std::string& url,
                                   std::vector<std::string> args) {
    auto out_dir = dir.path() / "async";
    std::filesystem::create_directories(out_dir);
    args.insert(args.begin(), {"--node", url});
    return std::async(std::launch::async, [out_dir, args] {
      return run_cw(out_dir, args);
    });
  }

  /// Runs `cw --json ARGS...` and parses what it printed.
  json cw_json(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    auto res = cw(url, std::move(args));
    CAF_REQUIRE_EQUAL(res.exit_code, 0);
    auto j = json::parse(res.out, nullptr, false);
    CAF_REQUIRE(j.is_object());
    return j;
  }

  /// Writes `text` to `name` in the temp dir and returns the path.
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir.file(name);
    std::ofstream out{path, std::ios::trunc};
    out << text;
    return path;
  }

  /// A workflow task for a JSON workflow file, run in the temp dir.
  json step(const std::string& id, const std::string& script,
            std::vector<std::string> depends_on = {}) {
    return json{{"id", id},
                {"argv", {"sh", "-c", script}},
                {"workspace", ws},
                {"depends_on", depends_on}};
  }

  std::unique_ptr<http_client> client(const node_process& node) {
    auto c = http_client::make(node.url());
    CAF_REQUIRE(c);
    return std::move(*c);
  }

  json get(http_client& c, const std::string& target) {
    auto res = c.request("GET", target);
    CAF_REQUIRE(res);
    CAF_REQUIRE_EQUAL(res->status, 200u);
    return json::parse(res->body);
  }

  /// Long-polls task `id` until it has ended.
  json ended_task(http_client& c, uint64_t id) {
    json task;
    for (int i = 0; i < 4; ++i) {
      task = get(c, "/v1/tasks/" + std::to_string(id) + "?wait=30");
      auto st = task["status"];
      if (st == "completed" || st == "failed" || st == "cancelled")
        return task;
    }
    CAF_FAIL("task " << id << " did not end: " << task.dump());
    return task;
  }

  /// Returns once the process that task `task` ran is reaped: the node
  /// frees an agent only after that, so a task bound to the same agent
  /// (each agent takes one task at a time) can run only afterwards.
  void wait_until_reaped(const std::string& url, const json& task) {
    auto agent = task["agent"].get<std::string>();
    CAF_REQUIRE(!agent.empty());
    auto res = cw(url, {"run", "--wait", "--agent", agent, "--", "true"});
    CAF_REQUIRE_EQUAL(res.exit_code, 0);
  }

  /// Checks that no process has `pid` any more.
  void check_gone(int64_t pid) {
    CAF_REQUIRE(pid > 0);
    errno = 0;
    auto rc = ::kill(static_cast<pid_t>(pid), 0);
    auto err = errno;
    CAF_CHECK_EQUAL(rc, -1);
    CAF_CHECK_EQUAL(err, ESRCH);
  }
};

/// Returns the view of the task with key `key` in workflow JSON `wf` (a
/// reference into `wf`: CAF_CHECK_EQUAL keeps references to its operands).
const json& task_of(const json& wf, const std::string& key) {
  for (auto& t : wf["tasks"])
    if (t["id"] == key)
      return t;
  CAF_FAIL("workflow has no task " << key << ": " << wf.dump());
  static const json none;
  return none;
}

/// Returns the task id (a number, as text) of `key` in workflow `wf`.
std::string task_id_of(const json& wf, const std::string& key) {
  return std::to_string(task_of(wf, key)["task"].get<uint64_t>());
}

/// Reads the workflow id from `cw workflow submit` text output: either just
/// the id, or `workflow N NAME: ...` with --wait.
std::string workflow_id_in(const std::string& out) {
  std::istringstream in{out};
  std::string word;
  in >> word;
  if (word == "workflow")
    in >> word;
  return word;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(workflow_tests, fixture)

CAF_TEST(a diamond from a toml file runs its tasks in dependency order) {
  node_process node{data_dir};
  auto step = [&](const std::string& id, const std::string& deps) {
    return "[[tasks]]\nid = \"" + id + "\"\nargv = [\"sh\", \"-c\", \"echo "
           + id + " >> order\"]\nworkspace = \"" + ws + "\"\ndepends_on = ["
           + deps + "]\n\n";
  };
  // Listed out of order on purpose: the file order does not matter.
  auto file = write("diamond.toml", "name = \"diamond\"\n"
                                    "failure_policy = \"fail_fast\"\n\n"
                                      + step("d", "\"b\", \"c\"")
                                      + step("b", "\"a\"") + step("a", "")
                                      + step("c", "\"a\""));
  auto run = cw(node.url(), {"workflow", "submit", file, "--wait"});
  CAF_CHECK_EQUAL(run.exit_code, 0);
  CAF_CHECK_EQUAL(run.err, "");
  CAF_CHECK(run.out.find(": completed, 100% (4 of 4 tasks ended)")
            != std::string::npos);
  auto order = slurp(dir.file("order"));
  CAF_REQUIRE_EQUAL(order.size(), 8u);
  CAF_CHECK_EQUAL(order.substr(0, 2), "a\n");
  CAF_CHECK_EQUAL(order.substr(6, 2), "d\n");
  auto id = workflow_id_in(run.out);
  auto wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["id"].get<uint64_t>(), std::stoull(id));
  CAF_CHECK_EQUAL(wf["name"], "diamond");
  CAF_CHECK_EQUAL(wf["failure_policy"], "fail_fast");
  CAF_CHECK_EQUAL(wf["status"], "completed");
  CAF_CHECK_EQUAL(wf["reason"], "");
  CAF_CHECK_EQUAL(wf["progress"].get<double>(), 100.0);
  CAF_REQUIRE_EQUAL(wf["tasks"].size(), 4u);
  for (auto& t : wf["tasks"])
    CAF_CHECK_EQUAL(t["status"], "completed");
  auto path = wf["critical_path"].get<std::vector<std::string>>();
  CAF_REQUIRE_EQUAL(path.size(), 3u);
  CAF_CHECK_EQUAL(path.front(), "a");
  CAF_CHECK(path[1] == "b" || path[1] == "c");
  CAF_CHECK_EQUAL(path.back(), "d");
  CAF_CHECK(wf["critical_path_ms"].get<int64_t>() >= 0);
  // The node's own timestamps agree with the order file.
  auto a = task_of(wf, "a");
  auto b = task_of(wf, "b");
  auto c = task_of(wf, "c");
  auto d = task_of(wf, "d");
  CAF_CHECK_EQUAL(d["depends_on"], json::array({"b", "c"}));
  CAF_CHECK(b["started_ms"].get<int64_t>() >= a["finished_ms"].get<int64_t>());
  CAF_CHECK(c["started_ms"].get<int64_t>() >= a["finished_ms"].get<int64_t>());
  CAF_CHECK(d["started_ms"].get<int64_t>() >= b["finished_ms"].get<int64_t>());
  CAF_CHECK(d["started_ms"].get<int64_t>() >= c["finished_ms"].get<int64_t>());
  // The tasks are ordinary tasks too, tagged with their workflow.
  auto task_d = cw_json(node.url(), {"status", task_id_of(wf, "d")});
  CAF_CHECK_EQUAL(task_d["spec"]["workflow"].get<uint64_t>(), std::stoull(id));
  CAF_CHECK_EQUAL(task_d["spec"]["key"], "d");
  auto text = cw(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(text.exit_code, 0);
  CAF_CHECK(text.out.find("critical path: a -> ") != std::string::npos);
  auto list = cw(node.url(), {"workflow", "list"});
  CAF_CHECK_EQUAL(list.exit_code, 0);
  CAF_CHECK(list.out.find("workflow " + id + " diamond: completed")
            != std::string::npos);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(fail fast cancels the rest of the workflow and stops its processes) {
  node_process node{data_dir};
  auto http = client(node);
  // a -> b (fails) -> c, and x: an independent branch that would run 30 s.
  // a waits for the test, which lets it go once x's process runs.
  auto body = json{{"name", "ff"},
                   {"failure_policy", "fail_fast"},
                   {"tasks",
                    json::array({step("a", after_go("echo a >> order")),
                                 step("b", "echo b >> order; exit 1", {"a"}),
                                 step("c", "echo c >> order", {"b"}),
                                 step("x", "echo x >> order; exec sleep 30")})}};
  auto file = write("ff.json", body.dump(2));
  auto start = std::chrono::steady_clock::now();
  auto submit = cw_async(node.url(), {"workflow", "submit", file, "--wait"});
  json wf;
  poll_until(
    [&] {
      auto all = get(*http, "/v1/workflows");
      if (!all["workflows"].empty())
        wf = all["workflows"][0];
      return !wf.is_null();
    },
    30s);
  CAF_REQUIRE(!wf.is_null());
  auto id = std::to_string(wf["id"].get<uint64_t>());
  auto x_id = task_of(wf, "x")["task"].get<uint64_t>();
  auto x_running = running_task(*http, std::to_string(x_id));
  write("GO", "");
  auto res = submit.get();
  auto elapsed = std::chrono::steady_clock::now() - start;
  CAF_CHECK_EQUAL(res.exit_code, 1);
  CAF_CHECK(res.out.find("workflow " + id + " ff: failed") != std::string::npos);
  CAF_CHECK(elapsed < 25s); // x's 30 s were not waited for
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "failed");
  CAF_CHECK_EQUAL(wf["reason"], "task b (" + task_id_of(wf, "b")
                                  + ") failed: exit code 1");
  CAF_CHECK_EQUAL(wf["progress"].get<double>(), 100.0);
  CAF_CHECK_EQUAL(task_of(wf, "a")["status"], "completed");
  CAF_CHECK_EQUAL(task_of(wf, "b")["status"], "failed");
  CAF_CHECK_EQUAL(task_of(wf, "b")["reason"], "exit code 1");
  auto c = task_of(wf, "c");
  CAF_CHECK_EQUAL(c["status"], "cancelled");
  CAF_CHECK_EQUAL(c["reason"], "dependency " + task_id_of(wf, "b") + " failed");
  CAF_CHECK_EQUAL(c["started_ms"], 0); // never ran
  auto x = task_of(wf, "x");
  CAF_CHECK_EQUAL(x["status"], "cancelled");
  CAF_CHECK_EQUAL(x["reason"], "workflow ff fails fast: task b failed");
  // x's process was stopped, not waited for.
  auto x_task = cw_json(node.url(), {"status", std::to_string(x_id)});
  CAF_CHECK_EQUAL(x_task["status"], "cancelled");
  CAF_CHECK_EQUAL(x_task["pid"], x_running["pid"]);
  wait_until_reaped(node.url(), x_task);
  check_gone(x_task["pid"].get<int64_t>());
  // Killed, not run to its end (which would also have freed the agent).
  CAF_CHECK(std::chrono::steady_clock::now() - start < 25s);
  auto order = slurp(dir.file("order"));
  // a ran before b (x's line may fall anywhere: its shell echoes on its
  // own time).
  auto a_at = order.find("a\n");
  auto b_at = order.find("b\n");
  CAF_CHECK(a_at != std::string::npos && b_at != std::string::npos
            && a_at < b_at);
  CAF_CHECK(order.find("x\n") != std::string::npos);
  CAF_CHECK(order.find("c\n") == std::string::npos);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(continue lets independent tasks finish after a failure) {
  node_process node{data_dir};
  auto http = client(node);
  // a fails; b depends on a; c is independent and waits for the test, so it
  // is still running when a's failure is handled.
  auto body = json{{"name", "go-on"},
                   {"failure_policy", "continue"},
                   {"tasks",
                    json::array({step("a", "echo a >> order; exit 1"),
                                 step("b", "echo b >> order", {"a"}),
                                 step("c", after_go("echo c >> order"))})}};
  auto file = write("continue.json", body.dump());
  auto submit = cw(node.url(), {"workflow", "submit", file});
  CAF_REQUIRE_EQUAL(submit.exit_code, 0);
  auto id = workflow_id_in(submit.out);
  auto wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["failure_policy"], "continue");
  auto a = ended_task(*http, std::stoull(task_id_of(wf, "a")));
  CAF_CHECK_EQUAL(a["status"], "failed");
  // The failure was handled (b is cancelled), yet c goes on.
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "running");
  CAF_CHECK_EQUAL(task_of(wf, "b")["status"], "cancelled");
  CAF_CHECK_EQUAL(task_of(wf, "b")["reason"],
                  "dependency " + task_id_of(wf, "a") + " failed");
  auto c_status = task_of(wf, "c")["status"];
  CAF_CHECK(c_status == "queued" || c_status == "running");
  write("GO", "");
  auto c = ended_task(*http, std::stoull(task_id_of(wf, "c")));
  CAF_CHECK_EQUAL(c["status"], "completed");
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "failed");
  CAF_CHECK_EQUAL(wf["reason"],
                  "task a (" + task_id_of(wf, "a") + ") failed: exit code 1");
  CAF_CHECK_EQUAL(wf["progress"].get<double>(), 100.0);
  CAF_CHECK_EQUAL(task_of(wf, "c")["status"], "completed");
  CAF_CHECK_EQUAL(slurp(dir.file("order")), "a\nc\n");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(bad workflows are refused with the field named and nothing recorded) {
  node_process node{data_dir};
  auto http = client(node);
  auto refused = [&](const json& body, const std::string& field,
                     const std::string& message) {
    auto res = http->request("POST", "/v1/workflows", body.dump());
    CAF_REQUIRE(res);
    CAF_CHECK_EQUAL(res->status, 400u);
    auto j = json::parse(res->body, nullptr, false);
    CAF_REQUIRE(j.is_object());
    CAF_CHECK_EQUAL(j.value("error", ""), "invalid_argument");
    CAF_CHECK_EQUAL(j.value("field", ""), field);
    CAF_CHECK_EQUAL(j.value("message", ""), message);
  };
  auto ok = [&](const std::string& id, std::vector<std::string> deps = {}) {
    return step(id, "echo " + id + " >> order", std::move(deps));
  };
  // A cycle behind a valid entry task; the path follows the dependencies.
  auto cycle = json{{"tasks", json::array({ok("s"), ok("a", {"s", "c"}),
                                           ok("b", {"a"}), ok("c", {"b"})})}};
  refused(cycle, "tasks",
          "tasks: cycle a -> c -> b -> a (each depends on the next)");
  refused(json{{"tasks", json::array({ok("a", {"a"})})}}, "tasks",
          "tasks: cycle a -> a (each depends on the next)");
  refused(json{{"tasks", json::array({ok("a"), ok("b", {"a"}),
                                       ok("c", {"a", "x"})})}},
          "tasks[2].depends_on", "tasks[2].depends_on: unknown task 'x'");
  refused(json{{"tasks", json::array({ok("a"), ok("b"), ok("b")})}},
          "tasks[2].id",
          "tasks[2].id: duplicate id 'b'");
  refused(json{{"tasks", json::array()}}, "tasks",
          "tasks: a workflow needs at least one task");
  refused(json{{"name", "no tasks"}}, "tasks",
          "tasks: required: an array of tasks");
  refused(json{{"tasks", json::array({json{{"argv", json::array({"true"})}}})}},
          "tasks[0].id",
          "tasks[0].id: required: a name unique in the workflow");
  refused(json{{"tasks", json::array({ok("a")})},
               {"failure_policy", "sometimes"}},
          "failure_policy",
          "failure_policy: must be \"fail_fast\" or \"continue\"");
  auto bad_argv = ok("b");
  bad_argv["argv"] = "true";
  refused(json{{"tasks", json::array({ok("a"), bad_argv})}}, "tasks[1].argv",
          "tasks[1].argv: must be an array of strings");
  // All or nothing: the first task is fine, the second cannot be admitted.
  auto bad_ws = ok("b");
  bad_ws["workspace"] = ws + "/no-such-dir";
  auto res = http->request("POST", "/v1/workflows",
                           json{{"tasks", json::array({ok("a"), bad_ws})}}.dump());
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 400u);
  CAF_CHECK_EQUAL(json::parse(res->body).value("field", ""),
                  "tasks[1].workspace");
  // Through cw: the node's message on stderr, exit 1.
  auto cycle_file = write("cycle.json", cycle.dump());
  auto by_cw = cw(node.url(), {"workflow", "submit", cycle_file, "--wait"});
  CAF_CHECK_EQUAL(by_cw.exit_code, 1);
  CAF_CHECK_EQUAL(by_cw.err,
                  "cw: tasks: cycle a -> c -> b -> a (each depends on the next)\n");
  // Files cw cannot read are refused before the node is asked: exit 2,
  // naming the file (and the line for TOML).
  auto toml = write("broken.toml", "name = \"broken\"\n\n[[tasks]]\n"
                                   "id = \"a\"\nargv = [\"true\"\n");
  auto bad_toml = cw(node.url(), {"workflow", "submit", toml});
  CAF_CHECK_EQUAL(bad_toml.exit_code, 2);
  CAF_CHECK_EQUAL(bad_toml.out, "");
  CAF_CHECK(bad_toml.err.find("cw: file: " + toml + ": line ")
            != std::string::npos);
  CAF_MESSAGE("malformed TOML: " << bad_toml.err);
  auto broken_json = write("broken.json", "{\"tasks\": [");
  auto bad_json = cw(node.url(), {"workflow", "submit", broken_json});
  CAF_CHECK_EQUAL(bad_json.exit_code, 2);
  CAF_CHECK_EQUAL(bad_json.err,
                  "cw: file: " + broken_json + ": not valid JSON\n");
  auto missing = cw(node.url(), {"workflow", "submit", dir.file("nope.toml")});
  CAF_CHECK_EQUAL(missing.exit_code, 2);
  CAF_CHECK_EQUAL(missing.err,
                  "cw: file: " + dir.file("nope.toml") + ": cannot be read\n");
  // Nothing of any of these was recorded.
  CAF_CHECK_EQUAL(get(*http, "/v1/workflows")["workflows"].size(), 0u);
  CAF_CHECK_EQUAL(get(*http, "/v1/tasks")["tasks"].size(), 0u);
  auto list = cw(node.url(), {"workflow", "list"});
  CAF_CHECK_EQUAL(list.exit_code, 0);
  CAF_CHECK_EQUAL(list.out, "");
  auto unknown = cw(node.url(), {"workflow", "status", "424242"});
  CAF_CHECK_EQUAL(unknown.exit_code, 1);
  CAF_CHECK_EQUAL(unknown.err, "cw: no workflow with id 424242\n");
  CAF_CHECK(!std::filesystem::exists(dir.file("order")));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(cancelling a running workflow cancels its unfinished tasks once) {
  node_process node{data_dir};
  auto http = client(node);
  // a and c run (30 s each unless stopped); b waits for a.
  auto body = json{{"name", "stop-me"},
                   {"tasks",
                    json::array({step("a", "exec sleep 30"),
                                 step("b", "echo b >> order", {"a"}),
                                 step("c", "exec sleep 30")})}};
  auto file = write("cancel.json", body.dump());
  auto start = std::chrono::steady_clock::now();
  auto submit = cw(node.url(), {"workflow", "submit", file});
  CAF_REQUIRE_EQUAL(submit.exit_code, 0);
  auto id = workflow_id_in(submit.out);
  auto wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["failure_policy"], "fail_fast"); // the default
  auto a = running_task(*http, task_id_of(wf, "a"));
  auto c = running_task(*http, task_id_of(wf, "c"));
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "running");
  auto cancel = cw(node.url(), {"workflow", "cancel", id});
  CAF_CHECK_EQUAL(cancel.exit_code, 0);
  CAF_CHECK(cancel.out.find("workflow " + id
                            + " stop-me: cancelled, 100% (3 of 3 tasks ended)")
            != std::string::npos);
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "cancelled");
  CAF_CHECK_EQUAL(wf["reason"], "task a (" + task_id_of(wf, "a")
                                  + ") cancelled: workflow cancelled by request");
  CAF_CHECK_EQUAL(task_of(wf, "a")["status"], "cancelled");
  CAF_CHECK_EQUAL(task_of(wf, "a")["reason"], "workflow cancelled by request");
  CAF_CHECK_EQUAL(task_of(wf, "b")["status"], "cancelled");
  CAF_CHECK_EQUAL(task_of(wf, "b")["reason"],
                  "dependency " + task_id_of(wf, "a") + " cancelled");
  CAF_CHECK_EQUAL(task_of(wf, "c")["status"], "cancelled");
  CAF_CHECK_EQUAL(task_of(wf, "c")["reason"], "workflow cancelled by request");
  // A second cancel: 409 over HTTP, exit 1 from cw.
  auto again = cw(node.url(), {"workflow", "cancel", id});
  CAF_CHECK_EQUAL(again.exit_code, 1);
  CAF_CHECK_EQUAL(again.err, "cw: workflow " + id
                               + " has already ended (cancelled)\n");
  auto res = http->request("POST", "/v1/workflows/" + id + "/cancel");
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 409u);
  res = http->request("POST", "/v1/workflows/424242/cancel");
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 404u);
  // Both processes were stopped.
  wait_until_reaped(node.url(), a);
  wait_until_reaped(node.url(), c);
  check_gone(a["pid"].get<int64_t>());
  check_gone(c["pid"].get<int64_t>());
  // Killed, not run to their end (which would also have freed the agents).
  CAF_CHECK(std::chrono::steady_clock::now() - start < 25s);
  CAF_CHECK(!std::filesystem::exists(dir.file("order")));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a workflow survives a node restart and completes afterwards) {
  std::string id;
  std::string a_id;
  std::string b_id;
  {
    node_process node{data_dir};
    auto http = client(node);
    auto body = json{{"name", "durable"},
                     {"tasks",
                      json::array({step("a", after_go("echo a >> order")),
                                   step("b", "echo b >> order", {"a"})})}};
    auto file = write("durable.json", body.dump());
    auto submit = cw(node.url(), {"workflow", "submit", file});
    CAF_REQUIRE_EQUAL(submit.exit_code, 0);
    id = workflow_id_in(submit.out);
    auto wf = cw_json(node.url(), {"workflow", "status", id});
    a_id = task_id_of(wf, "a");
    b_id = task_id_of(wf, "b");
    // Stopped while a runs (SIGTERM ends a's process with the node).
    running_task(*http, a_id);
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  node_process node{data_dir};
  auto http = client(node);
  auto wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["name"], "durable");
  CAF_CHECK_EQUAL(wf["status"], "running");
  CAF_CHECK_EQUAL(task_id_of(wf, "a"), a_id);
  CAF_CHECK_EQUAL(task_id_of(wf, "b"), b_id);
  CAF_CHECK_EQUAL(task_of(wf, "b")["status"], "blocked");
  CAF_CHECK_EQUAL(task_of(wf, "b")["depends_on"], json::array({"a"}));
  write("GO", "");
  auto b = ended_task(*http, std::stoull(b_id));
  CAF_CHECK_EQUAL(b["status"], "completed");
  wf = cw_json(node.url(), {"workflow", "status", id});
  CAF_CHECK_EQUAL(wf["status"], "completed");
  CAF_CHECK_EQUAL(wf["progress"].get<double>(), 100.0);
  CAF_CHECK_EQUAL(wf["critical_path"], json::array({"a", "b"}));
  // a ran again on the new node: its second attempt.
  auto a = cw_json(node.url(), {"status", a_id});
  CAF_CHECK_EQUAL(a["attempts"], 2);
  CAF_CHECK_EQUAL(slurp(dir.file("order")), "a\nb\n");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
