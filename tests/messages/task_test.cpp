#define CAF_SUITE messages.task
#include "caf/test/unit_test.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/binary_deserializer.hpp"
#include "caf/binary_serializer.hpp"

#include "messages/events.hpp"
#include "messages/register_types.hpp"
#include "messages/task.hpp"

using namespace cw;

CAF_TEST(status names round trip) {
  for (auto s : {task_status::blocked, task_status::queued, task_status::running,
                 task_status::completed, task_status::failed,
                 task_status::cancelled}) {
    task_status parsed = task_status::queued;
    CAF_CHECK(from_string(to_string(s), parsed));
    CAF_CHECK(parsed == s);
  }
  task_status x = task_status::queued;
  CAF_CHECK(!from_string("done", x));
}

CAF_TEST(only completed failed and cancelled are terminal) {
  CAF_CHECK(!is_terminal(task_status::blocked));
  CAF_CHECK(!is_terminal(task_status::queued));
  CAF_CHECK(!is_terminal(task_status::running));
  CAF_CHECK(is_terminal(task_status::completed));
  CAF_CHECK(is_terminal(task_status::failed));
  CAF_CHECK(is_terminal(task_status::cancelled));
}

CAF_TEST(message types survive the wire format) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  task_info a;
  a.id = 42;
  a.spec.argv = {"echo", "hello world"};
  a.spec.workspace = "/tmp";
  a.spec.priority = -3;
  a.status = task_status::failed;
  a.reason = "exit code 2";
  a.exit_code = 2;
  event ev{7, 1000, "n1", "task.submitted", 1, "task/42", R"({"id":42})", 99};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  CAF_REQUIRE(!sink(a, ev));
  task_info b;
  event ev2;
  caf::binary_deserializer source{sys, buf};
  CAF_REQUIRE(!source(b, ev2));
  CAF_CHECK_EQUAL(b.id, 42u);
  CAF_CHECK_EQUAL(b.spec.argv, a.spec.argv);
  CAF_CHECK_EQUAL(b.spec.priority, -3);
  CAF_CHECK(b.status == task_status::failed);
  CAF_CHECK_EQUAL(b.reason, "exit code 2");
  CAF_CHECK_EQUAL(ev2.payload, ev.payload);
  CAF_CHECK_EQUAL(ev2.seq, 7u);
  CAF_CHECK_EQUAL(ev2.checksum, 99u);
}
