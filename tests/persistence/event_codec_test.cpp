#define CAF_SUITE persistence.event_codec
#include "caf/test/unit_test.hpp"

#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

using namespace cw;
using namespace cw::persistence;

namespace {

task_event round_trip(const task_event& ev) {
  auto row = encode(ev, 1234, "node-a");
  CAF_CHECK_EQUAL(row.time_ms, 1234);
  CAF_CHECK_EQUAL(row.node, "node-a");
  CAF_CHECK_EQUAL(row.entity, "task/" + std::to_string(subject(ev)));
  auto back = decode(row);
  CAF_REQUIRE(back);
  return *back;
}

} // namespace

CAF_TEST(every task event round trips) {
  task_spec spec;
  spec.argv = {"make", "-j2", "with \"quotes\""};
  spec.workspace = "/src";
  spec.priority = 7;
  auto sub = std::get<task_submitted>(round_trip(task_submitted{3, spec}));
  CAF_CHECK_EQUAL(sub.id, 3u);
  CAF_CHECK_EQUAL(sub.spec.argv, spec.argv);
  CAF_CHECK_EQUAL(sub.spec.workspace, "/src");
  CAF_CHECK_EQUAL(sub.spec.priority, 7);
  auto as = std::get<task_assigned>(round_trip(task_assigned{3, "agent-2", 4, ""}));
  CAF_CHECK_EQUAL(as.agent, "agent-2");
  CAF_CHECK_EQUAL(as.attempt, 4u);
  auto st = std::get<task_started>(round_trip(task_started{3, 4242}));
  CAF_CHECK_EQUAL(st.pid, 4242);
  auto fin = std::get<task_finished>(round_trip(
    task_finished{3, task_outcome{task_status::failed, 2, 0, "exit code 2"}}));
  CAF_CHECK(fin.outcome.status == task_status::failed);
  CAF_CHECK_EQUAL(fin.outcome.exit_code, 2);
  CAF_CHECK_EQUAL(fin.outcome.reason, "exit code 2");
  auto rq = std::get<task_requeued>(round_trip(task_requeued{3, "node died"}));
  CAF_CHECK_EQUAL(rq.reason, "node died");
}

CAF_TEST(types carry names and versions) {
  auto row = encode(task_started{1, 2}, 0, "n");
  CAF_CHECK_EQUAL(row.type, "task.started");
  CAF_CHECK_EQUAL(row.version, 1u);
}

CAF_TEST(unknown types versions and payloads are corrupt rows) {
  auto row = encode(task_started{1, 2}, 0, "n");
  row.seq = 17;
  auto bad_type = row;
  bad_type.type = "task.teleported";
  auto res = decode(bad_type);
  CAF_REQUIRE(!res);
  CAF_CHECK(res.error() == errc::journal_corrupt);
  CAF_CHECK(error_message(res.error()).find("seq 17") != std::string::npos);
  auto bad_version = row;
  bad_version.version = 9;
  CAF_CHECK(!decode(bad_version));
  auto bad_payload = row;
  bad_payload.payload = "{not json";
  CAF_CHECK(!decode(bad_payload));
  auto missing_field = row;
  missing_field.payload = R"({"id":1})";
  CAF_CHECK(!decode(missing_field));
}
