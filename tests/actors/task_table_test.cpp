#define CAF_SUITE actors.task_table
#include "caf/test/unit_test.hpp"

#include "actors/scheduler/retry.hpp"
#include "actors/scheduler/task_table.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

task_spec spec_with_priority(int32_t priority) {
  task_spec spec;
  spec.argv = {"true"};
  spec.workspace = "/tmp";
  spec.priority = priority;
  return spec;
}

} // namespace

CAF_TEST(higher priority first then submission order) {
  task_table t;
  t.apply(task_submitted{1, spec_with_priority(0)}, 10);
  t.apply(task_submitted{2, spec_with_priority(5)}, 11);
  t.apply(task_submitted{3, spec_with_priority(0)}, 12);
  t.apply(task_submitted{4, spec_with_priority(5)}, 13);
  t.apply(task_submitted{5, spec_with_priority(-2)}, 14);
  std::vector<task_id> order;
  uint32_t n = 0;
  while (auto next = t.next_queued()) {
    order.push_back(*next);
    t.apply(task_assigned{*next, "a", 1, ""}, 20 + n++);
  }
  CAF_CHECK_EQUAL(order, (std::vector<task_id>{2, 4, 1, 3, 5}));
  CAF_CHECK_EQUAL(t.queued(), 0u);
  CAF_CHECK_EQUAL(t.running().size(), 5u);
}

CAF_TEST(the fold tracks a task through its life) {
  task_table t;
  CAF_CHECK(t.apply(task_submitted{7, spec_with_priority(0)}, 100));
  CAF_CHECK_EQUAL(t.next_id(), 8u);
  auto info = t.find(7);
  CAF_REQUIRE(info != nullptr);
  CAF_CHECK(info->status == task_status::queued);
  CAF_CHECK_EQUAL(info->submitted_ms, 100);
  t.apply(task_assigned{7, "agent-1", 1, ""}, 110);
  CAF_CHECK(info->status == task_status::running);
  CAF_CHECK_EQUAL(info->agent, "agent-1");
  CAF_CHECK_EQUAL(info->attempts, 1u);
  CAF_CHECK_EQUAL(info->started_ms, 110);
  t.apply(task_started{7, 999, {}}, 111);
  CAF_CHECK_EQUAL(info->pid, 999);
  t.apply(task_finished{7, {task_status::failed, 3, 0, "exit code 3"}}, 150);
  CAF_CHECK(info->status == task_status::failed);
  CAF_CHECK_EQUAL(info->exit_code, 3);
  CAF_CHECK_EQUAL(info->reason, "exit code 3");
  CAF_CHECK_EQUAL(info->finished_ms, 150);
  CAF_CHECK(!t.next_queued());
}

CAF_TEST(a requeued task keeps its place in line) {
  task_table t;
  t.apply(task_submitted{1, spec_with_priority(0)}, 1);
  t.apply(task_submitted{2, spec_with_priority(0)}, 2);
  t.apply(task_assigned{1, "a", 1, ""}, 3);
  t.apply(task_requeued{1, "node restarted"}, 4);
  CAF_CHECK(t.next_queued() == task_id{1});
  CAF_CHECK(t.find(1)->status == task_status::queued);
  CAF_CHECK_EQUAL(t.find(1)->reason, "node restarted");
  t.apply(task_assigned{1, "a", 2, ""}, 5);
  CAF_CHECK_EQUAL(t.find(1)->attempts, 2u);
  CAF_CHECK(t.next_queued() == task_id{2});
}

CAF_TEST(facts about unknown tasks are ignored not fatal) {
  task_table t;
  CAF_CHECK(!t.apply(task_started{42, 1, {}}, 1));
  CAF_CHECK(!t.apply(task_finished{42, {}}, 1));
  CAF_CHECK_EQUAL(t.size(), 0u);
  t.apply(task_submitted{1, spec_with_priority(0)}, 1);
  CAF_CHECK(!t.apply(task_submitted{1, spec_with_priority(9)}, 2));
  CAF_CHECK_EQUAL(t.find(1)->spec.priority, 0);
}

CAF_TEST(listing filters by status newest first and counts) {
  task_table t;
  for (task_id id = 1; id <= 4; ++id)
    t.apply(task_submitted{id, spec_with_priority(0)}, 1);
  t.apply(task_assigned{2, "a", 1, ""}, 2);
  t.apply(task_finished{2, {task_status::completed, 0, 0, ""}}, 3);
  auto all = t.list(task_filter{});
  CAF_REQUIRE_EQUAL(all.size(), 4u);
  CAF_CHECK_EQUAL(all.front().id, 4u);
  auto queued = t.list(task_filter{false, task_status::queued, 0});
  CAF_CHECK_EQUAL(queued.size(), 3u);
  auto limited = t.list(task_filter{true, task_status::queued, 2});
  CAF_CHECK_EQUAL(limited.size(), 2u);
  auto counts = t.counts();
  CAF_CHECK_EQUAL(counts["queued"], 3u);
  CAF_CHECK_EQUAL(counts["completed"], 1u);
  CAF_CHECK_EQUAL(counts["failed"], 0u);
}

