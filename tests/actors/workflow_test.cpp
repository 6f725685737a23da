#define CAF_SUITE actors.workflow
#include "tests/support/scheduler_fixture.hpp"

#include "actors/scheduler/workflow.hpp"

using namespace cw;
using namespace cw::actors;
using namespace cw::test;

namespace {

workflow_task_spec node(std::string key, std::vector<std::string> deps = {}) {
  workflow_task_spec t;
  t.key = std::move(key);
  t.spec = spec();
  t.depends_on = std::move(deps);
  return t;
}

workflow_spec graph(std::vector<workflow_task_spec> tasks,
                    failure_policy policy = failure_policy::fail_fast) {
  workflow_spec x;
  x.name = "wf";
  x.policy = policy;
  x.tasks = std::move(tasks);
  return x;
}

/// A diamond: a -> (b, c) -> d.
workflow_spec diamond(failure_policy policy = failure_policy::fail_fast) {
  return graph({node("d", {"b", "c"}), node("b", {"a"}), node("c", {"a"}),
                node("a")},
               policy);
}

std::string message_of(const caf::expected<std::vector<size_t>>& x) {
  return x ? std::string{} : error_message(x.error());
}

struct fixture : scheduler_fixture {
  workflow_info submit_workflow(workflow_spec x) {
    self->send(sched_actor, workflow_atom_v, submit_atom_v, std::move(x));
    drain();
    return reply<workflow_info>();
  }

  workflow_info workflow(workflow_id id) {
    self->send(sched_actor, workflow_atom_v, lookup_atom_v, id);
    drain();
    return reply<workflow_info>();
  }

  /// Returns the task id of `key` in `w`.
  static task_id id_of(const workflow_info& w, const std::string& key) {
    for (auto& t : w.tasks)
      if (t.key == key)
        return t.id;
    CAF_FAIL("no task " << key);
  }

  static task_status status_of(const workflow_info& w, const std::string& key) {
    for (auto& t : w.tasks)
      if (t.key == key)
        return t.status;
    CAF_FAIL("no task " << key);
  }

  std::vector<task_id> run_ids() const {
    std::vector<task_id> result;
    for (auto& r : *runs)
      result.push_back(r.id);
    return result;
  }

  std::vector<std::string> all_event_types() const {
    std::vector<std::string> result;
    for (auto& ev : jd->events)
      result.push_back(ev.type);
    return result;
  }
};

} // namespace

// -- the graph check ----------------------------------------------------------

CAF_TEST(tasks are ordered after their dependencies) {
  auto order = check_workflow(diamond());
  CAF_REQUIRE(order);
  // Indexes: d=0, b=1, c=2, a=3.
  std::vector<size_t> pos(4);
  for (size_t i = 0; i < order->size(); ++i)
    pos[(*order)[i]] = i;
  CAF_CHECK_LESS(pos[3], pos[1]);
  CAF_CHECK_LESS(pos[3], pos[2]);
  CAF_CHECK_LESS(pos[1], pos[0]);
  CAF_CHECK_LESS(pos[2], pos[0]);
}

CAF_TEST(a cycle is refused with its path) {
  auto x = check_workflow(
    graph({node("a", {"c"}), node("b", {"a"}), node("c", {"b"}), node("z")}));
  CAF_CHECK_EQUAL(message_of(x),
                  "tasks: cycle a -> c -> b -> a (each depends on the next)");
  auto self_loop = check_workflow(graph({node("a", {"a"})}));
  CAF_CHECK_EQUAL(message_of(self_loop),
                  "tasks: cycle a -> a (each depends on the next)");
}

