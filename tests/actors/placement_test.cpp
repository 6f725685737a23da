#define CAF_SUITE actors.placement
#include "tests/support/scheduler_fixture.hpp"

#include "actors/scheduler/placement.hpp"

using namespace cw;
using namespace cw::actors;
using namespace cw::test;

namespace {

agent_profile agent(std::string name, std::string pool = "p",
                    std::vector<std::string> caps = {}, uint32_t max_load = 1,
                    uint32_t weight = 1) {
  agent_profile x;
  x.name = std::move(name);
  x.pool = std::move(pool);
  x.capabilities = std::move(caps);
  x.max_load = max_load;
  x.weight = weight;
  return x;
}

task_spec task(std::string pool = {}) {
  task_spec x;
  x.argv = {"true"};
  x.pool = std::move(pool);
  return x;
}

placement with_strategy(placement_strategy s) {
  placement p;
  pool_settings settings;
  settings.strategy = s;
  p.configure({{"p", settings}}, {});
  return p;
}

const std::map<std::string, uint64_t> no_backlog;

std::string pick(placement& p, const task_spec& spec, double unit = 0.5,
                 const std::string& affinity = {}) {
  auto choice = p.choose(spec, affinity, no_backlog, unit);
  return choice ? choice->agent : std::string{"(none)"};
}

} // namespace

CAF_TEST(least loaded picks the lowest load ratio then the longest unused) {
  auto p = with_strategy(placement_strategy::least_loaded);
  p.add(agent("a", "p", {}, 4));
  p.add(agent("b", "p", {}, 2));
  p.change_load("a", +1); // 1/4
  p.change_load("b", +1); // 1/2
  CAF_CHECK_EQUAL(pick(p, task()), "a");
  auto choice = p.choose(task(), "", no_backlog, 0.5);
  CAF_REQUIRE(choice);
  CAF_CHECK_EQUAL(choice->reason, "least_loaded: load 1/4, 2 fitting agents");
  p.change_load("a", +1); // 2/4 = 2/4: b used earlier wins
  CAF_CHECK_EQUAL(pick(p, task()), "b");
}

CAF_TEST(round robin cycles through the agents by name) {
  auto p = with_strategy(placement_strategy::round_robin);
  for (auto name : {"a", "b", "c"})
    p.add(agent(name, "p", {}, 10));
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i)
    order.push_back(pick(p, task()));
  CAF_CHECK_EQUAL(order, (std::vector<std::string>{"a", "b", "c", "a"}));
}

CAF_TEST(capability match prefers the agent with the fewest extras) {
  auto p = with_strategy(placement_strategy::capability_match);
  p.add(agent("gpu-big", "p", {"gpu", "big", "rust"}));
  p.add(agent("gpu", "p", {"gpu"}));
  p.add(agent("plain", "p", {}));
  auto spec = task();
  spec.capabilities = {"gpu"};
  CAF_CHECK_EQUAL(pick(p, spec), "gpu");
  spec.capabilities = {"rust"};
  CAF_CHECK_EQUAL(pick(p, spec), "gpu-big");
  CAF_CHECK_EQUAL(pick(p, task()), "plain");
}

CAF_TEST(random and weighted follow the random number of the caller) {
  auto r = with_strategy(placement_strategy::random);
  for (auto name : {"a", "b", "c", "d"})
    r.add(agent(name));
  CAF_CHECK_EQUAL(pick(r, task(), 0.0), "a");
  CAF_CHECK_EQUAL(pick(r, task(), 0.6), "c");
  CAF_CHECK_EQUAL(pick(r, task(), 0.99), "d");
  auto w = with_strategy(placement_strategy::weighted);
  w.add(agent("light", "p", {}, 1, 1));
  w.add(agent("heavy", "p", {}, 1, 3));
  // Weights 1 and 3 in name order (heavy, light): [0, 0.75) -> heavy.
  CAF_CHECK_EQUAL(pick(w, task(), 0.1), "heavy");
  CAF_CHECK_EQUAL(pick(w, task(), 0.74), "heavy");
  CAF_CHECK_EQUAL(pick(w, task(), 0.8), "light");
}

