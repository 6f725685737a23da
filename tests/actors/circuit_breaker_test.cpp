#define CAF_SUITE actors.circuit_breaker
#include "caf/test/unit_test.hpp"

#include "actors/agent/circuit_breaker.hpp"

using namespace cw::actors;

namespace {

/// Opens after 3 failures, cools down for 1000 ms, admits 2 trials.
circuit_breaker make_breaker() {
  return circuit_breaker{breaker_config{3, 1000, 2}};
}

/// Returns a breaker opened at `t`.
circuit_breaker opened_at(int64_t t) {
  auto b = make_breaker();
  for (int i = 0; i < 3; ++i)
    b.on_failure(t);
  CAF_REQUIRE(b.state() == breaker_state::open);
  return b;
}

} // namespace

CAF_TEST(a closed breaker admits every task) {
  auto b = make_breaker();
  for (int64_t t = 0; t < 10; ++t) {
    auto a = b.allow(t);
    CAF_CHECK(a.allowed);
    CAF_CHECK(!a.transition);
  }
  CAF_CHECK(b.state() == breaker_state::closed);
}

CAF_TEST(consecutive failures open the breaker and report it) {
  auto b = make_breaker();
  CAF_CHECK(!b.on_failure(1));
  CAF_CHECK(!b.on_failure(2));
  auto tr = b.on_failure(3);
  CAF_REQUIRE(tr);
  CAF_CHECK(tr->from == breaker_state::closed);
  CAF_CHECK(tr->to == breaker_state::open);
  CAF_CHECK_EQUAL(tr->at_ms, 3);
  CAF_CHECK_EQUAL(tr->failures, 3u);
  CAF_CHECK_EQUAL(tr->reason, "3 consecutive failures");
  CAF_CHECK(b.state() == breaker_state::open);
}

CAF_TEST(a success in between resets the failure count) {
  auto b = make_breaker();
  b.on_failure(1);
  b.on_failure(2);
  CAF_CHECK(!b.on_success(3));
  CAF_CHECK_EQUAL(b.failures(), 0u);
  CAF_CHECK(!b.on_failure(4));
  CAF_CHECK(!b.on_failure(5));
  CAF_CHECK(b.state() == breaker_state::closed);
}

CAF_TEST(an open breaker refuses tasks until the cool-down passed) {
  auto b = opened_at(100);
  CAF_CHECK_EQUAL(b.retry_at_ms(100), 1100);
  CAF_CHECK(!b.allow(100).allowed);
  auto a = b.allow(1099);
  CAF_CHECK(!a.allowed);
  CAF_CHECK(!a.transition);
  CAF_CHECK(b.state() == breaker_state::open);
}

CAF_TEST(after the cool-down the breaker turns half-open and admits trials) {
  auto b = opened_at(100);
  auto a = b.allow(1100);
  CAF_CHECK(a.allowed);
  CAF_REQUIRE(a.transition);
  CAF_CHECK(a.transition->from == breaker_state::open);
  CAF_CHECK(a.transition->to == breaker_state::half_open);
  CAF_CHECK_EQUAL(a.transition->at_ms, 1100);
  CAF_CHECK(b.state() == breaker_state::half_open);
  auto second = b.allow(1101);
  CAF_CHECK(second.allowed);
  CAF_CHECK(!second.transition);
  CAF_CHECK_EQUAL(b.trials_in_flight(), 2u);
  // The limit of 2 trials is reached.
  CAF_CHECK(!b.allow(1102).allowed);
}

CAF_TEST(a trial success closes the breaker) {
  auto b = opened_at(0);
  b.allow(1000);
  auto tr = b.on_success(1500);
  CAF_REQUIRE(tr);
  CAF_CHECK(tr->from == breaker_state::half_open);
  CAF_CHECK(tr->to == breaker_state::closed);
  CAF_CHECK_EQUAL(tr->reason, "trial succeeded");
  CAF_CHECK(b.state() == breaker_state::closed);
  CAF_CHECK_EQUAL(b.failures(), 0u);
  CAF_CHECK(b.allow(1501).allowed);
  // Closed again: it takes the full threshold to open it once more.
  CAF_CHECK(!b.on_failure(1502));
  CAF_CHECK(!b.on_failure(1503));
}

CAF_TEST(a trial failure reopens the breaker for another cool-down) {
  auto b = opened_at(0);
  b.allow(1000);
  auto tr = b.on_failure(1200);
  CAF_REQUIRE(tr);
  CAF_CHECK(tr->from == breaker_state::half_open);
  CAF_CHECK(tr->to == breaker_state::open);
  CAF_CHECK_EQUAL(tr->reason, "trial failed");
  CAF_CHECK(!b.allow(2000).allowed); // the first cool-down would have ended
  CAF_CHECK_EQUAL(b.retry_at_ms(2000), 2200);
  CAF_CHECK(b.allow(2200).allowed);
  CAF_CHECK(b.state() == breaker_state::half_open);
}

CAF_TEST(results arriving while open change nothing) {
  auto b = opened_at(0);
  CAF_CHECK(!b.on_success(10));
  CAF_CHECK(!b.on_failure(20));
  CAF_CHECK(b.state() == breaker_state::open);
  CAF_CHECK_EQUAL(b.retry_at_ms(20), 1000);
}

CAF_TEST(an abandoned trial frees its slot) {
  auto b = opened_at(0);
  CAF_CHECK(b.allow(1000).allowed);
  CAF_CHECK(b.allow(1000).allowed);
  CAF_CHECK(!b.allow(1000).allowed);
  b.on_abandoned();
  CAF_CHECK(b.allow(1001).allowed);
}

CAF_TEST(a zero threshold still needs one failure) {
  circuit_breaker b{breaker_config{0, 1000, 0}};
  CAF_CHECK(b.allow(0).allowed);
  CAF_CHECK(b.on_failure(1));
  b.allow(1001);
  CAF_CHECK(!b.allow(1001).allowed); // one trial at a time at least
}

CAF_TEST(states render) {
  CAF_CHECK_EQUAL(to_string(breaker_state::closed), "closed");
  CAF_CHECK_EQUAL(to_string(breaker_state::open), "open");
  CAF_CHECK_EQUAL(to_string(breaker_state::half_open), "half_open");
}
