#define CAF_SUITE integration.http_api
#include "caf/test/unit_test.hpp"

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/poll.hpp"
#include "tests/support/tasks.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;
using json = nlohmann::json;

namespace {

/// A real node in this process on a free loopback port, driven over HTTP.
struct fixture {
  test::temp_dir dir;
  std::unique_ptr<node> n;
  std::unique_ptr<http_client> client;

  fixture() {
    auto cfg = default_node_config();
    cfg.shim_path = CW_SHIM_BIN;
    cfg.data_dir = dir.file("data");
    cfg.api_port = 0;
    cfg.agents = 2;
    cfg.log_level = "warn";
    auto started = node::start(cfg);
    CAF_REQUIRE(started);
    n = std::move(*started);
    client = std::move(
      *http_client::make("http://127.0.0.1:" + std::to_string(n->api_port())));
  }

  /// The tasks' workspace: a directory of the test's own (the node watches
  /// it).
  std::string ws() const {
    return dir.path().string();
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}) {
    auto res = client->request(method, target, body);
    CAF_REQUIRE(res);
    return *res;
  }

  /// Checks a 4xx answer whose JSON body names `field`.
  void check_refused(const http_response& res, unsigned status,
                     const std::string& field) {
    CAF_CHECK_EQUAL(res.status, status);
    auto j = json::parse(res.body, nullptr, false);
    CAF_REQUIRE(j.is_object());
    CAF_CHECK(j.contains("error"));
    CAF_CHECK(j.contains("message"));
    if (!field.empty())
      CAF_CHECK_EQUAL(j.value("field", ""), field);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(http_api_tests, fixture)

CAF_TEST(a submitted task runs and its log is served) {
  auto body = json{{"argv", {"sh", "-c", "echo out; echo err >&2; exit 4"}},
                   {"workspace", dir.path().string()},
                   {"priority", 3}}
                .dump();
  auto res = call("POST", "/v1/tasks", body);
  CAF_REQUIRE_EQUAL(res.status, 201u);
  auto task = json::parse(res.body);
  auto id = std::to_string(task["id"].get<uint64_t>());
  CAF_CHECK_EQUAL(task["spec"]["priority"], 3);
  auto done = json::parse(call("GET", "/v1/tasks/" + id + "?wait=60").body);
  CAF_CHECK_EQUAL(done["status"], "failed");
  CAF_CHECK_EQUAL(done["exit_code"], 4);
  CAF_CHECK_EQUAL(done["reason"], "exit code 4");
  auto log = call("GET", "/v1/tasks/" + id + "/log");
  CAF_CHECK_EQUAL(log.status, 200u);
  CAF_CHECK_EQUAL(log.body, "out\nerr\n");
  auto tail = call("GET", "/v1/tasks/" + id + "/log?offset=4");
  CAF_CHECK_EQUAL(tail.body, "err\n");
  auto failed = json::parse(call("GET", "/v1/tasks?status=failed").body);
  CAF_CHECK_EQUAL(failed["tasks"].size(), 1u);
  auto queued = json::parse(call("GET", "/v1/tasks?status=queued").body);
  CAF_CHECK_EQUAL(queued["tasks"].size(), 0u);
  auto health = json::parse(call("GET", "/health").body);
  CAF_CHECK_EQUAL(health["status"], "ok");
  CAF_CHECK_EQUAL(health["tasks"]["failed"], 1);
}

CAF_TEST(bad input is refused with the problem named) {
  check_refused(call("POST", "/v1/tasks", "{not json"), 400, "body");
  check_refused(call("POST", "/v1/tasks", "[1,2]"), 400, "body");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["true"],"color":"red"})"),
                400, "color");
  check_refused(call("POST", "/v1/tasks", R"({"argv":"true"})"), 400, "argv");
  check_refused(call("POST", "/v1/tasks", R"({"argv":[1]})"), 400, "argv");
  check_refused(call("POST", "/v1/tasks", R"({"argv":[]})"), 400, "argv");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["x"],"priority":"high"})"),
                400, "priority");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["x"],"priority":100000})"),
                400, "priority");
  check_refused(call("POST", "/v1/tasks",
                     R"({"argv":["x"],"workspace":"/no/such/dir"})"),
                400, "workspace");
  check_refused(call("POST", "/v1/tasks",
                     R"({"argv":["x"],"provider":"nope"})"),
                400, "provider");
  check_refused(call("GET", "/v1/tasks/12345"), 404, "");
  check_refused(call("GET", "/v1/tasks/12345/log"), 404, "");
  check_refused(call("GET", "/v1/tasks/abc"), 400, "id");
  check_refused(call("GET", "/v1/tasks?status=done"), 400, "status");
  check_refused(call("GET", "/v1/tasks?limit=-1"), 400, "limit");
  check_refused(call("GET", "/v1/tasks/1?wait=forever"), 400, "wait");
  check_refused(call("DELETE", "/v1/tasks"), 405, "");
  check_refused(call("GET", "/v2/nothing"), 404, "");
  // Nothing was recorded by any of these.
  auto all = json::parse(call("GET", "/v1/tasks").body);
  CAF_CHECK_EQUAL(all["tasks"].size(), 0u);
}

