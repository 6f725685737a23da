#define CAF_SUITE actors.scheduler
#include "tests/support/scheduler_fixture.hpp"

#include <algorithm>

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;
using namespace cw::test;

namespace {

using fixture = scheduler_fixture;

/// What a pool supervisor was asked by the scheduler.
struct pool_calls {
  int grows = 0;
  std::vector<std::string> shrunk;
};

/// A pool supervisor that names the agents it is asked to grow `e-1`, `e-2`
/// … (the test registers them) and records what it is asked to shrink.
caf::behavior fake_pool_supervisor(caf::event_based_actor*,
                                   std::shared_ptr<pool_calls> calls) {
  return {
    [calls](grow_atom) {
      return "e-" + std::to_string(++calls->grows);
    },
    [calls](shrink_atom, const std::string& name, const std::string& reason) {
      calls->shrunk.push_back(name + ": " + reason);
      return true;
    },
  };
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(scheduler_tests, fixture)

CAF_TEST(submit is answered only after the journal committed) {
  start();
  jd->hold = true;
  self->send(sched_actor, submit_atom_v, spec());
  drain();
  CAF_CHECK_EQUAL(event_types(), (std::vector<std::string>{"task.submitted"}));
  CAF_CHECK(!received<task_info>(self));
  self->send(journal, flush_atom_v);
  drain();
  auto info = reply<task_info>();
  CAF_CHECK_EQUAL(info.id, 1u);
  CAF_CHECK(info.status == task_status::queued);
  CAF_CHECK_EQUAL(info.spec.argv, spec().argv);
}

CAF_TEST(a process starts only after its assignment is committed) {
  start();
  add_agent("agent-1");
  jd->hold = true;
  self->send(sched_actor, submit_atom_v, spec());
  drain();
  // Both decisions of the burst went out in one append, still held.
  CAF_CHECK_EQUAL(event_types(), (std::vector<std::string>{"task.submitted",
                                                            "task.assigned"}));
  CAF_CHECK_EQUAL(jd->held.size(), 1u);
  CAF_CHECK(runs->empty());
  self->send(journal, flush_atom_v); // commits both
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->front().id, 1u);
  CAF_CHECK_EQUAL(runs->front().attempt, 1u);
  CAF_CHECK_EQUAL(runs->front().log_path, "/logs/1.log");
}

CAF_TEST(queries wait for decisions still in flight) {
  start();
  submit(spec());
  jd->hold = true;
  add_agent("agent-1"); // assigns task 1, not yet committed
  self->send(sched_actor, lookup_atom_v, task_id{1});
  drain();
  CAF_CHECK(!received<task_info>(self));
  self->send(journal, flush_atom_v);
  drain();
  CAF_CHECK(reply<task_info>().status == task_status::running);
}

CAF_TEST(tasks run by priority then submission order) {
  start();
  submit(spec(0));
  submit(spec(5));
  submit(spec(1));
  submit(spec(5));
  auto agent = add_agent("agent-1");
  std::vector<task_id> order;
  for (int i = 0; i < 4; ++i) {
    CAF_REQUIRE_EQUAL(runs->size(), static_cast<size_t>(i + 1));
    auto r = runs->back();
    order.push_back(r.id);
    self->send(sched_actor, finished_atom_v, r.id, r.attempt,
               task_outcome{task_status::completed, 0, 0, ""});
    drain();
  }
  CAF_CHECK_EQUAL(order, (std::vector<task_id>{2, 4, 3, 1}));
  CAF_CHECK(lookup(1).status == task_status::completed);
}

CAF_TEST(outcomes are recorded and waiters answered) {
  start();
  add_agent("agent-1");
  auto info = submit(spec());
  self->send(sched_actor, await_atom_v, info.id, caf::timespan{60s});
  drain();
  CAF_CHECK(!received<task_info>(self));
  self->send(sched_actor, started_atom_v, info.id, uint32_t{1},
             process_ref{4242, 4241, 99, 0});
  self->send(sched_actor, finished_atom_v, info.id, uint32_t{1},
             task_outcome{task_status::failed, 3, 0, "exit code 3"});
  drain();
  auto done = reply<task_info>();
  CAF_CHECK(done.status == task_status::failed);
  CAF_CHECK_EQUAL(done.exit_code, 3);
  CAF_CHECK_EQUAL(done.pid, 4242);
  CAF_CHECK_EQUAL(done.reason, "exit code 3");
  CAF_CHECK_EQUAL(event_types(),
                  (std::vector<std::string>{"task.submitted", "task.assigned",
                                            "task.started", "task.finished"}));
}

CAF_TEST(reports about an old attempt are ignored) {
  start();
  add_agent("agent-1");
  auto info = submit(spec());
  self->send(sched_actor, finished_atom_v, info.id, uint32_t{7},
             task_outcome{task_status::completed, 0, 0, ""});
  drain();
  CAF_CHECK(lookup(info.id).status == task_status::running);
}

CAF_TEST(await answers with the current state when its time is up) {
  start();
  auto info = submit(spec());
  self->send(sched_actor, await_atom_v, info.id, caf::timespan{5s});
  drain();
  CAF_CHECK(!received<task_info>(self));
  advance_time(4s);
  drain();
  CAF_CHECK(!received<task_info>(self));
  advance_time(1s);
  drain();
  CAF_CHECK(reply<task_info>().status == task_status::queued);
}

CAF_TEST(a crashed agent fails its task) {
  start();
  auto agent = add_agent("agent-1");
  auto info = submit(spec());
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  self->send_exit(agent, caf::exit_reason::kill);
  drain();
  auto after = lookup(info.id);
  CAF_CHECK(after.status == task_status::failed);
  CAF_CHECK(after.reason.find("agent_crashed") == 0);
  // The dead agent takes no more work.
  submit(spec());
  CAF_CHECK_EQUAL(runs->size(), 1u);
}

/// A table with task 1 started by agent-9 (its process under a shim), task 2
/// assigned to agent-9 but not started, task 3 completed.
std::shared_ptr<task_table> table_with_running_tasks() {
  auto table = std::make_shared<task_table>();
  table->apply(task_submitted{1, spec()}, 1);
  table->apply(task_assigned{1, "agent-9", 1, ""}, 2);
  table->apply(task_started{1, 500, process_ref{500, 499, 12345, 0}}, 3);
  table->apply(task_submitted{2, spec()}, 4);
  table->apply(task_assigned{2, "agent-9", 1, ""}, 5);
  table->apply(task_submitted{3, spec()}, 6);
  table->apply(task_assigned{3, "agent-9", 1, ""}, 7);
  table->apply(task_finished{3, {task_status::completed, 0, 0, ""}}, 8);
  return table;
}

CAF_TEST(the agent that comes back after a restart adopts its running tasks) {
  start(table_with_running_tasks());
  // Nothing is decided before the agent is back: no requeue, no new run.
  CAF_CHECK(event_types().empty());
  CAF_CHECK(lookup(1).status == task_status::running);
  add_agent("agent-9");
  CAF_CHECK_EQUAL(adopts->asked.size(), 2u);
  CAF_CHECK(runs->empty());
  // The adopted process ends: the first attempt completes, nothing ran twice.
  finish(1, 1, task_status::completed);
  auto info = lookup(1);
  CAF_CHECK(info.status == task_status::completed);
  CAF_CHECK_EQUAL(info.attempts, 1u);
  CAF_CHECK(runs->empty());
  CAF_CHECK(lookup(3).status == task_status::completed);
  CAF_CHECK_EQUAL(submit(spec()).id, 4u);
}

CAF_TEST(a task whose process never started goes back to the queue) {
  adopts->found = false;
  start(table_with_running_tasks());
  add_agent("agent-9");
  auto types = event_types();
  CAF_CHECK_EQUAL(std::count(types.begin(), types.end(), "task.requeued"), 2);
  // Requeued and run again at once by the agent that is back.
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->front().attempt, 2u);
}