CAF_TEST(among equal priorities the earlier run_at goes first) {
  task_table t;
  auto a = spec_with_priority(1);
  a.run_at_ms = 500;
  auto b = spec_with_priority(1);
  b.run_at_ms = 100;
  t.apply(task_submitted{1, a}, 1);
  t.apply(task_submitted{2, b}, 2);
  t.apply(task_submitted{3, spec_with_priority(1)}, 3);
  CAF_CHECK(t.next_queued(50) == task_id{3});
  CAF_CHECK(t.next_due(50) == int64_t{100});
  CAF_CHECK(t.next_queued(1000) == task_id{3});
  t.apply(task_assigned{3, "a", 1, ""}, 4);
  CAF_CHECK(t.next_queued(1000) == task_id{2});
}

CAF_TEST(retry delays grow by the factor up to the cap) {
  retry_policy p{10, 1000, 2.0, 5000, 0.0};
  CAF_CHECK_EQUAL(retry_delay_ms(p, 1, 0.3), 1000);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 2, 0.3), 2000);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 3, 0.3), 4000);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 4, 0.3), 5000);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 60, 0.3), 5000);
  p.jitter = 0.5;
  CAF_CHECK_EQUAL(retry_delay_ms(p, 1, 0.0), 500);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 1, 0.5), 1000);
  CAF_CHECK_EQUAL(retry_delay_ms(p, 1, 1.0), 1500);
  CAF_CHECK(may_retry(p, 9));
  CAF_CHECK(!may_retry(p, 10));
  CAF_CHECK(!may_retry(retry_policy{0, 0, 1.0, 0, 0.0}, 1));
}

CAF_TEST(a task waits blocked until every dependency completed) {
  task_table t;
  t.apply(task_submitted{1, spec_with_priority(0)}, 1);
  t.apply(task_submitted{2, spec_with_priority(0)}, 2);
  auto dependent = spec_with_priority(5);
  dependent.depends_on = {1, 2};
  t.apply(task_submitted{3, dependent}, 3);
  CAF_CHECK(t.find(3)->status == task_status::blocked);
  CAF_CHECK_EQUAL(t.blocked_on(1), std::vector<task_id>{3});
  CAF_CHECK(t.next_queued() == task_id{1}); // 3 has the higher priority but waits
  t.apply(task_assigned{1, "a", 1, ""}, 4);
  t.apply(task_finished{1, {task_status::completed, 0, 0, ""}}, 5);
  CAF_CHECK(t.find(3)->status == task_status::blocked);
  // The fold round-trips through a snapshot while tasks are blocked.
  auto loaded = task_table::load(t.save());
  CAF_REQUIRE(loaded);
  CAF_CHECK(*loaded == t);
  t.apply(task_assigned{2, "a", 1, ""}, 6);
  t.apply(task_finished{2, {task_status::completed, 0, 0, ""}}, 7);
  CAF_CHECK(t.find(3)->status == task_status::queued);
  CAF_CHECK(t.next_queued() == task_id{3});
  // A failed dependency leaves its dependents blocked for the scheduler to
  // cancel: the fold itself decides nothing.
  auto after_fail = spec_with_priority(0);
  after_fail.depends_on = {4};
  t.apply(task_submitted{4, spec_with_priority(0)}, 8);
  t.apply(task_submitted{5, after_fail}, 9);
  t.apply(task_assigned{4, "a", 1, ""}, 10);
  t.apply(task_finished{4, {task_status::failed, 1, 0, "exit code 1"}}, 11);
  CAF_CHECK(t.find(5)->status == task_status::blocked);
}

CAF_TEST(what a limited run spent before its limit is booked when it parks) {
  task_table t;
  auto spec = spec_with_priority(0);
  spec.provider = "claude";
  t.apply(task_submitted{1, spec}, 10);
  t.apply(task_assigned{1, "claude-1", 1, ""}, 11);
  run_report rep;
  rep.session = "sess-1";
  rep.cost_usd = 0.25;
  rep.output_tokens = 900;
  rep.limit = "usage_limit";
  t.apply(task_parked{1, "usage_limit: resets at 5000", 5000, "sess-1", rep},
          20);
  auto info = t.find(1);
  CAF_REQUIRE(info != nullptr);
  CAF_CHECK_EQUAL(info->cost_usd, 0.25);
  CAF_CHECK_EQUAL(info->report->limit, "usage_limit");
  auto spent = t.costs().for_task(1);
  CAF_CHECK_EQUAL(spent.usd(), 0.25);
  CAF_CHECK_EQUAL(spent.output_tokens, 900u);
}