CAF_TEST(a program that does not exist fails its task with the reason) {
  auto res = call("POST", "/v1/tasks",
                  json{{"argv", {"cw-definitely-not-installed"}}, {"workspace", ws()}}.dump());
  CAF_REQUIRE_EQUAL(res.status, 201u);
  auto id = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  auto done = json::parse(call("GET", "/v1/tasks/" + id + "?wait=60").body);
  CAF_CHECK_EQUAL(done["status"], "failed");
  CAF_CHECK_EQUAL(done["reason"],
                  "program not found: cw-definitely-not-installed");
  // The agent survived: the next task completes.
  res = call("POST", "/v1/tasks", json{{"argv", {"true"}}, {"workspace", ws()}}.dump());
  id = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  done = json::parse(call("GET", "/v1/tasks/" + id + "?wait=60").body);
  CAF_CHECK_EQUAL(done["status"], "completed");
}

CAF_TEST(agents and breakers are listed) {
  auto res = call("GET", "/v1/agents");
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto j = json::parse(res.body);
  CAF_REQUIRE_EQUAL(j["agents"].size(), 2u);
  auto first = j["agents"][0];
  CAF_CHECK_EQUAL(first["name"], "agent-1");
  CAF_CHECK_EQUAL(first["pool"], "default");
  CAF_CHECK_EQUAL(first["provider"], "command");
  CAF_CHECK_EQUAL(first["load"], 0);
  CAF_CHECK(j["breakers"].is_array());
  check_refused(call("POST", "/v1/agents"), 405, "");
}

CAF_TEST(a second node on the same data dir is refused) {
  auto cfg = n->config();
  cfg.api_port = 0;
  auto second = node::start(cfg);
  CAF_REQUIRE(!second);
  CAF_CHECK(describe(second.error()).find("in use by another cw-node")
            != std::string::npos);
}

CAF_TEST(a task that fails twice succeeds on its third attempt) {
  auto script = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); "
                "echo $n > count; echo attempt $n; [ $n -ge 3 ]";
  auto body = json{{"argv", {"sh", "-c", script}},
                   {"workspace", dir.path().string()},
                   {"retry", {{"max_attempts", 3}, {"base_delay_ms", 20},
                              {"jitter", 0}}}};
  auto res = call("POST", "/v1/tasks", body.dump());
  CAF_REQUIRE_EQUAL(res.status, 201u);
  auto id = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  json done;
  for (int i = 0; i < 10; ++i) { // long polls end early on a retry
    done = json::parse(call("GET", "/v1/tasks/" + id + "?wait=30").body);
    if (done["status"] == "completed" || done["status"] == "failed")
      break;
  }
  CAF_CHECK_EQUAL(done["status"], "completed");
  CAF_CHECK_EQUAL(done["attempts"], 3);
  CAF_CHECK_EQUAL(done["dead"], false);
  auto log = call("GET", "/v1/tasks/" + id + "/log");
  CAF_CHECK_EQUAL(log.body, "attempt 1\nattempt 2\nattempt 3\n");
}