CAF_TEST(an agent that does not come back fails started attempts after a while) {
  start(table_with_running_tasks());
  add_agent("agent-1");
  CAF_CHECK(adopts->asked.empty());
  CAF_CHECK(lookup(1).status == task_status::running);
  advance_time(30s);
  // Task 1 had started: its attempt failed (one attempt: for good). Task 2
  // never started: it runs again on the agent that is there.
  auto one = lookup(1);
  CAF_CHECK(one.status == task_status::failed);
  CAF_CHECK(one.reason.find("agent agent-9 did not come back") == 0);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->front().id, 2u);
}

CAF_TEST(a stop on purpose requeues running tasks durably before replying) {
  start();
  add_agent("agent-1");
  auto info = submit(spec());
  CAF_REQUIRE(lookup(info.id).status == task_status::running);
  jd->hold = true;
  self->send(sched_actor, interrupt_atom_v);
  drain();
  CAF_CHECK(!received<uint32_t>(self));
  jd->hold = false;
  self->send(journal, flush_atom_v);
  drain();
  CAF_CHECK_EQUAL(reply<uint32_t>(), 1u);
  CAF_CHECK(lookup(info.id).status == task_status::queued);
  // No new starts while the node goes down.
  submit(spec());
  CAF_CHECK_EQUAL(runs->size(), 1u);
}

