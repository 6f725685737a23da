#define CAF_SUITE integration.claude
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
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

  /// Runs a claude task of `flags` and `prompt` and waits for it; returns
  /// the command line the fake CLI got, as it wrote it to file `name`.
  std::string cli_args_of(const std::string& url,
                          std::vector<std::string> flags,
                          const std::string& prompt, const std::string& name) {
    auto file = dir.file(name);
    std::vector<std::string> args{"run", "--provider", "claude", "--wait"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--env", "CW_FAKE_CLAUDE_ARGV_FILE=" + file,
                             prompt});
    CAF_CHECK_EQUAL(cw(url, std::move(args)).exit_code, 0);
    return test::slurp(file);
  }

  /// Posts `body` to `path`, expects it refused, and returns the field the
  /// refusal names.
  static std::string refused_field(runtime::http_client& client,
                                   const std::string& path, const json& body) {
    auto res = client.request("POST", path, body.dump());
    CAF_REQUIRE(res);
    CAF_CHECK_EQUAL(res->status, 400u);
    return json::parse(res->body).value("field", "");
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
  // The account is held until the reset, and the scheduler says so.
  auto status = json::parse(cw(node.url(), {"--json", "status"}).out);
  CAF_REQUIRE_EQUAL(status["holds"].size(), 1u);
  CAF_CHECK_EQUAL(status["holds"][0]["provider"], "claude");
  CAF_CHECK_EQUAL(status["holds"][0]["account"], "default");
  CAF_CHECK_EQUAL(status["holds"][0]["until_ms"], reset_s * 1000);
  CAF_CHECK_EQUAL(status["holds"][0]["task"].dump(), id);
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
  std::string holds;
  CAF_CHECK((*journal)->read(1, [&](event& ev) {
    if (ev.entity == "task/" + id)
      types += ev.type + " ";
    if (ev.entity == "limit/claude/default")
      holds += ev.type + " ";
  }));
  CAF_CHECK_EQUAL(types, "task.submitted task.assigned task.started "
                         "task.parked task.requeued task.assigned "
                         "task.started task.finished ");
  CAF_CHECK_EQUAL(holds, "limit.held limit.lifted ");
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
  auto fresh = cli_args_of(node.url(),
                           {"--resume-key", "bug-42", "--new-session"},
                           "start over", "fresh.txt");
  CAF_CHECK(!contains(fresh, "--resume"));
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
    return refused_field(*client, "/v1/sessions", body);
  };
  CAF_CHECK_EQUAL(field_of({{"provider", "claude"}, {"pool", "nope"}}), "pool");
  // So does a task asking for a new session where none applies.
  auto task_field = [&](const json& body) {
    return refused_field(*client, "/v1/tasks", body);
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

CAF_TEST(pool and task options reach the CLI and the report carries the stream events) {
  auto mcp = dir.file("mcp.json");
  std::ofstream{mcp} << "{\"mcpServers\": {}}\n";
  auto cfg = dir.file("cw.toml");
  std::ofstream{cfg} << "[pools.ai]\nprovider = \"claude\"\n"
                        "[pools.ai.options]\nbinary = \"" << fake_claude
                     << "\"\nmodel = \"sonnet\"\n"
                        "permission_mode = \"acceptEdits\"\n"
                        "allowed_tools = [\"Edit\", \"Bash(git log:*)\"]\n"
                        "max_turns = 30\nmcp_config = \"" << mcp << "\"\n";
  node_process node{data_dir, {"--config", cfg}};
  auto by_pool = cli_args_of(node.url(), {}, "hi", "pool-args.txt");
  CAF_CHECK(contains(by_pool,
                     "--mcp-config\n" + mcp + "\n--model\nsonnet\n"
                       "--permission-mode\nacceptEdits\n--max-turns\n30\n"
                       "--allowedTools\nEdit,Bash(git log:*)\n"));
  // The task's own settings win over the pool's.
  auto by_task = cli_args_of(node.url(),
                             {"--permission-mode", "plan", "--allowed-tool",
                              "Read", "--allowed-tool", "Grep", "--max-turns",
                              "3", "--model", "haiku"},
                             "scenario:tool_use list the files",
                             "task-args.txt");
  CAF_CHECK(contains(by_task,
                     "--mcp-config\n" + mcp + "\n--model\nhaiku\n"
                       "--permission-mode\nplan\n--max-turns\n3\n"
                       "--allowedTools\nRead,Grep\n"));
  // The report carries what the stream said, and keeps it over a restart.
  auto t = json::parse(cw(node.url(), {"--json", "status", "2"}).out);
  CAF_CHECK_EQUAL(t["spec"]["permission_mode"], "plan");
  CAF_CHECK_EQUAL(t["spec"]["allowed_tools"], json::array({"Read", "Grep"}));
  auto& r = t["report"];
  CAF_CHECK_EQUAL(r["tools"].size(), 11u);
  CAF_CHECK_EQUAL(r["tool_calls"], json({{"Bash", 1}, {"Read", 1}}));
  CAF_CHECK_EQUAL(r["tool_errors"], 1);
  CAF_CHECK_EQUAL(r["duration_api_ms"], 10342);
  CAF_CHECK(!r.contains("is_error"));
  auto shown = cw(node.url(), {"status", "2"});
  CAF_CHECK(contains(shown.out, "tools used: Bash 1, Read 1\n"));
  CAF_CHECK(contains(shown.out, "turns:      5, 2 tool uses (1 failed)\n"));
  // Options the CLI would misread, or that fit no claude task, are refused
  // naming the field.
  auto client = std::move(*runtime::http_client::make(node.url()));
  auto field_of = [&](const json& body) {
    return refused_field(*client, "/v1/tasks", body);
  };
  CAF_CHECK_EQUAL(field_of({{"provider", "claude"},
                            {"prompt", "hi"},
                            {"permission_mode", "yolo"}}),
                  "permission_mode");
  CAF_CHECK_EQUAL(field_of({{"provider", "claude"},
                            {"prompt", "hi"},
                            {"allowed_tools", {"-x"}}}),
                  "allowed_tools[0]");
  CAF_CHECK_EQUAL(field_of({{"argv", {"true"}}, {"allowed_tools", {"Read"}}}),
                  "allowed_tools");
  auto bad_flag = cw(node.url(), {"run", "--provider", "claude",
                                  "--permission-mode", "yolo", "hi"});
  CAF_CHECK_EQUAL(bad_flag.exit_code, 2);
  CAF_CHECK(contains(bad_flag.err, "--permission-mode"));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(two resume keys keep two conversations apart) {
  node_process node{data_dir, {"--claude", fake_claude}};
  auto run = [&](const std::string& key, const std::string& session,
                 const std::string& args_file) {
    std::vector<std::string> args{"run", "--provider", "claude", "--wait",
                                  "--resume-key", key, "--env",
                                  "CW_FAKE_CLAUDE_ARGV_FILE=" + args_file};
    // A key's first task starts a conversation of its own (else tier 2
    // would continue the other key's idle one).
    if (!session.empty())
      args.push_back("--new-session");
    if (!session.empty())
      args.insert(args.end(), {"--env", "CW_FAKE_CLAUDE_SESSION=" + session});
    args.push_back("work on " + key);
    CAF_CHECK_EQUAL(cw(node.url(), args).exit_code, 0);
    return test::slurp(args_file);
  };
  const std::string a = "aaaaaaaa-0000-4000-8000-000000000001";
  const std::string b = "bbbbbbbb-0000-4000-8000-000000000002";
  run("key-a", a, dir.file("a1.txt"));
  auto b1 = run("key-b", b, dir.file("b1.txt"));
  CAF_CHECK(!contains(b1, "--resume"));
  // Each key's next task resumes its own conversation, not the other's.
  auto a2 = run("key-a", "", dir.file("a2.txt"));
  CAF_CHECK(contains(a2, "--resume\n" + a + "\n"));
  auto b2 = run("key-b", "", dir.file("b2.txt"));
  CAF_CHECK(contains(b2, "--resume\n" + b + "\n"));
  auto listing = json::parse(cw(node.url(), {"--json", "sessions"}).out);
  CAF_REQUIRE_EQUAL(listing["sessions"].size(), 2u);
  CAF_CHECK_EQUAL(listing["sessions"][0]["cli_session_id"], a);
  CAF_CHECK_EQUAL(listing["sessions"][0]["tasks"], json::array({1, 3}));
  CAF_CHECK_EQUAL(listing["sessions"][1]["cli_session_id"], b);
  CAF_CHECK_EQUAL(listing["sessions"][1]["tasks"], json::array({2, 4}));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST(costs and tokens are kept per task session pool workflow and day) {
  node_process node{data_dir, {"--claude", fake_claude}};
  for (int i = 0; i < 2; ++i)
    CAF_CHECK_EQUAL(cw(node.url(), {"run", "--provider", "claude", "--wait",
                                    "--resume-key", "k", "hi"})
                      .exit_code,
                    0);
  // A workflow of one claude task, with a budget of its own.
  auto wf = dir.file("wf.json");
  std::ofstream{wf} << R"({"name": "w", "budget_usd": 5,
    "tasks": [{"id": "ask", "provider": "claude", "prompt": "hi"}]})";
  CAF_CHECK_EQUAL(cw(node.url(), {"workflow", "submit", "--wait", wf}).exit_code,
                  0);
  // Each run: $0.0104931, 4 in, 9 out, 13120 cache read, 1520 written.
  auto costs = json::parse(cw(node.url(), {"--json", "costs"}).out);
  CAF_REQUIRE_EQUAL(costs["days"].size(), 1u);
  auto& today = costs["days"][0];
  auto now = std::time(nullptr);
  char date[16];
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  CAF_CHECK_EQUAL(today["day"], date);
  CAF_CHECK_EQUAL(today["tokens"]["input"], 12);
  CAF_CHECK_EQUAL(today["tokens"]["cache_read"], 3 * 13120);
  CAF_CHECK_EQUAL(today["pools"]["claude"]["tokens"]["output"], 27);
  CAF_CHECK_EQUAL(costs["total"]["tokens"]["cache_creation"], 3 * 1520);
  auto usd = costs["total"]["usd"].get<double>();
  CAF_CHECK(usd > 3 * 0.0104930 && usd < 3 * 0.0104932);
  auto status = json::parse(cw(node.url(), {"--json", "status"}).out);
  CAF_CHECK_EQUAL(status["tokens"]["today"]["input"], 12);
  CAF_CHECK_EQUAL(status["tokens"]["pools_today"]["claude"]["output"], 27);
  auto agents = json::parse(cw(node.url(), {"--json", "agents"}).out);
  CAF_CHECK_EQUAL(agents["cost_usd"]["claude"]["total_tokens"]["input"], 12);
  auto sessions = json::parse(cw(node.url(), {"--json", "sessions"}).out);
  // The workflow's task, without a key, continued the idle session (tier
  // two): three runs in one session.
  CAF_CHECK_EQUAL(sessions["sessions"][0]["tasks"], json::array({1, 2, 3}));
  CAF_CHECK_EQUAL(sessions["sessions"][0]["tokens"]["input"], 12);
  auto task = json::parse(cw(node.url(), {"--json", "status", "1"}).out);
  CAF_CHECK_EQUAL(task["tokens"]["cache_read"], 13120);
  auto w = json::parse(cw(node.url(), {"--json", "workflow", "status", "1"}).out);
  CAF_CHECK_EQUAL(w["tokens"]["input"], 4);
  CAF_CHECK_EQUAL(w["budget_usd"], 5.0);
  CAF_CHECK(w["cost_usd"].get<double>() > 0.0104);
  // The tables a person reads.
  auto table = cw(node.url(), {"costs", "--days", "1"});
  CAF_CHECK(contains(table.out, std::string{date} + "  (node)"));
  CAF_CHECK(contains(cw(node.url(), {"status", "1"}).out,
                     "tokens:     4 in, 9 out, 13120 cache read, 1520 cache "
                     "written (all attempts)\n"));
  // Bad input names the field.
  auto client = std::move(*runtime::http_client::make(node.url()));
  auto res = client->request("GET", "/v1/costs?days=-1", "", 30s);
  CAF_REQUIRE(res);
  CAF_CHECK_EQUAL(res->status, 400u);
  CAF_CHECK_EQUAL(json::parse(res->body).value("field", ""), "days");
  auto neg = client->request("POST", "/v1/workflows",
                             R"({"budget_usd": -1, "tasks": []})", 30s);
  CAF_REQUIRE(neg);
  CAF_CHECK_EQUAL(neg->status, 400u);
  CAF_CHECK_EQUAL(json::parse(neg->body).value("field", ""), "budget_usd");
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

CAF_TEST(a missing claude binary is named at start up and on the task) {
  auto cfg = dir.file("cw.toml");
  std::ofstream{cfg} << "[pools.ai]\nprovider = \"claude\"\n"
                        "[pools.ai.options]\nbinary = \"/nonexistent/claude\"\n";
  auto run = test::run_node(dir.path(), {"--config", cfg, "--data-dir",
                                         data_dir, "--api", "127.0.0.1:0"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pool ai: claude option binary: "
                              "'/nonexistent/claude' is not an executable"));
  // A CLI named on purpose must be there.
  auto named = test::run_node(dir.path(), {"--data-dir", data_dir, "--api",
                                           "127.0.0.1:0", "--claude",
                                           "/nonexistent/claude"});
  CAF_CHECK_EQUAL(named.exit_code, 2);
  CAF_CHECK(contains(named.err, "--claude: '/nonexistent/claude' is not an "
                                "executable file"));
  // The default CLI not on PATH: the node runs without a claude pool and
  // says why, and a claude task is refused naming what is missing.
  auto empty_dir = dir.file("empty-bin");
  std::filesystem::create_directories(empty_dir);
  std::map<std::string, std::string> no_claude{{"PATH", empty_dir}};
  auto check = test::run_node(dir.path(), {"--data-dir", data_dir, "--check"},
                              no_claude);
  CAF_CHECK_EQUAL(check.exit_code, 0);
  const std::string why = "the claude CLI ('claude') was not found on PATH "
                          "when the node started: install Claude Code, or "
                          "start cw-node with --claude PATH (or "
                          "claude_binary in its config)";
  CAF_CHECK(contains(check.out, "no claude pool: " + why));
  node_process node{data_dir, {}, no_claude};
  auto refused = cw(node.url(), {"run", "--provider", "claude", "hello"});
  CAF_CHECK_EQUAL(refused.exit_code, 1);
  CAF_CHECK(contains(refused.err,
                     "provider: no agent runs provider 'claude': " + why));
  CAF_CHECK_EQUAL(node.stop(), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
