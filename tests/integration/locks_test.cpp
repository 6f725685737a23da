#define CAF_SUITE integration.locks
#include "caf/test/unit_test.hpp"

#include <chrono>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "runtime/http_client.hpp"
#include "runtime/node.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/processes.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::runtime;
using json = nlohmann::json;

namespace {

/// A real node in this process on a free loopback port; clients are real
/// HTTP clients, one per thread.
struct fixture {
  test::temp_dir dir;
  std::unique_ptr<node> n;
  std::string url;
  std::unique_ptr<http_client> client;

  fixture() {
    auto cfg = default_node_config();
    cfg.shim_path = CW_SHIM_BIN;
    cfg.data_dir = dir.file("data");
    cfg.api_port = 0;
    cfg.agents = 1;
    cfg.log_level = "warn";
    auto started = node::start(cfg);
    CAF_REQUIRE(started);
    n = std::move(*started);
    url = "http://127.0.0.1:" + std::to_string(n->api_port());
    client = std::move(*http_client::make(url));
  }

  http_response call(const std::string& method, const std::string& target,
                     const std::string& body = {}) {
    auto res = client->request(method, target, body);
    CAF_REQUIRE(res);
    return *res;
  }

  static std::string acquire_body(const std::string& owner,
                                  const std::string& resource,
                                  int64_t timeout_ms, int priority = 0) {
    return json{{"owner", owner},
                {"resource", resource},
                {"priority", priority},
                {"timeout_ms", timeout_ms}}
      .dump();
  }

  /// Starts a long-polling acquire on a client of its own.
  std::future<http_response> acquire_async(std::string body) {
    return std::async(std::launch::async, [u = url, body = std::move(body)] {
      auto c = std::move(*http_client::make(u));
      auto res = c->request("POST", "/v1/locks/acquire", body,
                            std::chrono::seconds(90));
      return res ? *res : http_response{0, "", "", {}};
    });
  }

  /// Waits (polling, at most 30 s) until `owner` is among the `role`
  /// (`holders` or `waiters`) of `resource` in `GET /v1/locks`.
  void await_lock(const std::string& role, const std::string& owner,
                  const std::string& resource) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      auto j = json::parse(call("GET", "/v1/locks").body);
      for (auto& w : j[role])
        if (w["owner"] == owner && w["resource"] == resource)
          return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CAF_FAIL(owner << " never among the " << role << " of " << resource);
  }

  void await_waiter(const std::string& owner, const std::string& resource) {
    await_lock("waiters", owner, resource);
  }

  /// Submits `task` with `argv` and the fixture's workspace added; returns
  /// its id.
  uint64_t submit(json task, json argv = {"true"}) {
    task["argv"] = std::move(argv);
    task["workspace"] = dir.path().string();
    auto res = call("POST", "/v1/tasks", task.dump());
    CAF_REQUIRE_EQUAL(res.status, 201u);
    return json::parse(res.body)["id"].template get<uint64_t>();
  }

  /// The task once it has ended (the API's long poll, at most 30 s).
  json await_end(uint64_t id) {
    auto res = client->request("GET",
                               "/v1/tasks/" + std::to_string(id) + "?wait=30",
                               "", std::chrono::seconds(40));
    CAF_REQUIRE(res);
    return json::parse(res->body);
  }