CAF_TEST(a provider breaker opens on its failures and closes after a trial) {
  breaker = breaker_config{2, 10'000, 1};
  start();
  add_agent("agent-1");
  auto provider_failure = [&](task_id id) {
    self->send(sched_actor, finished_atom_v, id, uint32_t{1},
               task_outcome{task_status::failed, -1, 0,
                            "program not found: x"});
    drain();
  };
  // A program that exits non-zero is the task's failure, not the provider's.
  auto a = submit(spec());
  finish(a.id, 1, task_status::failed, "exit code 1");
  auto b = submit(spec());
  provider_failure(b.id);
  auto c = submit(spec());
  provider_failure(c.id);
  auto breaker_events = [&] {
    return std::count_if(jd->events.begin(), jd->events.end(),
                         [](auto& ev) { return ev.type == "provider.breaker"; });
  };
  CAF_CHECK_EQUAL(breaker_events(), 1);
  // Open: the next task waits in the queue, the agent idle.
  auto d = submit(spec());
  CAF_CHECK(lookup(d.id).status == task_status::queued);
  CAF_CHECK_EQUAL(runs->size(), 3u);
  self->send(sched_actor, agents_atom_v);
  drain();
  auto listing = reply<agent_listing>();
  CAF_REQUIRE_EQUAL(listing.breakers.size(), 1u);
  CAF_CHECK_EQUAL(listing.breakers.front().state, "open");
  CAF_CHECK_EQUAL(listing.breakers.front().failures, 2u);
  // After the cool-down one trial goes; its success closes the breaker.
  advance_time(10s);
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 4u);
  CAF_CHECK_EQUAL(runs->back().id, d.id);
  finish(d.id, 1, task_status::completed);
  self->send(sched_actor, agents_atom_v);
  drain();
  listing = reply<agent_listing>();
  CAF_CHECK_EQUAL(listing.breakers.front().state, "closed");
  CAF_REQUIRE_EQUAL(listing.agents.size(), 1u);
  CAF_CHECK_EQUAL(listing.agents.front().profile.name, "agent-1");
  CAF_CHECK(listing.agents.front().tasks.empty());
  // closed -> open, open -> half_open, half_open -> closed.
  CAF_CHECK_EQUAL(breaker_events(), 3);
}

CAF_TEST(a wait for n agents is answered once the nth registers) {
  start();
  add_agent("agent-1");
  self->send(sched_actor, agents_atom_v, uint32_t{2});
  drain();
  CAF_CHECK(!received<agent_listing>(self));
  add_agent("agent-2");
  auto listing = reply<agent_listing>();
  CAF_CHECK_EQUAL(listing.agents.size(), 2u);
  // Already enough: answered at once.
  self->send(sched_actor, agents_atom_v, uint32_t{1});
  drain();
  CAF_CHECK_EQUAL(reply<agent_listing>().agents.size(), 2u);
}

CAF_TEST(an elastic pool grows with its backlog and shrinks idle agents) {
  pool_settings elastic;
  elastic.min_agents = 1;
  elastic.max_agents = 3;
  elastic.idle_timeout_ms = 60'000;
  pools["elastic"] = elastic;
  start();
  auto calls = std::make_shared<pool_calls>();
  auto sup = sys.spawn(fake_pool_supervisor, calls);
  self->send(sched_actor, register_atom_v, std::string{"elastic"}, sup);
  drain();
  auto member = [](std::string name) {
    agent_profile p;
    p.name = std::move(name);
    p.pool = "elastic";
    return p;
  };
  add_agent(member("fixed-1"));
  for (int i = 0; i < 3; ++i)
    submit(spec());
  // One task runs, two wait: two more agents are asked for, no more.
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(calls->grows, 2);
  submit(spec());
  CAF_CHECK_EQUAL(calls->grows, 2); // at max_agents, counting those coming
  add_agent(member("e-1"));
  add_agent(member("e-2"));
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  for (uint64_t id = 1; id <= 4; ++id)
    finish(id, 1, task_status::completed);
  CAF_CHECK_EQUAL(runs->size(), 4u);
  // Idle past the timeout: stopped down to min_agents, never below.
  advance_time(59s);
  drain();
  CAF_CHECK(calls->shrunk.empty());
  advance_time(1s);
  drain();
  CAF_REQUIRE_EQUAL(calls->shrunk.size(), 2u);
  CAF_CHECK(calls->shrunk[0].find(": idle for 60 s") != std::string::npos);
  self->send(sched_actor, agents_atom_v);
  drain();
  auto left = reply<agent_listing>();
  CAF_REQUIRE_EQUAL(left.agents.size(), 1u);
  // Stopped agents take no task; the backlog grows the pool again.
  submit(spec());
  submit(spec());
  CAF_CHECK_EQUAL(runs->size(), 5u);
  CAF_CHECK_EQUAL(runs->back().id, 5u);
  CAF_CHECK_EQUAL(calls->grows, 3);
  // A busy agent is not stopped when its old idle timer fires.
  advance_time(60s);
  drain();
  CAF_CHECK_EQUAL(calls->shrunk.size(), 2u);
}

