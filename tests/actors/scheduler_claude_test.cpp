#define CAF_SUITE actors.scheduler_claude
#include "tests/support/scheduler_fixture.hpp"

// The scheduler and claude tasks: usage limits (parking, account holds,
// continuation), sessions (keys, waits, pool limits, timeouts, listing) and
// the pool and workflow budgets, all in virtual time.

#include <algorithm>

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;
using namespace cw::test;

namespace {

constexpr int64_t ten_minutes = 10 * 60'000;

/// The scheduler fixture with the helpers of claude tasks.
struct fixture : scheduler_fixture {
  fixture() {
    // A limit without a reset time holds a minute.
    limit_backoff_ms = 60'000;
  }

  /// A claude task that hit a usage limit, and when the limit lifts.
  struct limited_task {
    task_info task;
    int64_t reset;
  };

  /// Starts the scheduler with one claude agent and submits a claude task
  /// (which it runs).
  task_info start_claude_task() {
    start();
    add_claude_agent();
    return submit(claude_spec());
  }

  /// Starts the scheduler with one claude agent and runs a claude task that
  /// hits a usage limit lifting in ten minutes.
  limited_task start_limited() {
    auto t = start_claude_task();
    auto reset = wall() + ten_minutes;
    finish_limited(t.id, 1, reset);
    return {t, reset};
  }

  /// Ends attempt `attempt` of `id` failed by a usage limit that lifts at
  /// `reset_ms` (0: the run did not say), in cli session `sess-ID`.
  void finish_limited(task_id id, uint32_t attempt, int64_t reset_ms) {
    task_outcome outcome{task_status::failed, 1, 0, "exit code 1"};
    outcome.report.session = "sess-" + std::to_string(id);
    outcome.report.subtype = "error_during_execution";
    outcome.report.is_error = true;
    outcome.report.limit = "usage_limit";
    outcome.report.limit_reset_ms = reset_ms;
    self->send(sched_actor, finished_atom_v, id, attempt, std::move(outcome));
    drain();
  }

  /// Moves virtual time forward by `ms` and runs what it woke.
  void wait_ms(int64_t ms) {
    advance_time(std::chrono::milliseconds{ms});
    drain();
  }

  task_info retry(task_id id) {
    self->send(sched_actor, retry_atom_v, id);
    drain();
    return reply<task_info>();
  }

  task_info cancel(task_id id) {
    self->send(sched_actor, cancel_atom_v, id);
    drain();
    return reply<task_info>();
  }

  /// Returns the ids of the tasks run so far, in order.
  std::vector<task_id> run_ids() const {
    std::vector<task_id> result;
    for (auto& r : *runs)
      result.push_back(r.id);
    return result;
  }

  /// Returns the last run of task `id`.
  run_record last_run_of(task_id id) const {
    for (auto i = runs->rbegin(); i != runs->rend(); ++i)
      if (i->id == id)
        return *i;
    CAF_FAIL("task " << id << " never ran");
  }

  std::vector<session_info> sessions_in(std::string state,
                                        uint32_t limit = 0) {
    self->send(sched_actor, session_atom_v, list_atom_v, std::move(state),
               limit);
    drain();
    return reply<std::vector<session_info>>();
  }

  session_info session(session_id id) {
    self->send(sched_actor, session_atom_v, lookup_atom_v, id);
    drain();
    return reply<session_info>();
  }

  /// Sends a session command and returns its answer.
  caf::expected<session_info> session_command(session_command_spec cmd) {
    return ask<session_info>(session_atom_v, std::move(cmd));
  }

  caf::expected<session_info> session_command(std::string what, session_id id) {
    session_command_spec cmd;
    cmd.what = std::move(what);
    cmd.id = id;
    return session_command(std::move(cmd));
  }

  /// Returns the journaled events of `entity`, as `type` strings.
  std::vector<std::string> types_of(const std::string& entity) const {
    std::vector<std::string> result;
    for (auto& ev : jd->events)
      if (ev.entity == entity)
        result.push_back(ev.type);
    return result;
  }

