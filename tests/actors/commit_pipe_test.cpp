#define CAF_SUITE actors.commit_pipe

#include "actors/journal/commit_pipe.hpp"

#include "caf/test/unit_test.hpp"

#include <string>
#include <vector>

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;

namespace {

using pipe_type = commit_pipe<std::string>;

event row(std::string type) {
  event ev;
  ev.type = std::move(type);
  return ev;
}

} // namespace

CAF_TEST(work waits for the append that covers the decision before it) {
  pipe_type p;
  caf::actor_clock::time_point t0{};
  CAF_CHECK(p.settled());
  p.record(row("a"));
  CAF_CHECK(!p.settled());
  p.defer("after a");
  auto [first, rows] = p.take(t0);
  CAF_CHECK_EQUAL(first, 1u);
  CAF_REQUIRE_EQUAL(rows.size(), 1u);
  CAF_CHECK_EQUAL(rows[0].type, "a");
  CAF_CHECK(!p.has_rows());
  // A decision after the first append is covered only by the second.
  p.record(row("b"));
  p.defer("after b");
  auto second = p.take(t0).first;
  CAF_CHECK_EQUAL(second, 2u);
  std::vector<std::string> ran;
  auto run = [&](std::string& x) { ran.push_back(x); };
  p.acknowledge(first, run);
  CAF_CHECK_EQUAL(ran, std::vector<std::string>{"after a"});
  CAF_CHECK(!p.settled());
  p.acknowledge(second, run);
  CAF_CHECK_EQUAL(ran, (std::vector<std::string>{"after a", "after b"}));
  CAF_CHECK(p.settled());
  CAF_CHECK(!p.busy());
}

CAF_TEST(nothing recorded means nothing to wait for) {
  pipe_type p;
  p.record(row("a"));
  p.take({});
  p.acknowledge(1, [](std::string&) {});
  // Work deferred with no new decision is covered by the last append.
  CAF_CHECK_EQUAL(p.covering(), 1u);
  CAF_CHECK(p.settled());
}

CAF_TEST(the oldest unanswered append sets the deadline) {
  pipe_type p;
  caf::actor_clock::time_point t0{};
  CAF_CHECK(!p.deadline());
  p.record(row("a"));
  p.take(t0);
  p.record(row("b"));
  p.take(t0 + 10s);
  CAF_REQUIRE(p.deadline());
  CAF_CHECK(*p.deadline() == t0 + journal_timeout);
  CAF_CHECK(!p.overdue(t0 + journal_timeout - 1ms));
  CAF_CHECK(p.overdue(t0 + journal_timeout));
  p.acknowledge(1, [](std::string&) {});
  CAF_CHECK(*p.deadline() == t0 + 10s + journal_timeout);
  CAF_CHECK(!p.overdue(t0 + journal_timeout));
  p.acknowledge(2, [](std::string&) {});
  CAF_CHECK(!p.deadline());
}