CAF_TEST(invalid specs are refused with the field named) {
  start();
  auto bad = spec();
  bad.argv.clear();
  self->send(sched_actor, submit_atom_v, bad);
  drain();
  auto err = error_reply();
  CAF_CHECK(err == errc::invalid_argument);
  CAF_CHECK(error_message(err).rfind("argv:", 0) == 0);
  bad = spec();
  bad.provider = "telepathy";
  self->send(sched_actor, submit_atom_v, bad);
  drain();
  CAF_CHECK(error_reply() == errc::unknown_provider);
  bad = spec();
  bad.workspace = "relative/dir";
  self->send(sched_actor, submit_atom_v, bad);
  drain();
  CAF_CHECK(error_message(error_reply()).rfind("workspace:", 0) == 0);
  CAF_CHECK(jd->events.empty());
}

CAF_TEST(unknown tasks are reported as such) {
  start();
  self->send(sched_actor, lookup_atom_v, task_id{99});
  drain();
  CAF_CHECK(error_reply() == errc::no_such_task);
  self->send(sched_actor, await_atom_v, task_id{99}, caf::timespan{1s});
  drain();
  CAF_CHECK(error_reply() == errc::no_such_task);
}

CAF_TEST(a snapshot is taken every n events and covers exactly its seq) {
  start(nullptr, 4);
  add_agent("agent-1"); // scheduler.phase_changed (idle -> running): 1 event
  submit(spec());       // submitted + assigned: 3 events
  CAF_CHECK(jd->snapshots.empty());
  submit(spec());       // 4th event (the agent is busy): snapshot
  CAF_REQUIRE_EQUAL(jd->snapshots.size(), 1u);
  auto& snap = jd->snapshots.front();
  CAF_CHECK_EQUAL(snap.kind, "tasks");
  // The snapshot equals the fold of the first `seq` events.
  task_table replayed;
  for (auto& ev : jd->events) {
    if (ev.seq > snap.seq)
      break;
    if (ev.type.rfind("task.", 0) != 0)
      continue;
    auto typed = persistence::decode(ev);
    CAF_REQUIRE(typed);
    replayed.apply(*typed, ev.time_ms);
  }
  auto loaded = task_table::load(snap.state);
  CAF_REQUIRE(loaded);
  CAF_CHECK(*loaded == replayed);
  CAF_CHECK_EQUAL(snap.seq, 4u);
}

CAF_TEST(a snapshot is taken by time when events arrived) {
  start(nullptr, 0, caf::timespan{std::chrono::seconds(60)});
  advance_time(60s);
  drain();
  CAF_CHECK(jd->snapshots.empty()); // nothing happened yet
  submit(spec());
  advance_time(60s);
  drain();
  CAF_REQUIRE_EQUAL(jd->snapshots.size(), 1u);
  CAF_CHECK_EQUAL(jd->snapshots.front().seq, 1u);
  advance_time(60s);
  drain();
  CAF_CHECK_EQUAL(jd->snapshots.size(), 1u); // no new events, no snapshot
}

CAF_TEST(concurrency limits hold globally and per workspace) {
  start(nullptr, 0, caf::timespan{0}, 3, 1);
  for (int i = 1; i <= 4; ++i)
    add_agent("agent-" + std::to_string(i));
  auto in = [](const std::string& ws) {
    auto x = spec();
    x.workspace = ws;
    return x;
  };
  auto a1 = submit(in("/tmp")).id;
  auto a2 = submit(in("/tmp")).id; // same workspace: waits
  auto b1 = submit(in("/")).id;
  auto c1 = submit(in("/usr")).id;
  auto d1 = submit(in("/var")).id; // global cap of 3: waits
  std::vector<task_id> started;
  for (auto& r : *runs)
    started.push_back(r.id);
  CAF_CHECK_EQUAL(started, (std::vector<task_id>{a1, b1, c1}));
  finish(a1, 1, task_status::completed);
  CAF_REQUIRE_EQUAL(runs->size(), 4u);
  CAF_CHECK_EQUAL(runs->back().id, a2); // older, and /tmp is free again
  finish(b1, 1, task_status::completed);
  CAF_REQUIRE_EQUAL(runs->size(), 5u);
  CAF_CHECK_EQUAL(runs->back().id, d1);
}

