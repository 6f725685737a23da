#define CAF_SUITE integration.config
#include "caf/test/unit_test.hpp"

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "runtime/config.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct fixture {
  test::temp_dir dir;

  /// Loads `text` as a config file over the defaults.
  caf::expected<node_config> load(const std::string& text) {
    auto path = dir.file("cw.toml");
    std::ofstream{path} << text;
    return load_config_file(path, default_node_config());
  }

  /// Returns the error message of loading `text`; fails if it loads.
  std::string refusal(const std::string& text) {
    auto cfg = load(text);
    CAF_REQUIRE(!cfg);
    CAF_CHECK(cfg.error() == errc::invalid_argument);
    return error_message(cfg.error());
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_tests, fixture)

CAF_TEST(pool sizes: a fixed size or a range with an idle timeout) {
  auto cfg = load("[pools.fixed]\nagents = 3\n"
                  "[pools.elastic]\nmin_agents = 1\nmax_agents = 8\n"
                  "idle_timeout_s = 30\n"
                  "[pools.burst]\nmax_agents = 4\n"
                  "[pools.plain]\n");
  CAF_REQUIRE(cfg);
  std::map<std::string, pool_config> pools;
  for (auto& p : cfg->pools)
    pools[p.name] = p;
  CAF_CHECK_EQUAL(pools["fixed"].min_agents, 3u);
  CAF_CHECK_EQUAL(pools["fixed"].max_agents, 3u);
  CAF_CHECK_EQUAL(pools["elastic"].min_agents, 1u);
  CAF_CHECK_EQUAL(pools["elastic"].max_agents, 8u);
  CAF_CHECK_EQUAL(pools["elastic"].idle_timeout_s, 30u);
  // max alone: one agent at rest; nothing: one fixed agent.
  CAF_CHECK_EQUAL(pools["burst"].min_agents, 1u);
  CAF_CHECK_EQUAL(pools["burst"].max_agents, 4u);
  CAF_CHECK_EQUAL(pools["burst"].idle_timeout_s, 300u);
  CAF_CHECK_EQUAL(pools["plain"].min_agents, 1u);
  CAF_CHECK_EQUAL(pools["plain"].max_agents, 1u);
  auto zero = load("[pools.lazy]\nmin_agents = 0\nmax_agents = 2\n");
  CAF_REQUIRE(zero);
  CAF_CHECK_EQUAL(zero->pools.front().min_agents, 0u);
}

CAF_TEST(bad pool sizes are refused naming the key and its line) {
  auto msg = refusal("[pools.p]\nmin_agents = 3\nmax_agents = 2\n");
  CAF_CHECK(contains(msg, "line 2: pools.p.min_agents: 3 is above max_agents 2"));
  msg = refusal("[pools.p]\nagents = 2\nmax_agents = 4\n");
  CAF_CHECK(contains(msg, "pools.p.agents: give either agents"));
  msg = refusal("[pools.p]\nmax_agents = 0\n");
  CAF_CHECK(contains(msg, "pools.p.max_agents must be an integer from 1 to 4096"));
  msg = refusal("[pools.p]\nidle_timeout_s = 0\n");
  CAF_CHECK(contains(msg, "pools.p.idle_timeout_s must be an integer from 1"));
  msg = refusal("[pools.p]\nmin_agents = \"two\"\n");
  CAF_CHECK(contains(msg, "pools.p.min_agents must be an integer"));
  msg = refusal("[pools.p]\nsize = 2\n");
  CAF_CHECK(contains(msg, "pools.p.size is not a known pool setting"));
}