  void check_refused(const http_response& res, unsigned status,
                     const std::string& field) {
    CAF_CHECK_EQUAL(res.status, status);
    auto j = json::parse(res.body, nullptr, false);
    CAF_REQUIRE(j.is_object());
    CAF_CHECK(j.contains("message"));
    CAF_CHECK_EQUAL(j.value("field", ""), field);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(locks_tests, fixture)

CAF_TEST(an exclusive lock passes to the waiter when released) {
  auto res = call("POST", "/v1/locks/acquire", acquire_body("alice", "repo", 0));
  CAF_REQUIRE_EQUAL(res.status, 200u);
  auto g = json::parse(res.body);
  CAF_CHECK(g["owner"] == "alice");
  CAF_CHECK(g["mode"] == "exclusive");
  auto bob = acquire_async(acquire_body("bob", "repo", 60'000));
  await_waiter("bob", "repo");
  CAF_CHECK(bob.wait_for(std::chrono::milliseconds(0))
            != std::future_status::ready);
  // Only the holder may release.
  auto wrong = call("POST", "/v1/locks/release",
                    json{{"owner", "bob"}, {"resource", "repo"}}.dump());
  CAF_CHECK_EQUAL(wrong.status, 409u);
  auto rel = call("POST", "/v1/locks/release",
                  json{{"owner", "alice"}, {"resource", "repo"}}.dump());
  CAF_CHECK_EQUAL(rel.status, 200u);
  CAF_CHECK(json::parse(rel.body)["released"]["owner"] == "alice");
  auto granted = bob.get();
  CAF_REQUIRE_EQUAL(granted.status, 200u);
  CAF_CHECK(json::parse(granted.body)["owner"] == "bob");
  auto list = json::parse(call("GET", "/v1/locks").body);
  CAF_REQUIRE_EQUAL(list["holders"].size(), 1u);
  CAF_CHECK(list["holders"][0]["owner"] == "bob");
  CAF_CHECK(list["waiters"].empty());
  // A try-lock on the held lock is refused at once, saying why.
  auto busy = call("POST", "/v1/locks/acquire", acquire_body("carol", "repo", 0));
  CAF_CHECK_EQUAL(busy.status, 409u);
  CAF_CHECK(json::parse(busy.body)["reason"] == "timeout");
  // The CLI shows the holder.
  auto shown = test::run_cw(dir.path(), {"--node", url, "locks"});
  CAF_CHECK_EQUAL(shown.exit_code, 0);
  CAF_CHECK(shown.out.find("repo") != std::string::npos);
  CAF_CHECK(shown.out.find("bob") != std::string::npos);
}

CAF_TEST(a two owner deadlock refuses one request naming the cycle) {
  CAF_REQUIRE_EQUAL(
    call("POST", "/v1/locks/acquire", acquire_body("alice", "a", 0)).status,
    200u);
  CAF_REQUIRE_EQUAL(
    call("POST", "/v1/locks/acquire", acquire_body("bob", "b", 0)).status, 200u);
  // Alice (priority 0) waits for b; bob (priority 5) then waits for a.
  auto alice = acquire_async(acquire_body("alice", "b", 60'000, 0));
  await_waiter("alice", "b");
  auto bob = acquire_async(acquire_body("bob", "a", 60'000, 5));
  auto refused = alice.get();
  CAF_CHECK_EQUAL(refused.status, 409u);
  auto j = json::parse(refused.body);
  CAF_CHECK(j["reason"] == "deadlock");
  auto msg = j.value("message", "");
  CAF_CHECK(msg.find("alice waits for b") != std::string::npos);
  CAF_CHECK(msg.find("bob waits for a") != std::string::npos);
  CAF_MESSAGE("refusal: " << msg);
  // Bob still waits; alice gives up a and bob gets it.
  await_waiter("bob", "a");
  CAF_CHECK_EQUAL(call("POST", "/v1/locks/release",
                       json{{"owner", "alice"}, {"resource", "a"}}.dump())
                    .status,
                  200u);
  auto granted = bob.get();
  CAF_CHECK_EQUAL(granted.status, 200u);
  CAF_CHECK(json::parse(granted.body)["resource"] == "a");
}

CAF_TEST(bad lock requests are refused with the field named) {
  auto acquire = [&](const std::string& body) {
    return call("POST", "/v1/locks/acquire", body);
  };
  check_refused(acquire("{nope"), 400, "body");
  check_refused(acquire(R"({"resource":"x"})"), 400, "owner");
  check_refused(acquire(R"({"owner":"a"})"), 400, "resource");
  check_refused(acquire(R"({"owner":"","resource":"x"})"), 400, "owner");
  check_refused(acquire(R"({"owner":"a","resource":"x","mode":"read"})"), 400,
                "mode");
  check_refused(acquire(R"({"owner":"a","resource":"x","timeout_ms":600001})"),
                400, "timeout_ms");
  check_refused(acquire(R"({"owner":"a","resource":"x","priority":"high"})"),
                400, "priority");
  check_refused(acquire(R"({"owner":"a","resource":"x","colour":1})"), 400,
                "colour");
  check_refused(acquire(json{{"owner", "a"},
                             {"resource", std::string(5000, 'x')}}
                          .dump()),
                400, "resource");
  check_refused(call("POST", "/v1/locks/release", R"({"owner":"a"})"), 400,
                "resource");
  check_refused(call("POST", "/v1/locks/release",
                     R"({"owner":"a","resource":"x"})"),
                409, "");
  CAF_CHECK_EQUAL(call("DELETE", "/v1/locks").status, 405u);
  CAF_CHECK_EQUAL(call("GET", "/v1/locks/acquire").status, 405u);
  auto list = json::parse(call("GET", "/v1/locks").body);
  CAF_CHECK(list["holders"].empty());
  CAF_CHECK(list["waiters"].empty());
}

CAF_TEST(the cli takes and releases locks) {
  auto cw = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--node", url});
    return test::run_cw(dir.path(), std::move(args));
  };
  auto got = cw({"lock", "acquire", "db:shared", "--owner", "agent:1"});
  CAF_CHECK_EQUAL(got.exit_code, 0);
  CAF_CHECK(got.out.find("granted shared lock on db") != std::string::npos);
  auto busy = cw({"lock", "acquire", "db", "--owner", "agent:2", "--timeout",
                  "0"});
  CAF_CHECK_EQUAL(busy.exit_code, 1);
  CAF_CHECK(busy.err.find("timeout") != std::string::npos);
  auto json_list = cw({"--json", "locks"});
  CAF_CHECK_EQUAL(json_list.exit_code, 0);
  auto j = json::parse(json_list.out);
  CAF_REQUIRE_EQUAL(j["holders"].size(), 1u);
  CAF_CHECK(j["holders"][0]["mode"] == "shared");
  CAF_CHECK_EQUAL(cw({"lock", "release", "db", "--owner", "agent:1"}).exit_code,
                  0);
  CAF_CHECK_EQUAL(cw({"lock", "release", "db", "--owner", "agent:1"}).exit_code,
                  1);
}

CAF_TEST(the locks of a task are released when the task ends) {
  auto id = submit(json::object(), {"sleep", "30"});
  auto owner = "task:" + std::to_string(id);
  auto held = call("POST", "/v1/locks/acquire", acquire_body(owner, "db", 1000));
  CAF_REQUIRE_EQUAL(held.status, 200u);
  // Another owner waits; the task's end (here: a cancel) frees the lock.
  auto waiting = acquire_async(acquire_body("agent:x", "db", 30'000));
  await_waiter("agent:x", "db");
  auto cancelled = call("POST", "/v1/tasks/" + std::to_string(id) + "/cancel");
  CAF_CHECK_EQUAL(cancelled.status, 200u);
  auto granted = waiting.get();
  CAF_CHECK_EQUAL(granted.status, 200u);
  auto j = json::parse(call("GET", "/v1/locks").body);
  CAF_REQUIRE_EQUAL(j["holders"].size(), 1u);
  CAF_CHECK_EQUAL(j["holders"][0]["owner"], "agent:x");
}

CAF_TEST(a lock a task declared is not released by hand while the task runs) {
  auto id = submit({{"locks", {"db:shared"}}}, {"sleep", "30"});
  auto owner = "task:" + std::to_string(id);
  auto target = "/v1/tasks/" + std::to_string(id);
  await_lock("holders", owner, "db");
  auto release = [&](const std::string& resource) {
    return call("POST", "/v1/locks/release",
                json{{"owner", owner}, {"resource", resource}}.dump());
  };
  auto refused = release("db");
  CAF_CHECK_EQUAL(refused.status, 400u);
  auto body = json::parse(refused.body);
  CAF_CHECK_EQUAL(body["field"], "owner");
  CAF_CHECK_EQUAL(body["message"],
                  "owner: task " + std::to_string(id)
                    + " holds 'db' for its --lock until it ends (cancel the "
                      "task to end it sooner)");
  auto held = json::parse(call("GET", "/v1/locks").body);
  CAF_REQUIRE_EQUAL(held["holders"].size(), 1u);
  CAF_CHECK_EQUAL(held["holders"][0]["owner"], owner);
  // What the task's process took in its own name is its own to release.
  auto own = call("POST", "/v1/locks/acquire", acquire_body(owner, "cache", 0));
  CAF_REQUIRE_EQUAL(own.status, 200u);
  CAF_CHECK_EQUAL(release("cache").status, 200u);
  // Once the task has ended, nothing of it is held.
  CAF_CHECK_EQUAL(call("POST", target + "/cancel").status, 200u);
  auto ended = await_end(id);
  CAF_CHECK_EQUAL(ended["status"], "cancelled");
  CAF_CHECK(json::parse(call("GET", "/v1/locks").body)["holders"].empty());
}

CAF_TEST(a task that declares a lock waits queued without an agent until granted) {
  // Someone else holds db.
  auto held = call("POST", "/v1/locks/acquire", acquire_body("agent:x", "db", 0));
  CAF_REQUIRE_EQUAL(held.status, 200u);
  auto id = submit({{"locks", {"db"}}});
  auto target = "/v1/tasks/" + std::to_string(id);
  await_waiter("task:" + std::to_string(id), "db");
  auto status = [&](const std::string& t) {
    return json::parse(call("GET", t).body)["status"].get<std::string>();
  };
  CAF_CHECK_EQUAL(status(target), "queued");
  // The node's only agent is free: a task without locks runs meanwhile.
  auto done = await_end(submit(json::object()));
  CAF_CHECK_EQUAL(done["status"], "completed");
  CAF_CHECK_EQUAL(status(target), "queued");
  // It says what it waits for, in the API and in cw status; a finished
  // task does not.
  auto waiting = json::parse(call("GET", target).body);
  CAF_CHECK_EQUAL(waiting.value("waiting", ""), "waits for its locks: db");
  CAF_CHECK(!done.contains("waiting"));
  auto shown = test::run_cw(dir.path(), {"--node", url, "status",
                                         std::to_string(id)});
  CAF_CHECK(shown.out.find("waiting:    waits for its locks: db\n")
            != std::string::npos);
  // Released: the task takes the lock, runs, and its end frees it.
  auto released = call("POST", "/v1/locks/release",
                       json{{"owner", "agent:x"}, {"resource", "db"}}.dump());
  CAF_CHECK_EQUAL(released.status, 200u);
  auto finished = await_end(id);
  CAF_CHECK_EQUAL(finished["status"], "completed");
  auto locks = finished["spec"]["locks"];
  CAF_CHECK_EQUAL(locks, json::array({"db"}));
  auto after = json::parse(call("GET", "/v1/locks").body);
  CAF_CHECK(after["holders"].empty());
}

CAF_TEST(a task refused its declared lock in a deadlock is cancelled naming it) {
  // The task takes a, then waits for b, which agent:x holds.
  auto held = call("POST", "/v1/locks/acquire", acquire_body("agent:x", "b", 0));
  CAF_REQUIRE_EQUAL(held.status, 200u);
  auto id = submit({{"priority", -5}, {"locks", {"b", "a:shared"}}});
  auto owner = "task:" + std::to_string(id);
  await_waiter(owner, "b");
  // agent:x asking for a closes the circle; the task has the lower priority.
  auto granted = acquire_async(acquire_body("agent:x", "a", 30'000)).get();
  CAF_CHECK_EQUAL(granted.status, 200u);
  auto t = await_end(id);
  CAF_CHECK_EQUAL(t["status"], "cancelled");
  auto reason = t["reason"].get<std::string>();
  CAF_CHECK_EQUAL(reason.rfind("lock b: deadlock: ", 0), 0u);
}

CAF_TEST(bad declared locks are refused with the field named) {
  auto submit = [&](json locks) {
    json task{{"argv", {"true"}},
              {"workspace", dir.path().string()},
              {"locks", std::move(locks)}};
    return call("POST", "/v1/tasks", task.dump());
  };
  check_refused(submit(json::array({":shared"})), 400, "locks[0]");
  check_refused(submit(json::array({"db", "db:shared"})), 400, "locks[1]");
  check_refused(submit(json::array({std::string(1025, 'x')})), 400, "locks[0]");
  check_refused(submit("db"), 400, "locks");
  auto j = json::parse(call("GET", "/v1/tasks").body);
  CAF_CHECK(j["tasks"].empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
