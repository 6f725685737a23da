#define CAF_SUITE integration.config
#include "caf/test/unit_test.hpp"

#include <fstream>

#include "messages/errc.hpp"
#include "runtime/config.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;

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

CAF_TEST_FIXTURE_SCOPE_END()
