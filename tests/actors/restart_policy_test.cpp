#define CAF_SUITE actors.restart_policy
#include "caf/test/unit_test.hpp"

#include "actors/supervisor/restart_policy.hpp"

using namespace cw::actors;

namespace {

using strings = std::vector<std::string>;
using verdict = restart_decision::verdict;

supervisor_flags flags(restart_strategy strategy, uint32_t intensity = 10,
                       int64_t period_ms = 1000) {
  supervisor_flags x;
  x.strategy = strategy;
  x.intensity = intensity;
  x.period_ms = period_ms;
  return x;
}

/// Returns a policy whose children `names` all run since time 0.
restart_policy running(supervisor_flags f, const strings& names,
                       restart_type type = restart_type::permanent) {
  restart_policy p{f};
  for (auto& n : names)
    p.add(n, type);
  while (auto n = p.next_startable())
    p.started(*n, 0);
  return p;
}

/// Starts whatever may start now; returns the names in start order.
strings start_all(restart_policy& p, int64_t now_ms) {
  strings result;
  while (auto n = p.next_startable()) {
    p.started(*n, now_ms);
    result.push_back(*n);
  }
  return result;
}

/// Completes a decision: the stopped children go down, the timer fires.
strings carry_out(restart_policy& p, const restart_decision& d,
                  int64_t now_ms) {
  for (auto& n : d.stop)
    p.exited(n, false, now_ms);
  p.fire(d.ticket);
  return start_all(p, now_ms);
}

} // namespace

CAF_TEST(children start in the order they were added) {
  restart_policy p;
  CAF_CHECK(p.add("a", restart_type::permanent));
  CAF_CHECK(p.add("b", restart_type::transient));
  CAF_CHECK(p.add("c", restart_type::temporary));
  CAF_CHECK(!p.add("b", restart_type::permanent));
  CAF_CHECK_EQUAL(start_all(p, 0), (strings{"a", "b", "c"}));
  CAF_CHECK(p.state_of("a") == child_state::running);
  CAF_CHECK(!p.state_of("zz"));
}

CAF_TEST(one_for_one restarts only the child that exited) {
  auto p = running(flags(restart_strategy::one_for_one), {"a", "b", "c"});
  auto d = p.exited("b", true, 10);
  CAF_CHECK(d.action == verdict::restart);
  CAF_CHECK_EQUAL(d.stop, strings{});
  CAF_CHECK_EQUAL(d.restart, strings{"b"});
  CAF_CHECK_EQUAL(d.restarts, 1u);
  CAF_CHECK(p.state_of("a") == child_state::running);
  CAF_CHECK(p.state_of("c") == child_state::running);
  CAF_CHECK_EQUAL(carry_out(p, d, 10), strings{"b"});
}

CAF_TEST(one_for_all stops the others in reverse order and restarts all) {
  auto p = running(flags(restart_strategy::one_for_all), {"a", "b", "c", "d"});
  auto d = p.exited("b", true, 10);
  CAF_CHECK(d.action == verdict::restart);
  CAF_CHECK_EQUAL(d.stop, (strings{"d", "c", "a"}));
  CAF_CHECK_EQUAL(d.restart, (strings{"a", "b", "c", "d"}));
  CAF_CHECK(p.state_of("a") == child_state::stopping);
  CAF_CHECK_EQUAL(carry_out(p, d, 10), (strings{"a", "b", "c", "d"}));
}

CAF_TEST(rest_for_one restarts the child and those started after it) {
  auto p = running(flags(restart_strategy::rest_for_one), {"a", "b", "c", "d"});
  auto d = p.exited("b", true, 10);
  CAF_CHECK(d.action == verdict::restart);
  CAF_CHECK_EQUAL(d.stop, (strings{"d", "c"}));
  CAF_CHECK_EQUAL(d.restart, (strings{"b", "c", "d"}));
  CAF_CHECK(p.state_of("a") == child_state::running);
  CAF_CHECK_EQUAL(carry_out(p, d, 10), (strings{"b", "c", "d"}));
}

CAF_TEST(permanent children restart after a normal exit too) {
  auto p = running(flags(restart_strategy::one_for_one), {"a"});
  auto d = p.exited("a", false, 10);
  CAF_CHECK(d.action == verdict::restart);
  CAF_CHECK_EQUAL(d.restart, strings{"a"});
}

CAF_TEST(transient children restart only after an abnormal exit) {
  auto p = running(flags(restart_strategy::one_for_one), {"a", "b"},
                   restart_type::transient);
  auto da = p.exited("a", true, 10);
  CAF_CHECK(da.action == verdict::restart);
  CAF_CHECK_EQUAL(da.restart, strings{"a"});
  auto db = p.exited("b", false, 10);
  CAF_CHECK(db.action == verdict::none);
  CAF_CHECK(p.state_of("b") == child_state::stopped);
  p.fire(da.ticket);
  CAF_CHECK_EQUAL(start_all(p, 10), strings{"a"});
}