CAF_TEST(a parked task keeps its attempt and continues its session at its time) {
  task_table t;
  auto spec = spec_with_priority(0);
  spec.provider = "claude";
  t.apply(task_submitted{1, spec}, 10);
  t.apply(task_assigned{1, "claude-1", 1, ""}, 11);
  t.apply(task_parked{1, "usage_limit: resets at 5000", 5000, "sess-1"}, 20);
  auto info = t.find(1);
  CAF_REQUIRE(info != nullptr);
  CAF_CHECK(info->status == task_status::parked);
  CAF_CHECK_EQUAL(info->attempts, 0u);
  CAF_CHECK_EQUAL(info->progress->continue_session, "sess-1");
  auto counts = t.counts();
  CAF_CHECK_EQUAL(counts.at("parked"), 1u);
  // Not runnable, not due before its time; the scheduler wakes for it.
  CAF_CHECK(!t.next_queued(4999));
  CAF_CHECK(t.due_parked(4999).empty());
  CAF_CHECK_EQUAL(t.next_due(100), std::optional<int64_t>{5000});
  CAF_CHECK_EQUAL(t.due_parked(5000), std::vector<task_id>{1});
  // The snapshot keeps it parked.
  auto loaded = task_table::load(t.save());
  CAF_REQUIRE(loaded);
  CAF_CHECK(*loaded == t);
  CAF_CHECK_EQUAL(loaded->due_parked(5000), std::vector<task_id>{1});
  // Requeued at its time, it runs again and continues its session.
  t.apply(task_requeued{1, "limit lifted"}, 5000);
  CAF_CHECK_EQUAL(t.next_queued(5000), std::optional<task_id>{1});
  t.apply(task_assigned{1, "claude-1", 1, ""}, 5001);
  CAF_CHECK_EQUAL(info->progress->continue_session, "sess-1");
  run_report rep;
  rep.session = "sess-1";
  rep.cost_usd = 0.25;
  t.apply(task_finished{1, {task_status::completed, 0, 0, "", rep}}, 5100);
  CAF_CHECK(info->status == task_status::completed);
  CAF_CHECK_EQUAL(info->attempts, 1u);
  CAF_CHECK_EQUAL(info->cost_usd, 0.25);
  CAF_CHECK(info->progress->continue_session.empty());
}

CAF_TEST(a parked task keeps its session until it runs again) {
  task_table t;
  auto spec = spec_with_priority(0);
  spec.provider = "claude";
  t.apply(task_submitted{1, spec}, 10);
  task_assigned first{1, "claude-1", 1, ""};
  first.session = 1;
  first.tier = "fresh";
  t.apply(first, 11);
  t.apply(task_parked{1, "usage_limit", 5000, "sess-1"}, 20);
  CAF_CHECK(t.sessions().find(1)->state == session_state::idle);
  CAF_CHECK_EQUAL(t.sessions().kept_for(1), 1u);
  // A snapshot derives the same.
  auto loaded = task_table::load(t.save());
  CAF_REQUIRE(loaded);
  CAF_CHECK_EQUAL(loaded->sessions().kept_for(1), 1u);
  // Requeued at the reset it still waits for it; assigned, it has it.
  t.apply(task_requeued{1, "limit lifted"}, 5000);
  CAF_CHECK_EQUAL(t.sessions().kept_for(1), 1u);
  auto again = first;
  t.apply(again, 5001);
  CAF_CHECK_EQUAL(t.sessions().kept_for(1), 0u);
  CAF_CHECK(t.sessions().find(1)->state == session_state::busy);
}

CAF_TEST(a parked task without a time waits for a retry and may be cancelled) {
  task_table t;
  t.apply(task_submitted{1, spec_with_priority(0)}, 10);
  t.apply(task_assigned{1, "a", 1, ""}, 11);
  t.apply(task_parked{1, "usage_limit; auto-resume is off", 0, "s"}, 20);
  CAF_CHECK(t.due_parked(INT64_MAX - 1).empty());
  CAF_CHECK(!t.next_due(20));
  t.apply(task_cancelled{1, "by request"}, 30);
  CAF_CHECK(t.find(1)->status == task_status::cancelled);
}

