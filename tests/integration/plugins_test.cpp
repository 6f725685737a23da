#define CAF_SUITE integration.plugins
#include "caf/test/unit_test.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "persistence/journal.hpp"
#include "runtime/http_client.hpp"
#include "runtime/plugin/api.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using json = nlohmann::json;

namespace {

using test::node_process;
using test::run_node;
using test::slurp;
using test::temp_dir;
using test::wait_exit;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

struct fixture {
  temp_dir dir;
  std::string data_dir = dir.file("data");

  /// Writes a config file with `text` and returns its path.
  std::string config(const std::string& text) {
    auto path = dir.file("cw.toml");
    std::ofstream{path} << text;
    return path;
  }

  /// Runs cw-node on this fixture's data dir; it must refuse to start.
  test::node_run refused_start(std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", data_dir, "--api", "127.0.0.1:0"});
    return run_node(dir.path(), std::move(args));
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(plugins_tests, fixture)

CAF_TEST(a plugin provider runs a task and its observer sees every event) {
  auto cfg = config("[pools.echoes]\nprovider = \"echo\"\nagents = 1\n");
  uint64_t id = 0;
  {
    node_process node{data_dir,
                      {"--config", cfg, "--plugin", CW_EXAMPLE_PLUGIN}};
    auto client = runtime::http_client::make(node.url());
    CAF_REQUIRE(client);
    auto body = json{{"provider", "echo"},
                     {"argv", {"hello", "plugin"}},
                     {"pool", "echoes"},
                     {"workspace", dir.path().string()}};
    auto res = (*client)->request("POST", "/v1/tasks", body.dump());
    CAF_REQUIRE(res);
    CAF_REQUIRE_EQUAL(res->status, 201u);
    id = json::parse(res->body)["id"].get<uint64_t>();
    auto task = "/v1/tasks/" + std::to_string(id);
    auto done = (*client)->request("GET", task + "?wait=60");
    CAF_REQUIRE(done);
    auto info = json::parse(done->body);
    CAF_CHECK_EQUAL(info["status"], "completed");
    CAF_CHECK_EQUAL(info["agent"], "echoes-1");
    auto log = (*client)->request("GET", task + "/log");
    CAF_REQUIRE(log);
    CAF_CHECK_EQUAL(log->body, "hello plugin\n");
    // A command task is refused: no pool of this node runs `command`.
    auto cmd = json{{"argv", {"true"}}, {"workspace", dir.path().string()}};
    auto refused = (*client)->request("POST", "/v1/tasks", cmd.dump());
    CAF_REQUIRE(refused);
    CAF_CHECK_EQUAL(refused->status, 400u);
    CAF_CHECK_EQUAL(node.stop(), 0);
  }
  // The observer saw exactly what the journal holds, the commit made while
  // the node stopped included.
  auto journal = persistence::journal::open(data_dir + "/journal.db",
                                            {persistence::durability::full,
                                             true});
  CAF_REQUIRE(journal);
  std::string expected;
  CAF_CHECK((*journal)->read(1, [&](event& ev) {
    expected += std::to_string(ev.seq) + " " + ev.type + " " + ev.entity
                + "\n";
  }));
  auto observed = slurp(data_dir + "/event-log.txt");
  CAF_CHECK_EQUAL(observed, expected);
  auto entity = " task/" + std::to_string(id) + "\n";
  CAF_CHECK(contains(observed, "task.submitted" + entity));
  CAF_CHECK(contains(observed, "task.finished" + entity));
}

CAF_TEST(plugins in the config file load relative to the file) {
  auto plugin = std::filesystem::path{CW_EXAMPLE_PLUGIN};
  auto rel = std::filesystem::relative(plugin, dir.path());
  CAF_REQUIRE(!rel.empty() && rel.is_relative());
  auto cfg = config("plugins = [\"" + rel.string()
                    + "\"]\n[pools.echoes]\nprovider = \"echo\"\n");
  auto run = run_node(dir.path(), {"--config", cfg, "--check"});
  CAF_CHECK_EQUAL(run.exit_code, 0);
  CAF_CHECK(contains(run.out, "providers: claude, command, echo, noop\n"));
  CAF_CHECK(contains(run.out, "observers: event-log\n"));
  CAF_CHECK(contains(run.out, "pools: echoes (echo, 1 agents)\n"));
}

CAF_TEST(check refuses pool options that their provider refuses) {
  // The plugin's own check: the echo provider takes no options.
  auto echo = config("[pools.echoes]\nprovider = \"echo\"\n"
                     "[pools.echoes.options]\nloud = true\n");
  auto run = run_node(dir.path(), {"--config", echo, "--plugin",
                                   CW_EXAMPLE_PLUGIN, "--check"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pool echoes: the echo provider takes no "
                              "options (got loud)"));
  // The built-in ones: claude's option values, command's none.
  auto claude = config("[pools.ai]\nprovider = \"claude\"\n"
                       "[pools.ai.options]\nbinary = \"/bin/true\"\n"
                       "permission_mode = \"yolo\"\n");
  run = run_node(dir.path(), {"--config", claude, "--check"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pool ai: claude option permission_mode: "
                              "'yolo' is not one of"));
  auto command = config("[pools.p]\n[pools.p.options]\nmodel = \"x\"\n");
  run = run_node(dir.path(), {"--config", command, "--check"});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pool p: the command provider takes no "
                              "options (got model)"));
  // The start is refused the same way, before the journal exists.
  run = refused_start({"--config", command});
  CAF_CHECK(contains(run.err, "pool p: the command provider takes no "
                              "options (got model)"));
  CAF_CHECK(!std::filesystem::exists(data_dir + "/journal.db"));
}

CAF_TEST(an unknown provider is an error naming the pool and the known ones) {
  auto cfg = config("[pools.mars]\nprovider = \"martian\"\n");
  auto run = refused_start({"--config", cfg});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "pools.mars.provider: unknown provider "
                              "'martian' (known: claude, command, noop;"));
  CAF_CHECK(!std::filesystem::exists(data_dir + "/journal.db"));
  // With the plugin loaded its provider is among the known ones.
  auto with_plugin = refused_start(
    {"--config", cfg, "--plugin", CW_EXAMPLE_PLUGIN});
  CAF_CHECK_EQUAL(with_plugin.exit_code, 1);
  CAF_CHECK(contains(with_plugin.err, "(known: claude, command, echo, noop;"));
}