CAF_TEST(unknown and duplicate ids and empty graphs are refused by field) {
  CAF_CHECK_EQUAL(message_of(check_workflow(graph({node("a"), node("b", {"x"})}))),
                  "tasks[1].depends_on: unknown task 'x'");
  CAF_CHECK_EQUAL(message_of(check_workflow(graph({node("a"), node("a")}))),
                  "tasks[1].id: duplicate id 'a'");
  CAF_CHECK_EQUAL(message_of(check_workflow(graph({}))),
                  "tasks: a workflow needs at least one task");
  CAF_CHECK_EQUAL(message_of(check_workflow(graph({node("")}))),
                  "tasks[0].id: must not be empty");
}

CAF_TEST(a deep chain is checked without recursion) {
  std::vector<workflow_task_spec> tasks;
  tasks.push_back(node("t0"));
  for (int i = 1; i < 10'000; ++i)
    tasks.push_back(node("t" + std::to_string(i), {"t" + std::to_string(i - 1)}));
  auto order = check_workflow(graph(std::move(tasks)));
  CAF_REQUIRE(order);
  CAF_CHECK_EQUAL(order->front(), 0u);
  CAF_CHECK_EQUAL(order->back(), 9'999u);
}

CAF_TEST_FIXTURE_SCOPE(workflow_tests, fixture)

CAF_TEST(a diamond runs in dependency order and ends completed) {
  start();
  add_agent("agent-1");
  add_agent("agent-2");
  auto w = submit_workflow(diamond());
  CAF_CHECK_EQUAL(w.id, 1u);
  CAF_CHECK_EQUAL(w.tasks.size(), 4u);
  // The workflow is recorded before its tasks.
  auto types = all_event_types();
  auto first_workflow = std::find(types.begin(), types.end(), "workflow.submitted");
  auto first_task = std::find(types.begin(), types.end(), "task.submitted");
  CAF_CHECK(first_workflow < first_task);
  auto a = id_of(w, "a");
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{a}));
  CAF_CHECK(status_of(w, "d") == task_status::blocked);
  advance_time(10s);
  finish(a, 1, task_status::completed);
  auto b = id_of(w, "b");
  auto c = id_of(w, "c");
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{a, b, c}));
  advance_time(1s);
  finish(b, 1, task_status::completed);
  advance_time(4s);
  finish(c, 1, task_status::completed);
  auto d = id_of(w, "d");
  CAF_CHECK_EQUAL(run_ids(), (std::vector<task_id>{a, b, c, d}));
  auto partway = workflow(w.id);
  CAF_CHECK(partway.status == workflow_status::running);
  CAF_CHECK_EQUAL(partway.progress, 75.0);
  advance_time(1s);
  finish(d, 1, task_status::completed);
  auto done = workflow(w.id);
  CAF_CHECK(done.status == workflow_status::completed);
  CAF_CHECK_EQUAL(done.progress, 100.0);
  // a ran 10 s, c 5 s (b only 1 s), d 1 s.
  CAF_CHECK_EQUAL(done.critical_path, (std::vector<std::string>{"a", "c", "d"}));
  CAF_CHECK_EQUAL(done.critical_path_ms, 16'000);
  types = all_event_types();
  CAF_CHECK_EQUAL(types.back(), "workflow.finished");
}

CAF_TEST(fail fast cancels every unfinished task and stops running ones) {
  start();
  add_agent("agent-1");
  add_agent("agent-2");
  auto w = submit_workflow(
    graph({node("a"), node("b", {"a"}), node("c", {"b"}), node("x")}));
  auto a = id_of(w, "a");
  auto x = id_of(w, "x");
  finish(a, 1, task_status::completed);
  auto b = id_of(w, "b");
  auto running = lookup(x);
  CAF_CHECK(running.status == task_status::running);
  finish(b, 1, task_status::failed, "exit code 1");
  auto after = workflow(w.id);
  CAF_CHECK(after.status == workflow_status::failed);
  CAF_CHECK_EQUAL(after.reason, "task b (" + std::to_string(b)
                                  + ") failed: exit code 1");
  CAF_CHECK(status_of(after, "c") == task_status::cancelled);
  CAF_CHECK(status_of(after, "x") == task_status::cancelled);
  auto x_info = lookup(x);
  CAF_CHECK_EQUAL(x_info.reason, "workflow wf fails fast: task b failed");
  // The running branch's process is stopped.
  CAF_CHECK_EQUAL(*cancels, (std::vector<task_id>{x}));
}