CAF_TEST(a usage limit holds its account until the reset whatever becomes of the task) {
  task_table t;
  auto spec = spec_with_priority(0);
  spec.provider = "claude";
  t.apply(task_submitted{1, spec}, 10);
  t.apply(task_assigned{1, "claude-1", 1, ""}, 11);
  CAF_CHECK(t.apply(limit_changed{1, "held", "claude", "", 5000,
                                  "usage_limit: resets at 5000"},
                    20));
  CAF_CHECK_EQUAL(t.held_until("claude", "", 100), std::optional<int64_t>{5000});
  // Another account of the provider is not held.
  CAF_CHECK(!t.held_until("claude", "pool:b", 100));
  auto holds = t.holds(100);
  CAF_REQUIRE_EQUAL(holds.size(), 1u);
  CAF_CHECK_EQUAL(holds[0].task, 1u);
  // The scheduler wakes for the lift even with no task parked.
  CAF_CHECK_EQUAL(t.next_due(100), std::optional<int64_t>{5000});
  // A second run of the account hitting the limit with an earlier reset
  // does not shorten the hold.
  t.apply(limit_changed{1, "held", "claude", "", 3000, "rate_limit"}, 30);
  CAF_CHECK_EQUAL(t.held_until("claude", "", 100), std::optional<int64_t>{5000});
  // Cancelling the task that hit the limit does not lift it.
  t.apply(task_cancelled{1, "by request"}, 40);
  CAF_CHECK_EQUAL(t.held_until("claude", "", 100), std::optional<int64_t>{5000});
  // The snapshot keeps it.
  auto loaded = task_table::load(t.save());
  CAF_REQUIRE(loaded);
  CAF_CHECK(*loaded == t);
  CAF_CHECK_EQUAL(loaded->held_until("claude", "", 100),
                  std::optional<int64_t>{5000});
  // At its time it is due to be lifted, and no longer in force.
  CAF_CHECK(t.due_holds(4999).empty());
  CAF_CHECK_EQUAL(t.due_holds(5000).size(), 1u);
  CAF_CHECK(!t.held_until("claude", "", 5000));
  CAF_CHECK(t.apply(limit_changed{1, "lifted", "claude", "", 0, "reset"}, 5000));
  CAF_CHECK(t.due_holds(5000).empty());
  // Lifting what is not held does not fit.
  CAF_CHECK(!t.apply(limit_changed{1, "lifted", "claude", "", 0, "again"}, 5001));
}

CAF_TEST(sessions fold from task events and survive a snapshot) {
  task_table t;
  auto spec = spec_with_priority(0);
  spec.provider = "claude";
  spec.resume_key = "k";
  t.apply(task_submitted{1, spec}, 10);
  task_assigned first{1, "claude-1", 1, ""};
  first.session = 1;
  first.tier = "fresh";
  t.apply(first, 11);
  auto s = t.sessions().find(1);
  CAF_REQUIRE(s != nullptr);
  CAF_CHECK(s->state == session_state::busy);
  CAF_CHECK_EQUAL(s->current_task, 1u);
  CAF_CHECK_EQUAL(s->resume_key, "k");
  run_report rep;
  rep.session = "cli-1";
  rep.turns = 3;
  rep.cost_usd = 0.5;
  t.apply(task_finished{1, {task_status::completed, 0, 0, "", rep}}, 20);
  CAF_CHECK(s->state == session_state::idle);
  CAF_CHECK_EQUAL(s->cli_session_id, "cli-1");
  CAF_CHECK_EQUAL(s->turns, 3u);
  CAF_CHECK_EQUAL(s->cost_usd, 0.5);
  // The key routes the next task to it.
  auto plan = t.sessions().plan("claude", "", std::string{"k"}, 30);
  CAF_CHECK(plan.tier == allocation_tier::by_key);
  CAF_CHECK_EQUAL(plan.session, 1u);
  // Client commands are facts too; a snapshot keeps them.
  CAF_CHECK(t.apply(session_changed{1, "paused", {}, {}, {}, "by request"}, 40));
  auto loaded = task_table::load(t.save());
  CAF_REQUIRE(loaded);
  auto restored = loaded->sessions().find(1);
  CAF_REQUIRE(restored != nullptr);
  CAF_CHECK(restored->state == session_state::paused);
  CAF_CHECK_EQUAL(restored->cli_session_id, "cli-1");
  CAF_CHECK_EQUAL(restored->tasks, std::vector<task_id>{1});
  CAF_CHECK_EQUAL(loaded->sessions().bound("k", 41), std::optional<session_id>{1});
  // An illegal transition in the journal is ignored, not fatal.
  CAF_CHECK(!t.apply(session_changed{1, "opened", "claude", "", "", ""}, 50));
  CAF_CHECK(t.apply(session_changed{1, "closed", {}, {}, {}, ""}, 50));
  CAF_CHECK(!t.apply(session_changed{1, "resumed", {}, {}, {}, ""}, 60));
}