CAF_TEST(a plugin built against another API version is refused) {
  auto run = refused_start({"--plugin", CW_WRONG_VERSION_PLUGIN});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, std::string{"plugin "} + CW_WRONG_VERSION_PLUGIN
                                + ": built against cw plugin API version "
                                  "999, but this cw-node supports version "
                                + std::to_string(CW_PLUGIN_API_VERSION)));
  // Refused before its init ran.
  CAF_CHECK(!contains(run.err, "init of a plugin"));
}

CAF_TEST(unloadable plugins are refused at start-up naming the path) {
  auto missing = dir.file("no-such-plugin.so");
  auto run = refused_start({"--plugin", missing});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "plugin " + missing + ": no such file"));
  auto not_elf = config("not a library");
  run = refused_start({"--plugin", not_elf});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "plugin " + not_elf + ": cannot load: "));
  run = refused_start({"--plugin", CW_NO_ENTRY_PLUGIN});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, std::string{"plugin "} + CW_NO_ENTRY_PLUGIN
                                + ": no entry point cw_plugin_entry"));
  run = refused_start({"--plugin", CW_DUPLICATE_PLUGIN});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "provider 'command' is already registered "
                              "(by built-in)"));
  // None of them got as far as the journal.
  CAF_CHECK(!std::filesystem::exists(data_dir + "/journal.db"));
}

CAF_TEST(a provider that spawns no agent stops the start cleanly) {
  auto cfg = config("[pools.void]\nprovider = \"null\"\n");
  auto run = refused_start({"--config", cfg, "--plugin", CW_NULL_AGENT_PLUGIN});
  CAF_CHECK_EQUAL(run.exit_code, 1);
  CAF_CHECK(contains(run.err, "provider 'null' (plugin null-agent ("
                                + std::string{CW_NULL_AGENT_PLUGIN}
                                + ")) cannot spawn agent void-1: the factory "
                                  "returned no actor"));
  // It failed after its actors were running: they were stopped, not left
  // to hang the exit (run_node bounds the wait).
  CAF_CHECK(std::filesystem::exists(data_dir + "/journal.db"));
}

CAF_TEST_FIXTURE_SCOPE_END()