CAF_TEST(a diamond of dependencies runs in order) {
  // a -> (b, c) -> d; each appends its name to one file in the workspace.
  auto submit_step = [&](const std::string& name, std::vector<uint64_t> deps) {
    auto body = json{{"argv", {"sh", "-c", "echo " + name + " >> order"}},
                     {"workspace", dir.path().string()},
                     {"depends_on", deps}};
    auto res = call("POST", "/v1/tasks", body.dump());
    CAF_REQUIRE_EQUAL(res.status, 201u);
    return json::parse(res.body)["id"].get<uint64_t>();
  };
  auto a = submit_step("a", {});
  auto b = submit_step("b", {a});
  auto c = submit_step("c", {a});
  auto d = submit_step("d", {b, c});
  auto done = json::parse(call("GET", "/v1/tasks/" + std::to_string(d) + "?wait=60").body);
  CAF_CHECK_EQUAL(done["status"], "completed");
  auto order = cw::test::slurp(dir.file("order"));
  CAF_REQUIRE_EQUAL(order.size(), 8u);
  CAF_CHECK_EQUAL(order.substr(0, 2), "a\n");
  CAF_CHECK_EQUAL(order.substr(6, 2), "d\n");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["x"],"depends_on":[424242]})"),
                400, "depends_on");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["x"],"depends_on":"1"})"),
                400, "depends_on");
}

CAF_TEST(timeouts and cancels stop real processes) {
  auto slow = json{{"argv", {"sleep", "30"}}, {"workspace", ws()},
                   {"timeout_ms", 300}};
  auto res = call("POST", "/v1/tasks", slow.dump());
  CAF_REQUIRE_EQUAL(res.status, 201u);
  auto timed = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  auto done = json::parse(call("GET", "/v1/tasks/" + timed + "?wait=30").body);
  CAF_CHECK_EQUAL(done["status"], "failed");
  CAF_CHECK_EQUAL(done["reason"], "timeout");
  CAF_CHECK_EQUAL(done["dead"], true);
  auto dead = json::parse(call("GET", "/v1/tasks?dead=true").body)["tasks"];
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(std::to_string(dead[0]["id"].get<uint64_t>()), timed);
  res = call("POST", "/v1/tasks",
             json{{"argv", {"sh", "-c", "echo up; exec sleep 30"}}, {"workspace", ws()}}
               .dump());
  auto id = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  CAF_REQUIRE(test::poll_until(
    [&] { return call("GET", "/v1/tasks/" + id + "/log").body == "up\n"; },
    std::chrono::seconds(30)));
  auto pid = test::running_task(*client, id)["pid"].get<int64_t>();
  auto cancelled = call("POST", "/v1/tasks/" + id + "/cancel");
  CAF_CHECK_EQUAL(cancelled.status, 200u);
  auto cancelled_task = json::parse(cancelled.body);
  CAF_CHECK_EQUAL(cancelled_task["status"], "cancelled");
  check_refused(call("POST", "/v1/tasks/" + id + "/cancel"), 409, "");
  // The cancelled process ends (at most 30 s).
  CAF_CHECK(test::await_end(static_cast<pid_t>(pid), std::chrono::seconds(30)));
  // The agent takes new work again.
  res = call("POST", "/v1/tasks", json{{"argv", {"true"}}, {"workspace", ws()}}.dump());
  auto next = std::to_string(json::parse(res.body)["id"].get<uint64_t>());
  auto next_task = json::parse(call("GET", "/v1/tasks/" + next + "?wait=30").body);
  CAF_CHECK_EQUAL(next_task["status"], "completed");
  auto retried = call("POST", "/v1/tasks/" + timed + "/retry");
  CAF_CHECK_EQUAL(retried.status, 200u);
  auto retried_task = json::parse(retried.body);
  // Fresh attempts: queued again, or already on its first new attempt.
  CAF_CHECK_EQUAL(retried_task["dead"], false);
  CAF_CHECK(retried_task["attempts"].get<int>() <= 1);
  CAF_CHECK(retried_task["status"] != "failed");
  check_refused(call("POST", "/v1/tasks/" + next + "/retry"), 409, "");
  check_refused(call("POST", "/v1/tasks",
                     R"({"argv":["x"],"retry":{"max_attempts":0}})"),
                400, "retry.max_attempts");
  check_refused(call("POST", "/v1/tasks", R"({"argv":["x"],"timeout_ms":-5})"),
                400, "timeout_ms");
}

CAF_TEST_FIXTURE_SCOPE_END()
