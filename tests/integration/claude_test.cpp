#define CAF_SUITE integration.claude
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "persistence/journal.hpp"
#include "runtime/http_client.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

// The `claude` provider through a real cw-node and cw, with the fake CLI of
// tests/fixtures (canned stream-json runs chosen by "scenario:NAME" in the
// prompt) standing in for Claude Code.

using namespace cw;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

using test::cli_result;
using test::node_process;
using test::run_cw;
using test::temp_dir;

const std::string fake_claude = std::string{CW_FIXTURES_DIR} + "/fake-claude";

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct fixture {
  temp_dir dir;
  std::string data_dir = dir.file("data");

  cli_result cw(const std::string& url, std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", url});
    return run_cw(dir.path(), std::move(args));
  }

  /// Returns task `id` as the API shows it.
  json task(runtime::http_client& client, const std::string& id,
            const std::string& query = "") {
    auto res = client.request("GET", "/v1/tasks/" + id + query, "", 30s);
    CAF_REQUIRE(res);
    return json::parse(res->body);
  }

  /// Waits (long-polling the node, at most 30 s) until task `id` is in
  /// `status`; returns the task.
  json await_status(runtime::http_client& client, const std::string& id,
                    const std::string& status) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      auto t = task(client, id, "?wait=1");
      if (t["status"] == status)
        return t;
      if (std::chrono::steady_clock::now() > deadline) {
        CAF_FAIL("task " << id << " is " << t["status"] << ", not " << status);
      }
    }
  }

  /// Returns the first word after "task " in `out` ("task N completed").
  static std::string id_of(const std::string& out) {
    std::istringstream words{out};
    std::string word;
    std::string id;
    words >> word >> id;
    return id;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(claude_tests, fixture)

CAF_TEST(a claude task runs the CLI and its result carries session cost and tokens) {
  node_process node{data_dir, {"--claude", fake_claude}};
  auto run = cw(node.url(), {"run", "--provider", "claude", "--wait",
                             "--model", "claude-opus-4", "what", "is", "2+2"});
  CAF_CHECK_EQUAL(run.exit_code, 0);
  // The outcome line, then the answer.
  CAF_CHECK(contains(run.out, "completed (exit 0), $0.0105, 1 turns, session "
                              "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35\n"));
  CAF_CHECK(contains(run.out, "\nThe answer is 4.\n"));
  auto id = id_of(run.out);
  auto status = cw(node.url(), {"--json", "status", id});
  auto t = json::parse(status.out);
  CAF_CHECK_EQUAL(t["report"]["session"], "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35");
  // The task's model reached the CLI (the fake echoes it in the stream).
  CAF_CHECK_EQUAL(t["report"]["model"], "claude-opus-4");
  CAF_CHECK_EQUAL(t["report"]["subtype"], "success");
  CAF_CHECK_EQUAL(t["report"]["input_tokens"], 4);
  CAF_CHECK_EQUAL(t["report"]["output_tokens"], 9);
  CAF_CHECK_EQUAL(t["report"]["cache_read_tokens"], 13120);
  CAF_CHECK_EQUAL(t["cost_usd"], 0.0104931);
  // `cw logs` renders the conversation; --json gives the raw lines.
  auto logs = cw(node.url(), {"logs", id});
  CAF_CHECK(contains(logs.out, "assistant: The answer is 4.\n"));
  CAF_CHECK(contains(logs.out, "── result success · 1 turn · $0.0105"));
  auto raw = cw(node.url(), {"logs", id, "--json"});
  CAF_CHECK_EQUAL(raw.out.rfind("{\"type\":\"system\",\"subtype\":\"init\"", 0),
                  0u);
  CAF_CHECK_EQUAL(node.stop(), 0);
  // The report is part of the journal: a restarted node shows it.
  node_process again{data_dir, {"--claude", fake_claude}};
  auto after = json::parse(cw(again.url(), {"--json", "status", id}).out);
  CAF_CHECK_EQUAL(after["report"]["session"], t["report"]["session"]);
  CAF_CHECK_EQUAL(after["cost_usd"], 0.0104931);
  CAF_CHECK_EQUAL(again.stop(), 0);
}

CAF_TEST(an error result fails the attempt naming its subtype) {
  node_process node{data_dir, {"--claude", fake_claude}};
  auto run = cw(node.url(),
                {"run", "--provider", "claude", "--wait", "scenario:max_turns"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.out, "failed (claude: error_max_turns"));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(garbage lines and a stream cut off are counted and never crash the agent) {
  node_process node{data_dir, {"--claude", fake_claude}};
  auto garbage = cw(node.url(), {"run", "--provider", "claude", "--wait",
                                 "scenario:garbage"});
  CAF_CHECK_EQUAL(garbage.exit_code, 0);
  auto g = json::parse(
    cw(node.url(), {"--json", "status", id_of(garbage.out)}).out);
  CAF_CHECK_GREATER(g["report"]["malformed_lines"].get<int>(), 0);
  auto cut = cw(node.url(),
                {"run", "--provider", "claude", "--wait", "scenario:cutoff"});
  CAF_CHECK_EQUAL(cut.exit_code, 1);
  CAF_CHECK(contains(cut.out, "claude: the stream ended without a result "
                              "(killed by signal 9)"));
  // The cut-off line stays in the log, shown as such.
  auto logs = cw(node.url(), {"logs", id_of(cut.out)});
  CAF_CHECK(contains(logs.out, "! cut off: "));
  // The same agent runs the next task.
  auto next = cw(node.url(), {"run", "--provider", "claude", "--wait", "hi"});
  CAF_CHECK_EQUAL(next.exit_code, 0);
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a usage limit parks the task and resumes its session at the reset) {
  node_process node{data_dir, {"--claude", fake_claude}};
  auto client = std::move(*runtime::http_client::make(node.url()));
  auto argv_file = dir.file("argv.txt");
  auto reset_s = std::time(nullptr) + 5;
  auto limited = cw(node.url(),
                    {"run", "--provider", "claude", "--env",
                     "CW_FAKE_CLAUDE_RESET=" + std::to_string(reset_s),
                     "--env", "CW_FAKE_CLAUDE_ARGV_FILE=" + argv_file,
                     "scenario:usage_limit fix the bug"});
  CAF_REQUIRE_EQUAL(limited.exit_code, 0);
  auto id = limited.out.substr(0, limited.out.find('\n'));
  auto parked = await_status(*client, id, "parked");
  CAF_CHECK_EQUAL(parked["parked_until_ms"], reset_s * 1000);
  // The limited attempt is not counted.
  CAF_CHECK_EQUAL(parked["attempts"], 0);
  CAF_CHECK(contains(parked["reason"].get<std::string>(), "usage_limit"));
  // The provider takes no new work until the reset: a task submitted now
  // starts after it. (Not "is still queued when looked at": a slow machine
  // can reach the reset before the look.)
  auto other = cw(node.url(), {"run", "--provider", "claude", "second"});
  auto other_id = other.out.substr(0, other.out.find('\n'));
  auto done = await_status(*client, id, "completed");
  CAF_CHECK_EQUAL(done["attempts"], 1);
  CAF_CHECK_GREATER_OR_EQUAL(done["started_ms"].get<int64_t>(), reset_s * 1000);
  // The continuation resumed the limited run's session with the
  // continuation prompt.
  std::ifstream in{argv_file};
  std::vector<std::string> args;
  for (std::string line; std::getline(in, line);)
    args.push_back(line);
  auto at = std::find(args.begin(), args.end(), "--resume");
  CAF_REQUIRE(at != args.end() && at + 1 != args.end());
  CAF_CHECK_EQUAL(*(at + 1), "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35");
  CAF_CHECK_EQUAL(args.at(0), "-p");
  CAF_CHECK(contains(args.at(1), "usage limit. Continue"));
  auto other_done = await_status(*client, other_id, "completed");
  CAF_CHECK_GREATER_OR_EQUAL(other_done["started_ms"].get<int64_t>(),
                             reset_s * 1000);
  CAF_CHECK_EQUAL(node.stop(), 0);
  // Each step is in the journal.
  auto journal = persistence::journal::open(
    data_dir + "/journal.db", {persistence::durability::full, true});
  CAF_REQUIRE(journal);
  std::string types;
  CAF_CHECK((*journal)->read(1, [&](event& ev) {
    if (ev.entity == "task/" + id)
      types += ev.type + " ";
  }));
  CAF_CHECK_EQUAL(types, "task.submitted task.assigned task.started "
                         "task.parked task.requeued task.assigned "
                         "task.started task.finished ");
}

CAF_TEST(tasks with one resume key continue one session and its conversation) {
  auto first_args = dir.file("first.txt");
  auto second_args = dir.file("second.txt");
  {
    node_process node{data_dir, {"--claude", fake_claude}};
    auto first = cw(node.url(), {"run", "--provider", "claude", "--wait",
                                 "--resume-key", "bug-42", "--env",
                                 "CW_FAKE_CLAUDE_ARGV_FILE=" + first_args,
                                 "look at bug 42"});
    CAF_CHECK_EQUAL(first.exit_code, 0);
    auto second = cw(node.url(), {"run", "--provider", "claude", "--wait",
                                  "--resume-key", "bug-42", "--env",
                                  "CW_FAKE_CLAUDE_ARGV_FILE=" + second_args,
                                  "now fix it"});
    CAF_CHECK_EQUAL(second.exit_code, 0);
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  // The first run started a conversation; the second resumed it.
  auto first_argv = test::slurp(first_args);
  CAF_CHECK(!contains(first_argv, "--resume"));
  CAF_CHECK(contains(test::slurp(second_args),
                     "--resume\n9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35\n"));
  // The session, its tasks, turns and cost come back after a restart.
  node_process node{data_dir, {"--claude", fake_claude}};
  auto listing = json::parse(cw(node.url(), {"--json", "sessions"}).out);
  auto& sessions = listing["sessions"];
  CAF_REQUIRE_EQUAL(sessions.size(), 1u);
  auto s = sessions[0];
  CAF_CHECK_EQUAL(s["resume_key"], "bug-42");
  CAF_CHECK_EQUAL(s["state"], "idle");
  CAF_CHECK_EQUAL(s["cli_session_id"], "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35");
  CAF_CHECK_EQUAL(s["tasks"], json::array({1, 2}));
  CAF_CHECK_EQUAL(s["turns"], 2);
  // A paused session takes no task: the key moves to a new session.
  auto paused = cw(node.url(), {"session", "pause", "1"});
  CAF_CHECK_EQUAL(paused.exit_code, 0);
  auto closing = cw(node.url(), {"session", "close", "1"});
  CAF_CHECK_EQUAL(closing.exit_code, 0);
  auto again = cw(node.url(), {"session", "resume", "1"});
  CAF_CHECK_EQUAL(again.exit_code, 1);
  CAF_CHECK(contains(again.err, "cannot resume session 1: it is closed; "
                                "allowed: none"));
  auto unknown = cw(node.url(), {"session", "show", "7"});
  CAF_CHECK_EQUAL(unknown.exit_code, 1);
  CAF_CHECK(contains(unknown.err, "no session 7"));
  auto third = cw(node.url(), {"run", "--provider", "claude", "--wait",
                               "--resume-key", "bug-42", "and test it"});
  CAF_CHECK_EQUAL(third.exit_code, 0);
  auto t = json::parse(cw(node.url(), {"--json", "status", "3"}).out);
  CAF_CHECK_EQUAL(t["session"], 2);
  // --new-session starts a new conversation under the same key.
  auto fresh_args = dir.file("fresh.txt");
  auto fresh = cw(node.url(), {"run", "--provider", "claude", "--wait",
                               "--resume-key", "bug-42", "--new-session",
                               "--env", "CW_FAKE_CLAUDE_ARGV_FILE=" + fresh_args,
                               "start over"});
  CAF_CHECK_EQUAL(fresh.exit_code, 0);
  CAF_CHECK(!contains(test::slurp(fresh_args), "--resume"));
  auto f = json::parse(cw(node.url(), {"--json", "status", "4"}).out);
  CAF_CHECK_EQUAL(f["session"], 3);
  CAF_CHECK_EQUAL(f["spec"]["new_session"], true);
  // Refusals name only the commands a client may give.
  auto idle = cw(node.url(), {"session", "resume", "2"});
  CAF_CHECK_EQUAL(idle.exit_code, 1);
  CAF_CHECK(contains(idle.err, "cannot resume session 2: it is idle; "
                               "allowed: pause, close"));
  // Opening a session checks its pool and names the field at fault.
  auto client = std::move(*runtime::http_client::make(node.url()));
  auto field_of = [&](const json& body) {
    auto res = client->request("POST", "/v1/sessions", body.dump());
    CAF_REQUIRE(res);
    CAF_CHECK_EQUAL(res->status, 400u);
    return json::parse(res->body).value("field", "");
  };
  CAF_CHECK_EQUAL(field_of({{"provider", "claude"}, {"pool", "nope"}}), "pool");
  // So does a task asking for a new session where none applies.
  auto task_field = [&](const json& body) {
    auto res = client->request("POST", "/v1/tasks", body.dump());
    CAF_REQUIRE(res);
    CAF_CHECK_EQUAL(res->status, 400u);
    return json::parse(res->body).value("field", "");
  };
  CAF_CHECK_EQUAL(task_field({{"argv", {"true"}}, {"new_session", true}}),
                  "new_session");
  CAF_CHECK_EQUAL(task_field({{"provider", "claude"},
                              {"prompt", "hi"},
                              {"new_session", "yes"}}),
                  "new_session");
  CAF_CHECK_EQUAL(field_of({{"provider", "claude"},
                            {"resume_key", std::string(300, 'k')}}),
                  "resume_key");
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a task that crosses its budget while running is stopped and not retried) {
  node_process node{data_dir, {"--claude", fake_claude}};
  // Tool use at one message a second: the first message alone costs about
  // $0.0057 at sonnet's list prices, more than the task's $0.005.
  auto run = cw(node.url(), {"run", "--provider", "claude", "--wait",
                             "--budget", "0.005", "--attempts", "3", "--env",
                             "CW_FAKE_CLAUDE_DELAY=1", "scenario:tool_use"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.out, "failed (budget: task 1 spent $0.0057 of "
                              "$0.0050; its running attempt was stopped"));
  auto t = json::parse(cw(node.url(), {"--json", "status", "1"}).out);
  CAF_CHECK_EQUAL(t["status"], "failed");
  CAF_CHECK_EQUAL(t["attempts"], 1);
  // Stopped before the result line: the estimate is what it cost.
  CAF_CHECK_EQUAL(t["report"]["subtype"], "");
  auto cost = t["cost_usd"].get<double>();
  CAF_CHECK_GREATER(cost, 0.0056);
  CAF_CHECK_LESS(cost, 0.0058);
  CAF_CHECK(!contains(test::slurp(data_dir + "/logs/1.log"),
                      "\"type\":\"result\""));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a task that would start over the day budget waits parked) {
  auto cfg = dir.file("cw.toml");
  std::ofstream{cfg} << "[budgets]\nper_day_usd = 0.01\n";
  node_process node{data_dir, {"--claude", fake_claude, "--config", cfg}};
  auto client = std::move(*runtime::http_client::make(node.url()));
  // The first task spends $0.0105 of the node's $0.01 for today.
  auto first = cw(node.url(), {"run", "--provider", "claude", "--wait", "hi"});
  CAF_CHECK_EQUAL(first.exit_code, 0);
  auto second = cw(node.url(), {"run", "--provider", "claude", "again"});
  auto id = second.out.substr(0, second.out.find('\n'));
  auto parked = await_status(*client, id, "parked");
  CAF_CHECK_EQUAL(parked["reason"],
                  "budget: node spent $0.0105 of $0.0100 today");
  CAF_CHECK_EQUAL(parked["attempts"], 0);
  // It waits for the next UTC day.
  auto until = parked["parked_until_ms"].get<int64_t>();
  CAF_CHECK_EQUAL(until % 86'400'000, 0);
  CAF_CHECK_GREATER(until, parked["submitted_ms"].get<int64_t>());
  CAF_CHECK_LESS_OR_EQUAL(until - parked["submitted_ms"].get<int64_t>(),
                          86'400'000);
  // The scheduler's status shows the day's spending.
  auto status = json::parse(cw(node.url(), {"--json", "status"}).out);
  CAF_CHECK_EQUAL(status["cost_usd"]["today"], 0.0104931);
  auto text = cw(node.url(), {"status"});
  CAF_CHECK(contains(text.out, "$0.0105"));
  // So do the pool's figures in `cw agents`.
  auto agents = json::parse(cw(node.url(), {"--json", "agents"}).out);
  auto pool_today = agents["cost_usd"]["claude"]["today_usd"];
  CAF_CHECK_EQUAL(pool_today, 0.0104931);
  CAF_CHECK(contains(cw(node.url(), {"agents"}).out, "$0.0105"));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(a claude pool whose binary is missing stops the start naming it) {
  auto cfg = dir.file("cw.toml");
  std::ofstream{cfg} << "[pools.ai]\nprovider = \"claude\"\n"
                        "[pools.ai.options]\nbinary = \"/nonexistent/claude\"\n";
  auto run = test::run_node(dir.path(), {"--config", cfg, "--data-dir",
                                         data_dir, "--api", "127.0.0.1:0"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pool ai: claude option binary: "
                              "'/nonexistent/claude' is not an executable"));
  // With no such pool a claude task is refused at submission, by name.
  node_process node{data_dir, {"--claude", "/nonexistent/claude"}};
  auto refused = cw(node.url(), {"run", "--provider", "claude", "hello"});
  CAF_CHECK_EQUAL(refused.exit_code, 1);
  CAF_CHECK(contains(refused.err, "provider"));
  CAF_CHECK(contains(refused.err, "claude"));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