  /// Returns the journaled limit events, decoded.
  std::vector<limit_changed> limit_events() const {
    std::vector<limit_changed> result;
    for (auto& ev : jd->events)
      if (ev.type.rfind("limit.", 0) == 0) {
        auto typed = persistence::decode(ev);
        CAF_REQUIRE(typed);
        auto x = std::get_if<limit_changed>(&*typed);
        CAF_REQUIRE(x != nullptr);
        result.push_back(*x);
      }
    return result;
  }

  workflow_info submit_workflow(workflow_spec x) {
    self->send(sched_actor, workflow_atom_v, submit_atom_v, std::move(x));
    drain();
    return reply<workflow_info>();
  }
};

/// Returns a claude task with resume key `key`.
task_spec keyed(std::string key, std::string prompt = "go on") {
  auto x = claude_spec(std::move(prompt));
  x.resume_key = std::move(key);
  return x;
}

/// Returns a claude task of pool `pool`.
task_spec in_pool(std::string pool) {
  auto x = claude_spec();
  x.pool = std::move(pool);
  return x;
}

bool starts_with(const std::string& str, const std::string& prefix) {
  return str.rfind(prefix, 0) == 0;
}

/// What the scheduler tells a parked task's session by default.
const std::string continuation
  = "You were interrupted by a usage limit. Continue the task where you "
    "left off.";

} // namespace

CAF_TEST_FIXTURE_SCOPE(scheduler_claude_tests, fixture)

// -- usage limits -------------------------------------------------------------

CAF_TEST(a usage limit parks the task without counting its attempt) {
  auto t = start_claude_task();
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  auto reset = wall() + ten_minutes;
  finish_limited(t.id, 1, reset);
  auto parked = lookup(t.id);
  CAF_CHECK(parked.status == task_status::parked);
  CAF_CHECK_EQUAL(parked.attempts, 0u);
  CAF_CHECK(starts_with(parked.reason, "usage_limit"));
  CAF_CHECK_EQUAL(parked.reason,
                  "usage_limit: resets at " + std::to_string(reset));
  CAF_CHECK_EQUAL(parked.parked_until_ms, reset);
  CAF_CHECK(!parked.dead);
  // Not failed: nothing runs again before the reset.
  wait_ms(ten_minutes - 1);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK(lookup(t.id).status == task_status::parked);
}

