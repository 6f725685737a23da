#define CAF_SUITE integration.pools
#include "caf/test/unit_test.hpp"

#include <algorithm>
#include <set>

#include <signal.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/poll.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// A real node in this process whose only pool is elastic: no agent at
/// rest, at most two, an idle agent stops after one second.
struct fixture {
  test::temp_dir dir;
  std::unique_ptr<node> n;
  std::unique_ptr<http_client> client;

  fixture() {
    auto cfg = default_node_config();
    cfg.shim_path = CW_SHIM_BIN;
    cfg.data_dir = dir.file("data");
    cfg.api_port = 0;
    cfg.log_level = "warn";
    pool_config pool;
    pool.name = "elastic";
    pool.min_agents = 0;
    pool.max_agents = 2;
    pool.idle_timeout_s = 1;
    cfg.pools.push_back(pool);
    auto started = node::start(cfg);
    CAF_REQUIRE(started);
    n = std::move(*started);
    client = std::move(
      *http_client::make("http://127.0.0.1:" + std::to_string(n->api_port())));
  }

  json call(const std::string& method, const std::string& target,
            const std::string& body = {}) {
    auto res = client->request(method, target, body, 90s);
    CAF_REQUIRE(res);
    return json::parse(res->body);
  }

  size_t agent_count() {
    return call("GET", "/v1/agents")["agents"].size();
  }

  /// Returns `child: reason` of each supervisor event of type `type` under
  /// `pool/elastic`, in order.
  std::vector<std::string> pool_events(const std::string& type) {
    SQLite::Database db{dir.file("data") + "/journal.db", SQLite::OPEN_READONLY};
    SQLite::Statement q{db, "SELECT payload FROM events WHERE type = ? AND "
                            "entity LIKE 'supervisor/pool/elastic/%' "
                            "ORDER BY seq"};
    q.bind(1, type);
    std::vector<std::string> result;
    while (q.executeStep()) {
      auto p = json::parse(q.getColumn(0).getString());
      result.push_back(p.value("child", "") + ": " + p.value("reason", ""));
    }
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(pools_tests, fixture)

CAF_TEST(an elastic pool grows for its backlog and shrinks back when idle) {
  CAF_CHECK_EQUAL(agent_count(), 0u);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto task = call("POST", "/v1/tasks",
                     json{{"argv", {"sh", "-c", "sleep 0.5; echo done"}},
                          {"workspace", dir.path().string()}}
                       .dump());
    ids.push_back(std::to_string(task["id"].get<uint64_t>()));
  }
  std::vector<json> done;
  for (auto& id : ids)
    done.push_back(call("GET", "/v1/tasks/" + id + "?wait=60"));
  std::set<std::string> agents;
  for (auto& t : done) {
    CAF_CHECK_EQUAL(t["status"], "completed");
    agents.insert(t["agent"].get<std::string>());
  }
  // Two agents were grown for three tasks, never a third.
  CAF_CHECK_EQUAL(agents, (std::set<std::string>{"elastic-1", "elastic-2"}));
  CAF_CHECK_EQUAL(pool_events("supervisor.started").size(), 2u);
  // Never more than two tasks at once.
  for (auto& t : done) {
    auto at = t["started_ms"].get<int64_t>();
    auto overlapping = std::count_if(done.begin(), done.end(), [&](const json& u) {
      return u["started_ms"].get<int64_t>() <= at
             && at < u["finished_ms"].get<int64_t>();
    });
    CAF_CHECK_LESS_OR_EQUAL(overlapping, 2);
  }
  // Idle for a second: both stop, journaled with the reason. The wait is
  // bounded by time; the idle timer decides when.
  CAF_CHECK(test::poll_until([&] { return agent_count() == 0; }, 30s));
  // The supervisor stops them after the scheduler let go of them, and the
  // journal records that a moment later: wait for both rows, bounded.
  std::vector<std::string> stopped;
  test::poll_until(
    [&] {
      stopped = pool_events("supervisor.stopped");
      return stopped.size() >= 2;
    },
    30s);
  std::sort(stopped.begin(), stopped.end());
  CAF_CHECK_EQUAL(stopped,
                  (std::vector<std::string>{"elastic-1: idle for 1 s",
                                            "elastic-2: idle for 1 s"}));
  // No process is left behind: every task's process and group are gone.
  for (auto& t : done) {
    auto pid = static_cast<pid_t>(t["pid"].get<int64_t>());
    CAF_REQUIRE_GREATER(pid, 0);
    CAF_CHECK_NOT_EQUAL(::kill(pid, 0), 0);
    CAF_CHECK_NOT_EQUAL(::kill(-pid, 0), 0);
  }
  // New work grows the pool again.
  auto again = call("POST", "/v1/tasks",
                    json{{"argv", {"true"}}, {"workspace", dir.path().string()}}
                      .dump());
  auto id = std::to_string(again["id"].get<uint64_t>());
  auto last = call("GET", "/v1/tasks/" + id + "?wait=60");
  CAF_CHECK_EQUAL(last["status"], "completed");
}

CAF_TEST_FIXTURE_SCOPE_END()
