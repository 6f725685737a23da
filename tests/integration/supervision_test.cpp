#define CAF_SUITE integration.supervision
#include "caf/test/unit_test.hpp"

#include <fstream>

#include <signal.h>
#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "messages/type_ids.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/poll.hpp"
#include "tests/support/tasks.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// A real node in this process with one command agent under its pool's
/// supervisor; tasks may run twice.
struct fixture {
  test::temp_dir dir;
  std::unique_ptr<node> n;
  std::unique_ptr<http_client> client;

  fixture() {
    auto cfg = default_node_config();
    cfg.shim_path = CW_SHIM_BIN;
    cfg.data_dir = dir.file("data");
    cfg.api_port = 0;
    cfg.agents = 1;
    cfg.retry_max_attempts = 2;
    cfg.log_level = "error";
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

  /// Returns the children of supervisor `sup`: names and handles.
  std::pair<std::vector<std::string>, std::vector<caf::actor>>
  children(const caf::actor& sup) {
    caf::scoped_actor self{n->system()};
    std::pair<std::vector<std::string>, std::vector<caf::actor>> result;
    self->request(sup, 10s, children_atom_v)
      .receive(
        [&](std::vector<std::string>& names, std::vector<std::string>&,
            std::vector<caf::actor>& handles) {
          result = {std::move(names), std::move(handles)};
        },
        [&](caf::error& err) { CAF_FAIL(n->system().render(err)); });
    return result;
  }

  /// Returns the node's only agent actor.
  caf::actor the_agent() {
    auto [pools, pool_handles] = children(n->agents());
    CAF_REQUIRE_EQUAL(pools, std::vector<std::string>{"pool/default"});
    auto [agents, handles] = children(pool_handles.front());
    CAF_REQUIRE_EQUAL(agents, std::vector<std::string>{"agent-1"});
    return handles.front();
  }

  /// Returns the types of the journal's supervisor events, in order.
  std::vector<std::string> supervisor_events() {
    SQLite::Database db{dir.file("data") + "/journal.db", SQLite::OPEN_READONLY};
    SQLite::Statement q{db, "SELECT type FROM events WHERE type LIKE "
                            "'supervisor.%' AND entity LIKE '%/agent-1' "
                            "ORDER BY seq"};
    std::vector<std::string> result;
    while (q.executeStep())
      result.push_back(q.getColumn(0).getString());
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(supervision_tests, fixture)

CAF_TEST(a crashed agent is restarted and its task retried on it) {
  // The first attempt blocks on a FIFO nobody opens; the second finds a
  // marker and completes.
  auto gate = dir.file("gate");
  CAF_REQUIRE_EQUAL(::mkfifo(gate.c_str(), 0600), 0);
  auto marker = dir.file("marker");
  auto script = "if [ -e " + marker + " ]; then echo second; exit 0; fi; touch "
                + marker + "; echo first; read line < " + gate;
  auto task = call("POST", "/v1/tasks",
                   json{{"argv", {"sh", "-c", script}},
                        {"workspace", dir.path().string()}}
                     .dump());
  auto id = std::to_string(task["id"].get<uint64_t>());
  // Running, past the marker: its first attempt printed.
  CAF_REQUIRE(test::poll_until(
    [&] {
      auto log = client->request("GET", "/v1/tasks/" + id + "/log");
      return log && log->body == "first\n";
    },
    30s));
  auto first_pid = test::running_task(*client, id)["pid"].get<int64_t>();
  // Crash the agent as an exception in one of its handlers would. (Not
  // with `kill`: CAF passes that reason on to linked actors unconditionally,
  // supervisors included.)
  auto agent = the_agent();
  caf::anon_send_exit(agent, caf::exit_reason::unhandled_exception);
  auto done = call("GET", "/v1/tasks/" + id + "?wait=60");

  CAF_CHECK_EQUAL(done["status"], "completed");
  CAF_CHECK_EQUAL(done["attempts"], 2);
  // The restarted agent ran it: a new instance under the same name.
  auto agent_name = done["agent"].get<std::string>();
  CAF_CHECK_EQUAL(agent_name, "agent-1");
  CAF_CHECK_NOT_EQUAL(the_agent(), agent);
  // The crashed agent's process was stopped, not left behind.
  // (SIGTERM reaches it asynchronously: the retry may finish first.)
  CAF_CHECK(test::await_end(static_cast<pid_t>(first_pid), 10s));
  auto events = supervisor_events();
  CAF_CHECK_EQUAL(events,
                  (std::vector<std::string>{"supervisor.started",
                                            "supervisor.crashed",
                                            "supervisor.restarting",
                                            "supervisor.started"}));
  // The first attempt's failure names the crash.
  SQLite::Database db{dir.file("data") + "/journal.db", SQLite::OPEN_READONLY};
  SQLite::Statement q{db, "SELECT payload FROM events WHERE type = "
                          "'task.retry_scheduled' AND entity = ?"};
  q.bind(1, "task/" + id);
  CAF_REQUIRE(q.executeStep());
  auto payload = q.getColumn(0).getString();
  CAF_CHECK(payload.find("agent_crashed") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