CAF_TEST(dependents run after their dependencies and fall with them) {
  start();
  add_agent("agent-1");
  auto a = submit(spec()).id;
  auto b = submit(after({a})).id;
  auto c = submit(after({b})).id;
  CAF_CHECK(lookup(b).status == task_status::blocked);
  finish(a, 1, task_status::completed);
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, b);
  finish(b, 1, task_status::failed, "exit code 1");
  auto cancelled = lookup(c);
  CAF_CHECK(cancelled.status == task_status::cancelled);
  CAF_CHECK_EQUAL(cancelled.reason, "dependency " + std::to_string(b) + " failed");
  // A new dependent of a failed task is cancelled at once.
  auto d = submit(after({b}));
  CAF_CHECK(lookup(d.id).status == task_status::cancelled);
  // Cancelling a blocked chain cascades too.
  auto e = submit(spec(-5)).id; // agent-1 idle: runs e
  auto f = submit(after({e})).id;
  auto g = submit(after({f})).id;
  self->send(sched_actor, cancel_atom_v, f);
  drain();
  CAF_CHECK(reply<task_info>().status == task_status::cancelled);
  CAF_CHECK(lookup(g).status == task_status::cancelled);
  CAF_CHECK_EQUAL(lookup(g).reason, "dependency " + std::to_string(f) + " cancelled");
  // Unknown dependencies are refused with the field named.
  self->send(sched_actor, submit_atom_v, after({999}));
  drain();
  auto err = error_reply();
  CAF_CHECK(err == errc::invalid_argument);
  CAF_CHECK(error_message(err).rfind("depends_on:", 0) == 0);
}

CAF_TEST(the life cycle pauses resumes and drains) {
  start();
  auto st = command(stats_atom_v);
  CAF_REQUIRE(st);
  CAF_CHECK(st->phase == scheduler_phase::idle);
  add_agent("agent-1");
  CAF_CHECK(command(stats_atom_v)->phase == scheduler_phase::running);
  st = command(pause_atom_v);
  CAF_REQUIRE(st);
  CAF_CHECK(st->phase == scheduler_phase::paused);
  auto id = submit(spec()).id; // accepted, but not started
  CAF_CHECK(runs->empty());
  auto again = command(pause_atom_v);
  CAF_REQUIRE(!again);
  CAF_CHECK(again.error() == errc::illegal_transition);
  CAF_CHECK_EQUAL(error_message(again.error()),
                  "cannot pause: the scheduler is paused; allowed: resume, drain");
  CAF_CHECK(command(resume_atom_v)->phase == scheduler_phase::running);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  // Drain: no new starts, the running task finishes, then stopped.
  auto waiting = submit(spec()).id;
  CAF_CHECK(command(drain_atom_v)->phase == scheduler_phase::stopping);
  finish(id, 1, task_status::completed);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  CAF_CHECK(lookup(waiting).status == task_status::queued);
  auto stopped = command(stats_atom_v);
  CAF_CHECK(stopped->phase == scheduler_phase::stopped);
  CAF_CHECK_EQUAL(stopped->counts["completed"], 1u);
  CAF_CHECK_EQUAL(stopped->finished_last_minute, 1u);
  CAF_CHECK(command(resume_atom_v)->phase == scheduler_phase::running);
  CAF_CHECK_EQUAL(runs->size(), 2u);
  std::vector<std::string> phases;
  for (auto& ev : jd->events)
    if (ev.type == "scheduler.phase_changed")
      phases.push_back(persistence::decode_phase_changed(ev)->to == scheduler_phase::running
                         ? "running" : to_string(persistence::decode_phase_changed(ev)->to));
  CAF_CHECK_EQUAL(phases, (std::vector<std::string>{"running", "paused", "running",
                                                    "stopping", "stopped", "running"}));
}

CAF_TEST(a pause outlives a restart) {
  start(nullptr);
  sched_actor = nullptr;
  auto cfg = base_config(nullptr);
  cfg.recovered_phase = scheduler_phase::paused;
  cfg.snapshot_interval = caf::timespan{0};
  sched_actor = spawn_scheduler(sys, std::move(cfg));
  drain();
  add_agent("agent-1");
  submit(spec());
  CAF_CHECK(runs->empty());
  CAF_CHECK(command(stats_atom_v)->phase == scheduler_phase::paused);
}

CAF_TEST(failed attempts are retried with exponential back off) {
  start();
  add_agent("agent-1");
  auto x = spec();
  x.retry = retry_policy{3, 1000, 2.0, 60'000, 0.0};
  auto id = submit(x).id;
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  finish(id, 1, task_status::failed, "exit code 1");
  auto info = lookup(id);
  CAF_CHECK(info.status == task_status::queued);
  CAF_CHECK_EQUAL(info.reason, "exit code 1");
  CAF_CHECK_EQUAL(info.not_before_ms, wall() + 1000);
  advance_time(999ms);
  drain();
  CAF_CHECK_EQUAL(runs->size(), 1u);
  advance_time(1ms);
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().attempt, 2u);
  finish(id, 2, task_status::failed, "exit code 1");
  advance_time(1999ms);
  drain();
  CAF_CHECK_EQUAL(runs->size(), 2u); // the second delay doubles
  advance_time(1ms);
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  finish(id, 3, task_status::failed, "exit code 1");
  info = lookup(id);
  CAF_CHECK(info.status == task_status::failed);
  CAF_CHECK(info.dead);
  CAF_CHECK_EQUAL(info.attempts, 3u);
  advance_time(60s);
  drain();
  CAF_CHECK_EQUAL(runs->size(), 3u); // no more attempts
}