CAF_TEST(temporary children never restart) {
  auto p = running(flags(restart_strategy::one_for_one), {"a"},
                   restart_type::temporary);
  auto d = p.exited("a", true, 10);
  CAF_CHECK(d.action == verdict::none);
  CAF_CHECK(p.state_of("a") == child_state::stopped);
  CAF_CHECK(!p.next_startable());
}

CAF_TEST(a temporary sibling stopped by a group restart stays stopped) {
  restart_policy p{flags(restart_strategy::one_for_all)};
  p.add("a", restart_type::permanent);
  p.add("t", restart_type::temporary);
  start_all(p, 0);
  auto d = p.exited("a", true, 10);
  CAF_CHECK_EQUAL(d.stop, strings{"t"});
  CAF_CHECK_EQUAL(d.restart, strings{"a"});
  CAF_CHECK_EQUAL(carry_out(p, d, 10), strings{"a"});
  CAF_CHECK(p.state_of("t") == child_state::stopped);
}

CAF_TEST(a child that ended for good is not revived by a group restart) {
  restart_policy p{flags(restart_strategy::one_for_all)};
  p.add("a", restart_type::permanent);
  p.add("t", restart_type::transient);
  start_all(p, 0);
  p.exited("t", false, 5);
  auto d = p.exited("a", true, 10);
  CAF_CHECK_EQUAL(d.stop, strings{});
  CAF_CHECK_EQUAL(d.restart, strings{"a"});
  CAF_CHECK(p.state_of("t") == child_state::stopped);
}

CAF_TEST(a group restarts only after every stopped sibling is down) {
  auto p = running(flags(restart_strategy::one_for_all), {"a", "b", "c"});
  auto d = p.exited("b", true, 10);
  p.fire(d.ticket);
  CAF_CHECK(!p.next_startable());
  p.exited("c", false, 10);
  CAF_CHECK(!p.next_startable());
  p.exited("a", false, 10);
  CAF_CHECK_EQUAL(start_all(p, 10), (strings{"a", "b", "c"}));
}

CAF_TEST(a restart waits for its ticket and ignores stale ones) {
  auto p = running(flags(restart_strategy::one_for_one), {"a"});
  auto d = p.exited("a", true, 10);
  CAF_CHECK(!p.next_startable());
  p.fire(d.ticket + 1);
  CAF_CHECK(!p.next_startable());
  p.fire(d.ticket);
  CAF_CHECK_EQUAL(start_all(p, 10), strings{"a"});
  // The old ticket firing again must not start anything.
  auto d2 = p.exited("a", true, 20);
  p.fire(d.ticket);
  CAF_CHECK(!p.next_startable());
  p.fire(d2.ticket);
  CAF_CHECK_EQUAL(start_all(p, 20), strings{"a"});
}

CAF_TEST(an earlier child's restart takes over a later child's pending one) {
  auto p = running(flags(restart_strategy::rest_for_one), {"a", "b", "c"});
  auto db = p.exited("b", true, 10);
  p.exited("c", false, 10);
  auto da = p.exited("a", true, 11);
  CAF_CHECK_EQUAL(da.stop, strings{});
  CAF_CHECK_EQUAL(da.restart, (strings{"a", "b", "c"}));
  p.fire(db.ticket);
  CAF_CHECK(!p.next_startable());
  p.fire(da.ticket);
  CAF_CHECK_EQUAL(start_all(p, 11), (strings{"a", "b", "c"}));
}

CAF_TEST(the exit of a child being stopped is not a failure) {
  auto p = running(flags(restart_strategy::one_for_all, 1), {"a", "b"});
  auto d = p.exited("a", true, 10);
  CAF_CHECK_EQUAL(d.stop, strings{"b"});
  // b went down with an error while stopping: still no second restart.
  auto d2 = p.exited("b", true, 10);
  CAF_CHECK(d2.action == verdict::none);
  CAF_CHECK(p.state_of("b") == child_state::waiting);
}

