#pragma once

// Tasks of a real node as its HTTP API shows them, for integration tests.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "caf/test/unit_test.hpp"

#include "runtime/http_client.hpp"
#include "tests/support/poll.hpp"

namespace cw::test {

/// Returns task `id` as `GET /v1/tasks/ID` shows it.
inline nlohmann::json get_task(runtime::http_client& c, const std::string& id) {
  auto res = c.request("GET", "/v1/tasks/" + id);
  CAF_REQUIRE(res);
  CAF_REQUIRE_EQUAL(res->status, 200u);
  return nlohmann::json::parse(res->body);
}

/// Asks the node about task `id` until `pred` holds for it (at most
/// `limit`) and returns the task; fails the test otherwise.
template <class Pred>
nlohmann::json task_until(runtime::http_client& c, const std::string& id,
                          Pred pred,
                          std::chrono::milliseconds limit
                          = std::chrono::seconds(30)) {
  nlohmann::json task;
  if (!poll_until(
        [&] {
          task = get_task(c, id);
          return pred(task);
        },
        limit)) {
    CAF_FAIL("task " << id << " never got there: " << task.dump());
  }
  return task;
}

/// Returns task `id` once its process runs and the node knows its pid.
/// (The shim reports the pid on a pipe of its own, which the node reads
/// apart from the log: a task's output can show before its pid does.)
inline nlohmann::json running_task(runtime::http_client& c,
                                   const std::string& id) {
  return task_until(c, id, [](const nlohmann::json& t) {
    return t["status"] == "running" && t["pid"].get<int64_t>() > 0;
  });
}

} // namespace cw::test