CAF_TEST(a dead task is listed and retried with fresh attempts) {
  start();
  add_agent("agent-1");
  auto id = submit(spec()).id; // default policy: one attempt
  finish(id, 1, task_status::failed, "exit code 1");
  self->send(sched_actor, list_atom_v, task_filter{true, task_status::queued, 0, true});
  drain();
  auto dead = reply<std::vector<task_info>>();
  CAF_REQUIRE_EQUAL(dead.size(), 1u);
  CAF_CHECK_EQUAL(dead.front().id, id);
  self->send(sched_actor, retry_atom_v, id);
  drain();
  auto again = reply<task_info>();
  CAF_CHECK(!again.dead);
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().attempt, 1u);
  CAF_CHECK(lookup(id).status == task_status::running);
  self->send(sched_actor, retry_atom_v, id);
  drain();
  CAF_CHECK(error_reply() == errc::illegal_transition);
  auto types = event_types();
  CAF_REQUIRE(types.size() >= 2);
  CAF_CHECK_EQUAL(types[types.size() - 2], "task.retried");
  CAF_CHECK_EQUAL(types.back(), "task.assigned");
}

CAF_TEST(an attempt that runs past its timeout is stopped and fails) {
  start();
  add_agent("agent-1");
  auto x = spec();
  x.timeout_ms = 5000;
  auto id = submit(x).id;
  self->send(sched_actor, started_atom_v, id, uint32_t{1},
             process_ref{77, 76, 99, 0});
  drain();
  advance_time(4999ms);
  drain();
  CAF_CHECK(cancels->empty());
  advance_time(1ms);
  drain();
  CAF_REQUIRE_EQUAL(cancels->size(), 1u);
  CAF_CHECK_EQUAL(cancels->front(), id);
  finish(id, 1, task_status::failed, "killed by signal 15", 15);
  auto info = lookup(id);
  CAF_CHECK(info.status == task_status::failed);
  CAF_CHECK_EQUAL(info.reason, "timeout");
  CAF_CHECK_EQUAL(info.signal, 15);
}

CAF_TEST(cancel removes a queued task and stops a running one) {
  start();
  add_agent("agent-1");
  auto running = submit(spec()).id;
  auto queued = submit(spec()).id;
  self->send(sched_actor, cancel_atom_v, queued);
  drain();
  CAF_CHECK(reply<task_info>().status == task_status::cancelled);
  self->send(sched_actor, cancel_atom_v, running);
  drain();
  CAF_CHECK(reply<task_info>().status == task_status::cancelled);
  CAF_CHECK_EQUAL(*cancels, std::vector<task_id>{running});
  // The agent stays busy until its process is gone, then takes new work.
  auto next = submit(spec()).id;
  CAF_CHECK_EQUAL(runs->size(), 1u);
  finish(running, 1, task_status::failed, "killed by signal 15", 15);
  CAF_CHECK(lookup(running).status == task_status::cancelled);
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, next);
  self->send(sched_actor, cancel_atom_v, queued);
  drain();
  auto err = error_reply();
  CAF_CHECK(err == errc::illegal_transition);
  CAF_CHECK(error_message(err).find("cancelled") != std::string::npos);
}

CAF_TEST(a delayed task waits for its time without blocking others) {
  start();
  auto later = spec(9);
  later.run_at_ms = wall() + 10'000;
  auto delayed = submit(later).id;
  auto now = submit(spec(0)).id;
  add_agent("agent-1");
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->back().id, now);
  finish(now, 1, task_status::completed);
  advance_time(9999ms);
  drain();
  CAF_CHECK_EQUAL(runs->size(), 1u);
  advance_time(1ms);
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->back().id, delayed);
}

CAF_TEST(a journal that stops answering stops the scheduler) {
  start();
  jd->hold = true;
  self->monitor(sched_actor);
  self->send(sched_actor, submit_atom_v, spec());
  drain();
  advance_time(29s);
  drain();
  auto got_down = [this] {
    bool down = false;
    for (int i = 0; i < 3 && !down; ++i)
      self->receive([&](caf::down_msg&) { down = true; },
                    [](caf::error&) {}, [](task_info&) {},
                    caf::after(0s) >> [] {});
    return down;
  };
  CAF_CHECK(!got_down());
  advance_time(2s);
  drain();
  CAF_CHECK(got_down());
  sched_actor = nullptr;
  // Release the held append (its answer goes nowhere now).
  jd->hold = false;
  self->send(journal, flush_atom_v);
  drain();
}