CAF_TEST(more restarts than the intensity within the period give up) {
  auto p = running(flags(restart_strategy::one_for_one, 2, 1000),
                   {"a", "b", "c"});
  auto d = p.exited("b", true, 0);
  CAF_CHECK(d.action == verdict::restart);
  carry_out(p, d, 0);
  d = p.exited("b", true, 500);
  CAF_CHECK(d.action == verdict::restart);
  carry_out(p, d, 500);
  d = p.exited("b", true, 1000);
  CAF_CHECK(d.action == verdict::give_up);
  CAF_CHECK_EQUAL(d.stop, (strings{"c", "a"}));
  CAF_CHECK_EQUAL(d.reason, "restart intensity exceeded: more than 2 restarts "
                            "within 1000 ms");
  CAF_CHECK(p.state_of("b") == child_state::stopped);
  p.exited("c", false, 1000);
  p.exited("a", false, 1000);
  CAF_CHECK(p.state_of("a") == child_state::stopped);
  CAF_CHECK(!p.has_live_children());
  CAF_CHECK(!p.next_startable());
}

CAF_TEST(restarts older than the period no longer count) {
  auto p = running(flags(restart_strategy::one_for_one, 2, 1000), {"a"});
  for (int64_t t : {0, 500, 1001, 1501}) {
    auto d = p.exited("a", true, t);
    CAF_CHECK(d.action == verdict::restart);
    carry_out(p, d, t);
  }
  // 1001 and 1501 are within 1000 ms of 2001 (inclusive): a third is too many.
  CAF_CHECK(p.exited("a", true, 2001).action == verdict::give_up);
}

CAF_TEST(intensity zero gives up at the first restart) {
  auto p = running(flags(restart_strategy::one_for_one, 0), {"a"});
  CAF_CHECK(p.exited("a", true, 0).action == verdict::give_up);
}

CAF_TEST(an exit that needs no restart never counts against the intensity) {
  auto p = running(flags(restart_strategy::one_for_one, 0), {"a", "b"},
                   restart_type::transient);
  CAF_CHECK(p.exited("a", false, 0).action == verdict::none);
  CAF_CHECK(p.state_of("b") == child_state::running);
}

CAF_TEST(back-off grows by the factor up to the cap) {
  auto f = flags(restart_strategy::one_for_one, 100, 1'000'000);
  f.backoff = backoff_policy{100, 2.0, 500, 60'000};
  auto p = running(f, {"a"});
  std::vector<int64_t> delays;
  for (int64_t t = 1; t <= 5; ++t) {
    auto d = p.exited("a", true, t);
    delays.push_back(d.delay_ms);
    carry_out(p, d, t);
  }
  CAF_CHECK_EQUAL(delays, (std::vector<int64_t>{100, 200, 400, 500, 500}));
  CAF_CHECK_EQUAL(p.backoff_delay_ms(200), 500);
}

CAF_TEST(back-off base zero restarts at once) {
  auto p = running(flags(restart_strategy::one_for_one), {"a"});
  for (int64_t t = 1; t <= 3; ++t) {
    auto d = p.exited("a", true, t);
    CAF_CHECK_EQUAL(d.delay_ms, 0);
    carry_out(p, d, t);
  }
}

CAF_TEST(back-off starts over after a stable run) {
  auto f = flags(restart_strategy::one_for_one, 100, 1'000'000);
  f.backoff = backoff_policy{100, 2.0, 10'000, 1000};
  auto p = running(f, {"a"});
  auto d = p.exited("a", true, 10);
  CAF_CHECK_EQUAL(d.delay_ms, 100);
  carry_out(p, d, 110);
  d = p.exited("a", true, 120);
  CAF_CHECK_EQUAL(d.delay_ms, 200);
  CAF_CHECK_EQUAL(d.restarts, 2u);
  carry_out(p, d, 320);
  // Ran from 320 to 1320: stable.
  d = p.exited("a", true, 1320);
  CAF_CHECK_EQUAL(d.delay_ms, 100);
  CAF_CHECK_EQUAL(d.restarts, 1u);
}

CAF_TEST(shut_down stops running children in reverse order for good) {
  auto p = running(flags(restart_strategy::one_for_one), {"a", "b", "c"});
  auto d = p.exited("b", true, 10);
  CAF_CHECK_EQUAL(p.shut_down(), (strings{"c", "a"}));
  CAF_CHECK(p.state_of("b") == child_state::stopped);
  p.fire(d.ticket);
  CAF_CHECK(!p.next_startable());
  CAF_CHECK(p.exited("c", true, 10).action == verdict::none);
  CAF_CHECK(p.state_of("c") == child_state::stopped);
  CAF_CHECK(p.has_live_children());
  p.exited("a", false, 10);
  CAF_CHECK(!p.has_live_children());
}

CAF_TEST(names render) {
  CAF_CHECK_EQUAL(to_string(restart_strategy::rest_for_one), "rest_for_one");
  CAF_CHECK_EQUAL(to_string(restart_type::transient), "transient");
  CAF_CHECK_EQUAL(to_string(child_state::waiting), "waiting");
}