CAF_TEST(affinity rules filter the agents) {
  auto p = with_strategy(placement_strategy::least_loaded);
  for (auto name : {"a", "b", "c"})
    p.add(agent(name));
  auto spec = task();
  spec.required_agent = "c";
  CAF_CHECK_EQUAL(pick(p, spec), "c");
  p.change_load("c", +1);
  CAF_CHECK_EQUAL(pick(p, spec), "(none)");
  spec = task();
  spec.excluded_agents = {"a", "b"};
  CAF_CHECK_EQUAL(pick(p, spec), "(none)");
  p.change_load("c", -1);
  CAF_CHECK_EQUAL(pick(p, spec), "c");
  spec = task();
  spec.same_agent_as = 7;
  auto choice = p.choose(spec, "b", no_backlog, 0.5);
  CAF_REQUIRE(choice);
  CAF_CHECK_EQUAL(choice->agent, "b");
  CAF_CHECK(choice->reason.find("same agent as task 7") != std::string::npos);
}

CAF_TEST(missing capabilities and other providers never match) {
  auto p = with_strategy(placement_strategy::least_loaded);
  p.add(agent("a", "p", {"rust"}));
  auto spec = task();
  spec.capabilities = {"rust", "gpu"};
  CAF_CHECK_EQUAL(pick(p, spec), "(none)");
  spec = task();
  spec.provider = "claude";
  CAF_CHECK_EQUAL(pick(p, spec), "(none)");
  CAF_CHECK(p.knows_capability("rust"));
  CAF_CHECK(!p.knows_capability("gpu"));
}

CAF_TEST(pool and provider caps bound what runs) {
  placement p;
  pool_settings capped;
  capped.max_running = 1;
  p.configure({{"p", capped}}, {{"command", 2}});
  p.add(agent("a", "p"));
  p.add(agent("b", "p"));
  p.add(agent("c", "q"));
  p.add(agent("d", "q"));
  CAF_CHECK_EQUAL(pick(p, task("p")), "a");
  p.change_load("a", +1);
  // The pool's cap of 1 is reached although b is idle.
  CAF_CHECK_EQUAL(pick(p, task("p")), "(none)");
  CAF_CHECK_EQUAL(pick(p, task("q")), "c");
  p.change_load("c", +1);
  // Two command tasks run: the provider's cap stops the third.
  CAF_CHECK_EQUAL(pick(p, task("q")), "(none)");
}

CAF_TEST(an idle pool steals only above the backlog threshold) {
  placement p;
  pool_settings busy;
  busy.steal_threshold = 2;
  p.configure({{"busy", busy}}, {});
  p.add(agent("busy-1", "busy"));
  p.add(agent("idle-1", "idle"));
  p.change_load("busy-1", +1);
  std::map<std::string, uint64_t> backlog{{"busy", 2}};
  CAF_CHECK(!p.choose(task("busy"), "", backlog, 0.5));
  backlog["busy"] = 3;
  auto choice = p.choose(task("busy"), "", backlog, 0.5);
  CAF_REQUIRE(choice);
  CAF_CHECK_EQUAL(choice->agent, "idle-1");
  CAF_CHECK(choice->reason.find("stolen from pool busy (backlog 3)")
            != std::string::npos);
}

CAF_TEST(removing an agent returns its capacity and capabilities) {
  auto p = with_strategy(placement_strategy::least_loaded);
  p.add(agent("a", "p", {"gpu"}, 2));
  p.change_load("a", +1);
  CAF_CHECK(p.has_capacity());
  p.change_load("a", +1);
  CAF_CHECK(!p.has_capacity());
  p.remove("a");
  CAF_CHECK(!p.has_capacity());
  CAF_CHECK(!p.knows_capability("gpu"));
  CAF_CHECK(p.add(agent("b")));
  CAF_CHECK(!p.add(agent("b")));
  CAF_CHECK(p.has_capacity());
}

// -- through the scheduler ----------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(placement_scheduler_tests, scheduler_fixture)