CAF_TEST(continue runs every branch that does not depend on the failure) {
  start();
  add_agent("agent-1");
  add_agent("agent-2");
  auto w = submit_workflow(
    graph({node("a"), node("b", {"a"}), node("c")}, failure_policy::continue_));
  auto a = id_of(w, "a");
  auto c = id_of(w, "c");
  finish(a, 1, task_status::failed, "exit code 1");
  auto mid = workflow(w.id);
  CAF_CHECK(status_of(mid, "b") == task_status::cancelled);
  auto b_info = lookup(id_of(w, "b"));
  CAF_CHECK_EQUAL(b_info.reason, "dependency " + std::to_string(a) + " failed");
  CAF_CHECK(status_of(mid, "c") == task_status::running);
  CAF_CHECK(mid.status == workflow_status::running);
  CAF_CHECK(cancels->empty());
  finish(c, 1, task_status::completed);
  auto end = workflow(w.id);
  CAF_CHECK(status_of(end, "c") == task_status::completed);
  CAF_CHECK(end.status == workflow_status::failed);
}

CAF_TEST(a workflow cancelled by request cancels its tasks once) {
  start();
  add_agent("agent-1");
  auto w = submit_workflow(diamond());
  self->send(sched_actor, workflow_atom_v, cancel_atom_v, w.id);
  drain();
  auto cancelled = reply<workflow_info>();
  CAF_CHECK(cancelled.status == workflow_status::cancelled);
  for (auto& t : cancelled.tasks)
    CAF_CHECK(t.status == task_status::cancelled);
  CAF_CHECK_EQUAL(*cancels, (std::vector<task_id>{id_of(w, "a")}));
  self->send(sched_actor, workflow_atom_v, cancel_atom_v, w.id);
  drain();
  CAF_CHECK(error_code(error_reply()) == errc::illegal_transition);
  self->send(sched_actor, workflow_atom_v, lookup_atom_v, workflow_id{99});
  drain();
  CAF_CHECK(error_code(error_reply()) == errc::no_such_task);
}

CAF_TEST(a refused workflow records nothing) {
  start();
  auto bad = diamond();
  bad.tasks[2].spec.priority = 5000;
  self->send(sched_actor, workflow_atom_v, submit_atom_v, bad);
  drain();
  auto msg = error_message(error_reply());
  CAF_CHECK_EQUAL(msg, "tasks[2].priority: must be between -1000 and 1000");
  auto cyclic = graph({node("a", {"b"}), node("b", {"a"})});
  self->send(sched_actor, workflow_atom_v, submit_atom_v, cyclic);
  drain();
  CAF_CHECK(error_code(error_reply()) == errc::invalid_argument);
  CAF_CHECK(jd->events.empty());
}

CAF_TEST(workflows survive a snapshot and a replay) {
  start();
  add_agent("agent-1");
  auto w = submit_workflow(diamond());
  finish(id_of(w, "a"), 1, task_status::failed, "boom");
  task_table replayed;
  for (auto& ev : jd->events)
    if (persistence::is_task_fold_type(ev.type))
      replayed.apply(*persistence::decode(ev), ev.time_ms);
  auto rec = replayed.find_workflow(w.id);
  CAF_REQUIRE(rec != nullptr);
  CAF_CHECK(rec->status == workflow_status::failed);
  CAF_CHECK_EQUAL(rec->tasks.size(), 4u);
  auto loaded = task_table::load(replayed.save());
  CAF_REQUIRE(loaded);
  CAF_CHECK(*loaded == replayed);
  CAF_CHECK_EQUAL(loaded->next_workflow_id(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