CAF_TEST(pool variables are read from env and env_pass) {
  auto cfg = load("[pools.p]\nenv_pass = [\"CW_A\"]\n"
                  "[pools.p.env]\nTOKEN = \"t\"\nMODE = \"fast\"\n"
                  "[pools.ai]\nprovider = \"claude\"\n"
                  "[pools.quiet]\nprovider = \"claude\"\nenv_pass = []\n");
  CAF_REQUIRE(cfg);
  std::map<std::string, pool_config> pools;
  for (auto& p : cfg->pools)
    pools[p.name] = p;
  CAF_CHECK_EQUAL(pools["p"].env, (std::map<std::string, std::string>{
                                    {"MODE", "fast"}, {"TOKEN", "t"}}));
  CAF_CHECK_EQUAL(pools["p"].env_pass, (std::vector<std::string>{"CW_A"}));
  // A claude pool passes on the CLI's credentials unless told otherwise.
  CAF_CHECK_EQUAL(pools["ai"].env_pass, claude_env_pass());
  CAF_CHECK(pools["quiet"].env_pass.empty());
  // Set names of env_pass join env, which wins.
  ::setenv("CW_A", "from-node", 1);
  ::setenv("TOKEN", "not-this", 1);
  pools["p"].env_pass.push_back("TOKEN");
  pools["p"].env_pass.push_back("CW_UNSET_FOR_SURE");
  CAF_CHECK_EQUAL(pool_environment(pools["p"]),
                  (std::map<std::string, std::string>{
                    {"CW_A", "from-node"}, {"MODE", "fast"}, {"TOKEN", "t"}}));
  ::unsetenv("CW_A");
  ::unsetenv("TOKEN");
}

CAF_TEST(bad pool variables are refused naming the key) {
  auto msg = refusal("[pools.p.env]\n\"1X\" = \"v\"\n");
  CAF_CHECK(contains(msg, "pools.p.env: '1X' is not a variable name"));
  msg = refusal("[pools.p.env]\nX = 3\n");
  CAF_CHECK(contains(msg, "pools.p.env.X must be a string"));
  msg = refusal("[pools.p]\nenv = \"X=1\"\n");
  CAF_CHECK(contains(msg, "pools.p.env must be a table of strings"));
  msg = refusal("[pools.p]\nenv_pass = [\"A-B\"]\n");
  CAF_CHECK(contains(msg, "pools.p.env_pass must be an array of variable names"));
}

CAF_TEST(pool variables reach the processes and stay out of the journal) {
  ::setenv("CW_TEST_FROM_NODE", "passed-on", 1);
  auto cfg = load("[pools.default]\nagents = 1\n"
                  "env_pass = [\"CW_TEST_FROM_NODE\", \"CW_TEST_UNSET\"]\n"
                  "[pools.default.env]\nCW_TEST_TOKEN = \"s3cret-token\"\n"
                  "SHARED = \"pool\"\n");
  CAF_REQUIRE(cfg);
  cfg->shim_path = CW_SHIM_BIN;
  cfg->data_dir = dir.file("data");
  cfg->api_port = 0;
  cfg->log_level = "warn";
  auto started = node::start(*cfg);
  CAF_REQUIRE(started);
  auto& n = *started;
  auto client = std::move(
    *http_client::make("http://127.0.0.1:" + std::to_string(n->api_port())));
  json task{{"argv", {"sh", "-c", "echo $CW_TEST_TOKEN $CW_TEST_FROM_NODE "
                                  "$SHARED ${CW_TEST_UNSET-unset}"}},
            {"env", {{"SHARED", "task"}}},
            {"workspace", dir.path()}};
  auto res = client->request("POST", "/v1/tasks", task.dump(), 30s);
  CAF_REQUIRE(res && res->status == 201u);
  auto id = std::to_string(json::parse(res->body)["id"].get<uint64_t>());
  auto done = client->request("GET", "/v1/tasks/" + id + "?wait=30", "", 40s);
  CAF_REQUIRE(done);
  auto status = json::parse(done->body)["status"].get<std::string>();
  CAF_CHECK_EQUAL(status, "completed");
  CAF_CHECK_EQUAL(test::slurp(cfg->data_dir + "/logs/" + id + ".log"),
                  "s3cret-token passed-on task unset\n");
  n->stop();
  n.reset();
  ::unsetenv("CW_TEST_FROM_NODE");
  // The pool's values are config: no journal row holds them.
  auto journal = test::slurp(cfg->data_dir + "/journal.db")
                 + test::slurp(cfg->data_dir + "/journal.db-wal");
  CAF_CHECK(!contains(journal, "s3cret-token"));
  CAF_CHECK(!contains(journal, "passed-on"));
  CAF_CHECK(contains(journal, "SHARED")); // the task's own env is journaled
}

CAF_TEST_FIXTURE_SCOPE_END()