CAF_TEST(a failed attempt that spends the task budget ends it without a retry) {
  start();
  add_claude_agent();
  auto x = claude_spec();
  x.budget_usd = 0.01;
  x.retry.max_attempts = 3;
  auto t = submit(x);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  finish_costing(t.id, 1, task_status::failed, 0.012);
  advance_time(1h);
  drain();
  auto after = lookup(t.id);
  CAF_CHECK(after.status == task_status::failed);
  CAF_CHECK_EQUAL(after.attempts, 1u);
  CAF_CHECK_EQUAL(after.reason,
                  "budget: task 1 spent $0.0120 of $0.0100; its last "
                  "attempt: exit code 1");
  CAF_CHECK_EQUAL(runs->size(), 1u);
}

CAF_TEST(a failed attempt under the task budget is retried) {
  start();
  add_claude_agent();
  auto x = claude_spec();
  x.budget_usd = 0.01;
  x.retry.max_attempts = 3;
  auto t = submit(x);
  finish_costing(t.id, 1, task_status::failed, 0.004);
  advance_time(1h);
  drain();
  CAF_CHECK_EQUAL(runs->size(), 2u);
  // The second attempt would cross the budget with what the first spent.
  finish_costing(t.id, 2, task_status::failed, 0.007);
  advance_time(1h);
  drain();
  auto after = lookup(t.id);
  CAF_CHECK(after.status == task_status::failed);
  CAF_CHECK_EQUAL(after.attempts, 2u);
  CAF_CHECK_EQUAL(after.reason.rfind("budget: task 1 spent $0.0110 of "
                                             "$0.0100",
                                             0),
                  0u);
}

CAF_TEST(a task that would start over the day budget is parked until the next utc day) {
  spending.per_day_usd = 0.01;
  auto parked = after_spending_two_cents();
  check_parked_for_the_day(parked,
                           "budget: node spent $0.0200 of $0.0100 today");
  auto midnight = next_midnight();
  // A command task does not cost money: it starts.
  add_agent("worker");
  submit(spec());
  CAF_CHECK_EQUAL(runs->size(), 2u);
  // At midnight the new day's budget is untouched: the task starts.
  advance_time(std::chrono::milliseconds{midnight - wall() + 1});
  drain();
  CAF_CHECK_EQUAL(runs->size(), 3u);
  CAF_CHECK(lookup(parked.id).status == task_status::running);
}

/// Returns the holders of every lock, as sorted `owner resource` lines.
std::string lock_holders(fixture& f) {
  f.self->send(f.locks, list_atom_v);
  f.drain();
  auto listing = f.reply<lock_listing>();
  std::vector<std::string> lines;
  for (auto& h : listing.holders)
    lines.push_back(h.owner + " " + h.resource + "\n");
  std::sort(lines.begin(), lines.end());
  std::string result;
  for (auto& line : lines)
    result += line;
  return result;
}

CAF_TEST(a task waits for its declared lock without taking an agent) {
  add_locks();
  start();
  add_agent("agent-1");
  self->send(locks, lock_atom_v, lock_spec{"agent:x", "db", true, 0, 0});
  drain();
  static_cast<void>(reply<lock_grant>());
  auto x = spec();
  x.locks = {"db"};
  auto locked = submit(x);
  CAF_CHECK_EQUAL(runs->size(), 0u);
  CAF_CHECK(lookup(locked.id).status == task_status::queued);
  // The only agent is free for a task without locks.
  auto plain = submit(spec());
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  CAF_CHECK_EQUAL(runs->at(0).id, plain.id);
  finish(plain.id, 1, task_status::completed);
  CAF_CHECK_EQUAL(runs->size(), 1u);
  // Released: the task takes the lock and starts.
  self->send(locks, release_atom_v, std::string{"agent:x"}, std::string{"db"});
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(runs->at(1).id, locked.id);
  CAF_CHECK_EQUAL(lock_holders(*this), "task:1 db\n");
  // Its end frees the lock.
  finish(locked.id, 1, task_status::completed);
  CAF_CHECK_EQUAL(lock_holders(*this), "");
}

CAF_TEST(declared locks are taken in name order and shared ones together) {
  add_locks();
  start();
  agent_profile profile;
  profile.name = "agent-1";
  profile.max_load = 4;
  add_agent(profile);
  auto x = spec();
  x.locks = {"src:shared", "db"};
  auto first = submit(x);
  auto y = spec();
  y.locks = {"src:shared"};
  auto second = submit(y);
  // Both run: shared holders of src do not exclude each other.
  CAF_CHECK_EQUAL(runs->size(), 2u);
  CAF_CHECK_EQUAL(lock_holders(*this),
                  "task:1 db\ntask:1 src\ntask:2 src\n");
  // A third that wants src exclusively waits for both.
  auto z = spec();
  z.locks = {"src"};
  auto third = submit(z);
  CAF_CHECK_EQUAL(runs->size(), 2u);
  finish(first.id, 1, task_status::completed);
  CAF_CHECK_EQUAL(runs->size(), 2u);
  finish(second.id, 1, task_status::completed);
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  CAF_CHECK_EQUAL(runs->at(2).id, third.id);
}

