#define CAF_SUITE messages.errc
#include "caf/test/unit_test.hpp"

#include <set>

#include "messages/errc.hpp"

using namespace cw;

CAF_TEST(every code has a distinct name) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(errc::illegal_transition); ++i) {
    auto name = to_string(static_cast<errc>(i));
    CAF_CHECK(name.find("errc(") == std::string::npos);
    CAF_CHECK(names.insert(name).second);
  }
  CAF_CHECK_EQUAL(to_string(static_cast<errc>(200)), "errc(200)");
}

CAF_TEST(pinned values stay put) {
  CAF_CHECK_EQUAL(static_cast<int>(errc::none), 0);
  CAF_CHECK_EQUAL(static_cast<int>(errc::journal_too_new), 5);
  CAF_CHECK_EQUAL(static_cast<int>(errc::illegal_transition), 10);
}

CAF_TEST(errors carry code and message) {
  auto err = make_error(errc::no_such_task, "no task with id 7");
  CAF_CHECK(err == errc::no_such_task);
  CAF_CHECK_EQUAL(error_code(err), errc::no_such_task);
  CAF_CHECK_EQUAL(error_message(err), "no task with id 7");
  CAF_CHECK_EQUAL(describe(err), "no task with id 7");
  CAF_CHECK_EQUAL(render_error(err.code(), err.category(), err.context()),
                  "no_such_task: no task with id 7");
  CAF_CHECK_EQUAL(error_code(caf::error{}), errc::none);
}