CAF_TEST(a usage limit holds the account until the reset and lists the hold) {
  auto [first, reset] = start_limited();
  // The agent is free, but its account is held: a new task waits.
  auto second = submit(claude_spec("write the docs"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  auto waiting = lookup(second.id);
  CAF_CHECK(waiting.status == task_status::queued);
  CAF_CHECK_EQUAL(waiting.waiting,
                  "provider claude (account default) hit a usage limit in "
                  "task "
                    + std::to_string(first.id) + "; its tasks start in 600 s");
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_REQUIRE_EQUAL(st->holds.size(), 1u);
  CAF_CHECK_EQUAL(st->holds.front().provider, "claude");
  CAF_CHECK_EQUAL(st->holds.front().account, "");
  CAF_CHECK_EQUAL(st->holds.front().task, first.id);
  CAF_CHECK_EQUAL(st->holds.front().until_ms, reset);
  wait_ms(ten_minutes - 1);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK(lookup(second.id).status == task_status::queued);
  // At the reset both start: the parked one continues, the new one begins.
  wait_ms(1);
  CAF_CHECK_EQUAL(run_ids(),
                  (std::vector<task_id>{first.id, first.id, second.id}));
  CAF_CHECK(lookup(second.id).status == task_status::running);
  st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_CHECK(st->holds.empty());
}

CAF_TEST(a task held by a usage limit takes no locks while it waits) {
  add_locks();
  auto [first, reset] = start_limited();
  auto x = claude_spec("migrate the db");
  x.locks = {"db"};
  auto locked = submit(x);
  auto waiting = lookup(locked.id);
  CAF_CHECK(waiting.status == task_status::queued);
  CAF_CHECK_EQUAL(waiting.waiting.rfind("provider claude (account default) "
                                        "hit a usage limit",
                                        0),
                  0u);
  // Nobody holds db: another owner takes it at once.
  self->send(locks, lock_atom_v, lock_spec{"agent:x", "db", true, 0, 0});
  drain();
  auto grant = reply<lock_grant>();
  CAF_CHECK_EQUAL(grant.owner, "agent:x");
}

CAF_TEST(a parked task continues its conversation at the reset) {
  auto [t, reset] = start_limited();
  wait_ms(ten_minutes);
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  auto again = runs->back();
  CAF_CHECK_EQUAL(again.id, t.id);
  // The limited attempt did not count: this is attempt 1 again.
  CAF_CHECK_EQUAL(again.attempt, 1u);
  CAF_CHECK_EQUAL(again.spec.resume_session, "sess-" + std::to_string(t.id));
  CAF_CHECK_EQUAL(again.spec.prompt, continuation);
  auto info = lookup(t.id);
  CAF_CHECK(info.status == task_status::running);
  CAF_CHECK_EQUAL(info.reason, "");
  // Once it completes, a retry of the task would start over, not continue.
  finish_costing(t.id, 1, task_status::completed);
  CAF_CHECK(lookup(t.id).status == task_status::completed);
}

CAF_TEST(a usage limit without a reset time holds for the back off) {
  limit_backoff_ms = 90'000;
  auto t = start_claude_task();
  auto limited_at = wall();
  finish_limited(t.id, 1, 0);
  auto parked = lookup(t.id);
  CAF_CHECK(parked.status == task_status::parked);
  CAF_CHECK_EQUAL(parked.parked_until_ms, limited_at + 90'000);
  CAF_CHECK_EQUAL(parked.reason,
                  "usage_limit: no reset time given, back-off 90 s");
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_REQUIRE_EQUAL(st->holds.size(), 1u);
  CAF_CHECK_EQUAL(st->holds.front().until_ms, limited_at + 90'000);
  auto other = submit(claude_spec("something else"));
  wait_ms(89'999);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  wait_ms(1);
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{t.id, t.id, other.id}));
  CAF_CHECK_EQUAL(last_run_of(t.id).spec.prompt, continuation);
}

CAF_TEST(a reset time in the past falls back to the back off) {
  limit_backoff_ms = 30'000;
  auto t = start_claude_task();
  auto now = wall();
  finish_limited(t.id, 1, now - 1);
  CAF_CHECK_EQUAL(lookup(t.id).parked_until_ms, now + 30'000);
  wait_ms(30'000);
  CAF_CHECK_EQUAL(runs->size(), 2u);
}

CAF_TEST(a usage limit holds only the account of the agent that hit it) {
  pool_settings a;
  a.provider = "claude";
  a.account = "acct-a";
  pools["a"] = a;
  pool_settings b;
  b.provider = "claude";
  b.account = "acct-b";
  pools["b"] = b;
  start();
  add_claude_agent("claude-a", "a", 1);
  add_claude_agent("claude-b", "b", 1);
  auto limited = submit(in_pool("a"));
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(lookup(limited.id).agent, "claude-a");
  auto reset = wall() + ten_minutes;
  finish_limited(limited.id, 1, reset);
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_REQUIRE_EQUAL(st->holds.size(), 1u);
  CAF_CHECK_EQUAL(st->holds.front().account, "acct-a");
  // Pool a's agent is idle but held; pool b's account is not.
  auto on_a = submit(in_pool("a"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK(lookup(on_a.id).status == task_status::queued);
  CAF_CHECK(starts_with(lookup(on_a.id).waiting, "provider claude (account "
                                                 "acct-a) hit a usage limit"));
  auto on_b = submit(in_pool("b"));
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, on_b.id);
  CAF_CHECK_EQUAL(lookup(on_b.id).agent, "claude-b");
  finish_costing(on_b.id, 1, task_status::completed);
  // A task of either pool goes to the free account's agent.
  auto anywhere = submit(claude_spec("any pool"));
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(runs->back().id, anywhere.id);
  CAF_CHECK_EQUAL(lookup(anywhere.id).agent, "claude-b");
  CAF_CHECK_EQUAL(types_of("limit/claude/acct-a"),
                  (std::vector<std::string>{"limit.held"}));
  CAF_CHECK(types_of("limit/claude/acct-b").empty());
}

CAF_TEST(a hold outlives its task when the parked task is cancelled) {
  auto [t, reset] = start_limited();
  CAF_CHECK(cancel(t.id).status == task_status::cancelled);
  // The account is still out of usage: a new task waits for the reset.
  auto next = submit(claude_spec("next"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_REQUIRE_EQUAL(st->holds.size(), 1u);
  CAF_CHECK_EQUAL(st->holds.front().task, t.id);
  wait_ms(ten_minutes - 1);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  wait_ms(1);
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{t.id, next.id}));
  // The cancelled task stays cancelled.
  CAF_CHECK(lookup(t.id).status == task_status::cancelled);
}

CAF_TEST(retry of a parked task lifts the hold it caused) {
  auto [t, reset] = start_limited();
  auto waiting = submit(claude_spec("next"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  auto again = retry(t.id);
  CAF_CHECK(again.status != task_status::parked);
  // Both start at once, long before the reset.
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{t.id, t.id, waiting.id}));
  auto cont = last_run_of(t.id);
  CAF_CHECK_EQUAL(cont.attempt, 1u);
  CAF_CHECK_EQUAL(cont.spec.resume_session, "sess-" + std::to_string(t.id));
  CAF_CHECK_EQUAL(cont.spec.prompt, continuation);
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_CHECK(st->holds.empty());
  auto limits = limit_events();
  CAF_REQUIRE_EQUAL(limits.size(), 2u);
  CAF_CHECK_EQUAL(limits[1].what, "lifted");
  CAF_CHECK_EQUAL(limits[1].id, t.id);
  CAF_CHECK_EQUAL(limits[1].reason,
                  "task " + std::to_string(t.id) + " continued by request");
}

CAF_TEST(without auto resume a parked task waits for retry while the hold lifts at the reset) {
  auto_resume = false;
  auto [t, reset] = start_limited();
  auto parked = lookup(t.id);
  CAF_CHECK(parked.status == task_status::parked);
  CAF_CHECK_EQUAL(parked.parked_until_ms, 0);
  CAF_CHECK(starts_with(parked.reason, "usage_limit"));
  CAF_CHECK(parked.reason.find("auto-resume is off") != std::string::npos);
  // The account is held until the reset all the same.
  auto next = submit(claude_spec("next"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_REQUIRE_EQUAL(st->holds.size(), 1u);
  CAF_CHECK_EQUAL(st->holds.front().until_ms, reset);
  wait_ms(ten_minutes - 1);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  wait_ms(1);
  // New work starts at the reset; the parked task stays parked.
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{t.id, next.id}));
  CAF_CHECK(lookup(t.id).status == task_status::parked);
  wait_ms(60 * 60'000);
  CAF_CHECK_EQUAL(runs->size(), 2u);
  CAF_CHECK(lookup(t.id).status == task_status::parked);
  // A retry continues it in its conversation, in its session, once the task
  // that took the session meanwhile is done with it.
  retry(t.id);
  CAF_CHECK_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(lookup(t.id).waiting, "no session: its session 1 is busy");
  finish_costing(next.id, 1, task_status::completed, 0.001);
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(lookup(t.id).session, 1u);
  CAF_CHECK_EQUAL(runs->back().id, t.id);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session,
                  "sess-" + std::to_string(t.id));
  CAF_CHECK_EQUAL(runs->back().spec.prompt, continuation);
}

CAF_TEST(a usage limit hold and its lift are journaled for the account) {
  auto [t, reset] = start_limited();
  CAF_CHECK_EQUAL(types_of("limit/claude/default"),
                  (std::vector<std::string>{"limit.held"}));
  // The hold is journaled before the task is parked.
  std::vector<std::string> order;
  for (auto& ev : jd->events)
    if (ev.type == "limit.held" || ev.type == "task.parked")
      order.push_back(ev.type);
  CAF_CHECK_EQUAL(order,
                  (std::vector<std::string>{"limit.held", "task.parked"}));
  wait_ms(ten_minutes);
  CAF_CHECK_EQUAL(types_of("limit/claude/default"),
                  (std::vector<std::string>{"limit.held", "limit.lifted"}));
  auto limits = limit_events();
  CAF_REQUIRE_EQUAL(limits.size(), 2u);
  CAF_CHECK_EQUAL(limits[0].what, "held");
  CAF_CHECK_EQUAL(limits[0].provider, "claude");
  CAF_CHECK_EQUAL(limits[0].account, "");
  CAF_CHECK_EQUAL(limits[0].id, t.id);
  CAF_CHECK_EQUAL(limits[0].until_ms, reset);
  CAF_CHECK(starts_with(limits[0].reason, "usage_limit"));
  CAF_CHECK_EQUAL(limits[1].what, "lifted");
  CAF_CHECK_EQUAL(limits[1].reason, "its reset time came");
}

// -- sessions -----------------------------------------------------------------

CAF_TEST(a task with a resume key continues the session of its key) {
  start();
  add_claude_agent();
  auto a = submit(keyed("k"));
  auto b = submit(claude_spec("unkeyed"));
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(lookup(a.id).session, 1u);
  CAF_CHECK_EQUAL(lookup(b.id).session, 2u);
  finish_costing(a.id, 1, task_status::completed);
  wait_ms(1000);
  // Session 2 is the most recently active idle one: without the key the
  // next task would go there.
  finish_costing(b.id, 1, task_status::completed);
  auto c = submit(keyed("k", "and the tests"));
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(lookup(c.id).session, 1u);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session,
                  "sess-" + std::to_string(a.id));
  CAF_CHECK_EQUAL(runs->back().spec.prompt, "and the tests");
  CAF_CHECK_EQUAL(session(1).cli_session_id, "sess-" + std::to_string(a.id));
}

CAF_TEST(a task whose keyed session is busy waits while a later task starts) {
  start();
  add_claude_agent();
  auto a = submit(keyed("k"));
  auto b = submit(keyed("k", "then this"));
  CAF_CHECK_EQUAL(runs->size(), 1u);
  auto info = lookup(b.id);
  CAF_CHECK(info.status == task_status::queued);
  CAF_CHECK(starts_with(info.waiting, "no session:"));
  CAF_CHECK_EQUAL(info.waiting, "no session: session 1 for key 'k' is busy");
  // A later task without a key does not wait behind it.
  auto c = submit(claude_spec("unrelated"));
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, c.id);
  CAF_CHECK_EQUAL(lookup(c.id).session, 2u);
  // The session frees: the waiting task goes on in it.
  finish_costing(a.id, 1, task_status::completed);
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(runs->back().id, b.id);
  CAF_CHECK_EQUAL(lookup(b.id).session, 1u);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session,
                  "sess-" + std::to_string(a.id));
}

CAF_TEST(a full session pool makes a task wait until a session closes) {
  sessions.default_pool_limit = 1;
  start();
  add_claude_agent();
  session_command_spec open;
  open.what = "open";
  open.provider = "claude";
  auto opened = session_command(open);
  CAF_REQUIRE(opened);
  CAF_CHECK_EQUAL(opened->id, 1u);
  // Paused, the only session of the pool takes no task and makes no room.
  CAF_REQUIRE(session_command("pause", 1));
  auto t = submit(claude_spec());
  CAF_CHECK_EQUAL(runs->size(), 0u);
  auto info = lookup(t.id);
  CAF_CHECK(info.status == task_status::queued);
  CAF_CHECK_EQUAL(info.waiting,
                  "no session: pool '' has all 1 sessions open and none idle "
                  "for provider 'claude'");
  // Closing it makes room: the task starts in a new session.
  auto closed = session_command("close", 1);
  CAF_REQUIRE(closed);
  CAF_CHECK(closed->state == session_state::closed);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->back().id, t.id);
  CAF_CHECK_EQUAL(lookup(t.id).session, 2u);
}

CAF_TEST(an idle session closes at its timeout without another dispatch) {
  sessions.idle_timeout_ms = 60'000;
  auto t = start_claude_task();
  finish_costing(t.id, 1, task_status::completed);
  CAF_CHECK(session(1).state == session_state::idle);
  // Nothing is submitted or finished from here on: only the timer acts.
  wait_ms(60'000);
  CAF_CHECK(session(1).state == session_state::idle);
  wait_ms(1);
  CAF_CHECK(session(1).state == session_state::closed);
  std::vector<std::string> closes;
  for (auto& ev : jd->events)
    if (ev.type == "session.closed")
      closes.push_back(ev.entity);
  CAF_CHECK_EQUAL(closes, (std::vector<std::string>{"session/1"}));
}

CAF_TEST(a resume key binding lapses after the binding timeout) {
  sessions.binding_timeout_ms = 60'000;
  start();
  add_claude_agent();
  auto a = submit(keyed("k"));
  auto b = submit(claude_spec("unkeyed"));
  finish_costing(a.id, 1, task_status::completed);
  wait_ms(30'000);
  finish_costing(b.id, 1, task_status::completed);
  auto listed = sessions_in("");
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  CAF_CHECK_EQUAL(listed[0].resume_key, "k");
  // The binding counts from the end of the key's last task.
  wait_ms(30'000);
  listed = sessions_in("");
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  CAF_CHECK_EQUAL(listed[0].resume_key, "k");
  wait_ms(1);
  listed = sessions_in("");
  CAF_REQUIRE_EQUAL(listed.size(), 2u);
  CAF_CHECK_EQUAL(listed[0].id, 1u);
  CAF_CHECK_EQUAL(listed[0].resume_key, "");
  CAF_CHECK_EQUAL(session(1).resume_key, "");
  // The key routes nowhere: its task gets the most recently active idle
  // session by the tiers, not session 1.
  auto c = submit(keyed("k", "again"));
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(lookup(c.id).session, 2u);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session,
                  "sess-" + std::to_string(b.id));
  std::string tier;
  for (auto& ev : jd->events)
    if (ev.type == "task.assigned" && ev.entity == "task/" + std::to_string(c.id))
      if (auto typed = persistence::decode(ev))
        if (auto x = std::get_if<task_assigned>(&*typed))
          tier = x->tier;
  CAF_CHECK_EQUAL(tier, "idle");
  // The key now binds the session its task went to.
  CAF_CHECK_EQUAL(session(2).resume_key, "k");
}

CAF_TEST(the session listing filters by state) {
  auto t = start_claude_task();
  finish_costing(t.id, 1, task_status::completed);
  session_command_spec open;
  open.what = "open";
  open.provider = "claude";
  open.resume_key = "spare";
  CAF_REQUIRE(session_command(open));
  CAF_REQUIRE(session_command("close", 1));
  auto ids = [](const std::vector<session_info>& xs) {
    std::vector<session_id> result;
    for (auto& x : xs)
      result.push_back(x.id);
    return result;
  };
  CAF_CHECK_EQUAL(ids(sessions_in("open")), (std::vector<session_id>{2}));
  CAF_CHECK_EQUAL(ids(sessions_in("closed")), (std::vector<session_id>{1}));
  CAF_CHECK_EQUAL(ids(sessions_in("idle")), (std::vector<session_id>{2}));
  CAF_CHECK_EQUAL(ids(sessions_in("")), (std::vector<session_id>{1, 2}));
  CAF_CHECK_EQUAL(ids(sessions_in("", 1)), (std::vector<session_id>{2}));
  auto open_now = sessions_in("open");
  CAF_REQUIRE_EQUAL(open_now.size(), 1u);
  CAF_CHECK_EQUAL(open_now.front().resume_key, "spare");
}

CAF_TEST(opening a session is refused for providers without sessions and bad keys) {
  start();
  add_claude_agent();
  add_agent("worker");
  auto before = jd->events.size();
  session_command_spec open;
  open.what = "open";
  open.provider = "command";
  auto refused = session_command(open);
  CAF_REQUIRE(!refused);
  CAF_CHECK(refused.error() == errc::invalid_argument);
  CAF_CHECK(starts_with(error_message(refused.error()), "provider:"));
  CAF_CHECK(error_message(refused.error()).find("'command'")
            != std::string::npos);
  open.provider = "claude";
  open.resume_key = std::string{"bad\x01key"};
  refused = session_command(open);
  CAF_REQUIRE(!refused);
  CAF_CHECK(refused.error() == errc::invalid_argument);
  CAF_CHECK(starts_with(error_message(refused.error()), "resume_key:"));
  CAF_CHECK_EQUAL(jd->events.size(), before);
  CAF_CHECK(sessions_in("").empty());
}

// -- budgets ------------------------------------------------------------------

CAF_TEST(a task over its pool day budget is parked until the next utc day) {
  spending.per_pool_usd = 0.01;
  auto parked = after_spending_two_cents();
  check_parked_for_the_day(parked,
                           "budget: pool \"ai\" spent $0.0200 of $0.0100 today");
  auto midnight = next_midnight();
  wait_ms(midnight - wall() - 1);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  wait_ms(1);
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, parked.id);
  CAF_CHECK(lookup(parked.id).status == task_status::running);
}

/// A workflow of two claude tasks, `b` after `a`, as submitted.
struct two_steps {
  workflow_info w;
  task_id a;
  task_id b;
};

task_id id_of(const workflow_info& w, const std::string& key) {
  for (auto& t : w.tasks)
    if (t.key == key)
      return t.id;
  CAF_FAIL("no task " << key);
}

/// Submits a workflow of two claude tasks, `b` after `a`, with budget `usd`.
two_steps submit_steps(fixture& f, double usd) {
  workflow_spec x;
  x.name = "steps";
  x.policy = failure_policy::continue_;
  workflow_task_spec a;
  a.key = "a";
  a.spec = claude_spec("step a");
  workflow_task_spec b;
  b.key = "b";
  b.spec = claude_spec("step b");
  b.depends_on = {"a"};
  x.tasks = {a, b};
  x.budget_usd = usd;
  auto w = f.submit_workflow(std::move(x));
  return {w, id_of(w, "a"), id_of(w, "b")};
}

/// Ends step `a` of `steps` (budget $0.01) at a cost of $0.02 and checks that
/// step `b` is parked for the workflow's budget; returns `b` as it stands.
task_info overspend(fixture& f, const two_steps& steps) {
  f.finish_costing(steps.a, 1, task_status::completed, 0.02);
  auto parked = f.lookup(steps.b);
  CAF_CHECK(parked.status == task_status::parked);
  CAF_CHECK_EQUAL(parked.reason, "budget: workflow "
                                   + std::to_string(steps.w.id)
                                   + " spent $0.0200 of $0.0100");
  return parked;
}

CAF_TEST(a workflow budget parks its next task even without node budgets) {
  start();
  add_claude_agent();
  auto steps = submit_steps(*this, 0.01);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  auto parked = overspend(*this, steps);
  CAF_CHECK_EQUAL(parked.parked_until_ms, 0);
  CAF_CHECK_EQUAL(runs->size(), 1u);
}

CAF_TEST(a workflow budget takes the place of per_workflow_usd) {
  spending.per_workflow_usd = 1.0;
  start();
  add_claude_agent();
  auto steps = submit_steps(*this, 0.01);
  overspend(*this, steps);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  // Not a day's budget: no time brings it back.
  wait_ms(2 * 86'400'000);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK(lookup(steps.b).status == task_status::parked);
}

CAF_TEST(a workflow without a budget of its own uses per_workflow_usd) {
  spending.per_workflow_usd = 0.01;
  start();
  add_claude_agent();
  auto [w, a, b] = submit_steps(*this, 0);
  finish_costing(a, 1, task_status::completed, 0.005);
  // Under the budget: the next task starts.
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, b);
  finish_costing(b, 1, task_status::completed, 0.001);
  auto [w2, a2, b2] = submit_steps(*this, 0);
  finish_costing(a2, 1, task_status::completed, 0.012);
  auto parked = lookup(b2);
  CAF_CHECK(parked.status == task_status::parked);
  CAF_CHECK_EQUAL(parked.reason, "budget: workflow " + std::to_string(w2.id)
                                   + " spent $0.0120 of $0.0100");
  CAF_CHECK_EQUAL(runs->size(), 3u);
}

CAF_TEST_FIXTURE_SCOPE_END()