CAF_TEST(a new session request in a full pool closes an idle session first) {
  sessions.default_pool_limit = 1;
  start();
  add_claude_agent();
  auto first = submit(claude_spec());
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  finish_costing(first.id, 1, task_status::completed, 0.001);
  CAF_CHECK_EQUAL(lookup(first.id).session, 1u);
  // Without the flag the idle session continues.
  auto same = submit(claude_spec());
  CAF_CHECK_EQUAL(lookup(same.id).session, 1u);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session, "sess-1");
  finish_costing(same.id, 1, task_status::completed, 0.001);
  auto x = claude_spec();
  x.new_session = true;
  x.resume_key = "fresh-start";
  x.retry.max_attempts = 2;
  x.retry.base_delay_ms = 0;
  auto fresh = submit(x);
  CAF_REQUIRE_EQUAL(runs->size(), 3u);
  auto info = lookup(fresh.id);
  CAF_CHECK_EQUAL(info.session, 2u);
  // The new conversation starts without --resume.
  CAF_CHECK_EQUAL(runs->back().spec.resume_session, "");
  self->send(sched_actor, session_atom_v, lookup_atom_v, session_id{1});
  drain();
  auto closed = reply<session_info>();
  CAF_CHECK(closed.state == session_state::closed);
  // The close is journaled before the assignment, so a replay repeats it.
  std::vector<std::string> types;
  for (auto& ev : jd->events)
    if (ev.type == "session.closed" || ev.type == "task.assigned")
      types.push_back(ev.type);
  CAF_CHECK_EQUAL(types, (std::vector<std::string>{"task.assigned",
                                                    "task.assigned",
                                                    "session.closed",
                                                    "task.assigned"}));
  // A retry goes on in the session the task started, not in another new one.
  finish_costing(fresh.id, 1, task_status::failed, 0.001);
  advance_time(1s);
  drain();
  CAF_REQUIRE_EQUAL(runs->size(), 4u);
  CAF_CHECK_EQUAL(runs->back().attempt, 2u);
  CAF_CHECK_EQUAL(lookup(fresh.id).session, 2u);
  CAF_CHECK_EQUAL(runs->back().spec.resume_session, "sess-" + std::to_string(fresh.id));
}

CAF_TEST(a waiting task says why it waits) {
  add_locks();
  start();
  add_agent("agent-1");
  agent_profile gpu_agent;
  gpu_agent.name = "agent-2";
  gpu_agent.capabilities = {"gpu"};
  add_agent(gpu_agent);
  // The only agent with the capability a task needs is busy.
  auto on_gpu = spec();
  on_gpu.required_agent = "agent-2";
  auto busy = submit(on_gpu);
  CAF_REQUIRE_EQUAL(runs->size(), 1u);
  auto x = spec();
  x.capabilities = {"gpu"};
  auto gpu = submit(x);
  CAF_CHECK_EQUAL(lookup(gpu.id).waiting,
                  "all 1 agents of provider command that may run it are busy");
  // Both agents busy.
  static_cast<void>(submit(spec()));
  CAF_REQUIRE_EQUAL(runs->size(), 2u);
  auto queued = submit(spec());
  CAF_CHECK_EQUAL(lookup(queued.id).waiting,
                  "all 2 agents of provider command that may run it are busy");
  // A dependency not yet done.
  auto blocked = submit(after({queued.id}));
  CAF_CHECK_EQUAL(lookup(blocked.id).waiting,
                  "waits for tasks " + std::to_string(queued.id)
                    + " (queued) to complete");
  // A declared lock someone else holds.
  self->send(locks, lock_atom_v, lock_spec{"agent:x", "db", true, 0, 0});
  drain();
  static_cast<void>(reply<lock_grant>());
  auto y = spec();
  y.locks = {"db"};
  auto locked = submit(y);
  CAF_CHECK_EQUAL(lookup(locked.id).waiting, "waits for its locks: db");
  // A delay.
  auto z = spec();
  z.run_at_ms = wall() + 90'000;
  auto delayed = submit(z);
  CAF_CHECK_EQUAL(lookup(delayed.id).waiting, "delayed: starts in 90 s");
  // Running and finished tasks do not wait.
  CAF_CHECK_EQUAL(lookup(busy.id).waiting, "");
  finish(busy.id, 1, task_status::completed);
  CAF_CHECK_EQUAL(lookup(busy.id).waiting, "");
  // A paused scheduler starts nothing.
  CAF_REQUIRE(command(pause_atom_v));
  CAF_CHECK_EQUAL(lookup(queued.id).waiting,
                  "the scheduler is paused: it starts no tasks");
}

CAF_TEST_FIXTURE_SCOPE_END()