CAF_TEST(the assignment event names the agent and the reason) {
  start();
  add_agent(agent("gpu-1", "default", {"gpu"}));
  add_agent(agent("cpu-1", "default"));
  auto x = spec();
  x.capabilities = {"gpu"};
  auto info = submit(x);
  auto assigned = lookup(info.id);
  CAF_CHECK_EQUAL(assigned.agent, "gpu-1");
  auto ev = jd->events.back();
  CAF_CHECK_EQUAL(ev.type, "task.assigned");
  CAF_CHECK(ev.payload.find("least_loaded: load 0/1, 1 fitting agent")
            != std::string::npos);
}

CAF_TEST(a task waits until an agent that fits is free) {
  start();
  add_agent(agent("gpu-1", "default", {"gpu"}));
  add_agent(agent("cpu-1", "default"));
  auto first = spec();
  first.capabilities = {"gpu"};
  auto a = submit(first);
  auto b = submit(first);
  auto c = submit(spec());
  auto waiting = lookup(b.id);
  CAF_CHECK(waiting.status == task_status::queued);
  // c overtakes b: only the agent b needs is busy.
  auto overtaking = lookup(c.id);
  CAF_CHECK_EQUAL(overtaking.agent, "cpu-1");
  finish(a.id, 1, task_status::completed);
  auto started = lookup(b.id);
  CAF_CHECK_EQUAL(started.agent, "gpu-1");
}

CAF_TEST(same agent as runs a follow-up where its predecessor ran) {
  start();
  add_agent("agent-1");
  add_agent("agent-2");
  auto a = submit(spec());
  auto first_agent = lookup(a.id).agent;
  finish(a.id, 1, task_status::completed);
  auto follow = spec();
  follow.same_agent_as = a.id;
  // Occupy the agent first so the follow-up has to wait for it.
  auto blocker = spec();
  blocker.required_agent = first_agent;
  auto b = submit(blocker);
  auto f = submit(follow);
  auto queued = lookup(f.id);
  CAF_CHECK(queued.status == task_status::queued);
  finish(b.id, 1, task_status::completed);
  auto placed = lookup(f.id);
  CAF_CHECK_EQUAL(placed.agent, first_agent);
}

CAF_TEST(unknown capabilities agents and tasks in placement are refused) {
  start();
  add_agent("agent-1");
  auto refusal = [this](task_spec x) {
    self->send(sched_actor, submit_atom_v, std::move(x));
    drain();
    return error_message(error_reply());
  };
  auto x = spec();
  x.capabilities = {"quantum"};
  auto msg = refusal(x);
  CAF_CHECK_EQUAL(msg, "capabilities: no agent offers 'quantum'");
  x = spec();
  x.required_agent = "agent-9";
  msg = refusal(x);
  CAF_CHECK_EQUAL(msg, "required_agent: unknown agent 'agent-9'");
  x = spec();
  x.excluded_agents = {"agent-9"};
  msg = refusal(x);
  CAF_CHECK_EQUAL(msg, "excluded_agents: unknown agent 'agent-9'");
  x = spec();
  x.same_agent_as = 42;
  msg = refusal(x);
  CAF_CHECK_EQUAL(msg, "same_agent_as: no task with id 42");
  x = spec();
  x.provider = "martian";
  msg = refusal(x);
  CAF_CHECK_EQUAL(msg,
                  "provider: no agent runs provider 'martian' (known: command)");
  // Each rule alone can be met, but no agent meets them together.
  add_agent(agent("gpu-1", "gpu-pool", {"gpu"}));
  x = spec();
  x.pool = "default";
  x.capabilities = {"gpu"};
  msg = refusal(x);
  CAF_CHECK_EQUAL(msg, "placement: no agent can ever run this task (provider "
                       "command, pool default, capabilities required)");
  x = spec();
  x.required_agent = "gpu-1";
  x.excluded_agents = {"gpu-1"};
  msg = refusal(x);
  CAF_CHECK(msg.starts_with("placement: no agent can ever run this task"));
  // Nothing but the phase changes was journaled.
  for (auto& ev : jd->events)
    CAF_CHECK_EQUAL(ev.type, "scheduler.phase_changed");
}

CAF_TEST_FIXTURE_SCOPE_END()
