// idle-agents: spawn time and resident memory of 10,000 idle agent actors.

#include <chrono>
#include <functional>
#include <future>
#include <iostream>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/agent/agent.hpp"
#include "actors/agent/process_launcher.hpp"
#include "apps/cw-bench/bench.hpp"
#include "messages/errc.hpp"
#include "messages/register_types.hpp"
#include "runtime/node.hpp"

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr uint32_t round_agents = 10'000;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// A launcher for agents that never run a task.
class unused_launcher : public actors::process_launcher {
public:
  void launch(actors::launch_request, start_callback,
              exit_callback on_exit) override {
    on_exit(task_outcome{task_status::failed, -1, 0, "idle-agents: no launcher"});
  }

  bool adopt(const process_ref&, const actors::launch_request&,
             exit_callback) override {
    return false;
  }

  void terminate(const process_ref&, std::chrono::milliseconds) override {
    // nop
  }
};

/// Stands in for the scheduler: counts registrations and fulfils `done` at
/// the `expected`-th; keeps no handle to the agents.
caf::behavior registrar(caf::event_based_actor* self, uint32_t expected,
                        std::shared_ptr<std::promise<void>> done) {
  auto count = std::make_shared<uint32_t>(0);
  return {
    [=](register_atom, const agent_profile&, const agent_actor&) {
      if (++*count == expected) {
        done->set_value();
        self->quit();
      }
    },
  };
}

/// What one round measured.
struct round_result {
  double spawn_s = 0;
  double registered_s = 0;
  double resident_per_agent = 0;
  double heap_per_agent = 0;
  bool ok = false;
};

/// Spawns `round_agents` agents with `spawn`, waits until each has registered
/// and has handled one message (so its behavior exists), measures, then
/// stops them all and waits for them.
round_result run_round(
  caf::actor_system& sys,
  const std::function<agent_actor(agent_profile, scheduler_actor)>& spawn) {
  round_result result;
  std::vector<agent_actor> agents;
  agents.reserve(round_agents);
  auto done = std::make_shared<std::promise<void>>();
  auto registered = done->get_future();
  auto sched = caf::actor_cast<scheduler_actor>(
    sys.spawn(registrar, round_agents, done));
  // Give freed memory of earlier rounds back, so that the RSS delta counts
  // pages this round touches.
  release_free_memory();
  auto rss0 = resident_bytes();
  auto heap0 = heap_bytes();
  auto start = clock_type::now();
  for (uint32_t i = 0; i < round_agents; ++i) {
    agent_profile p;
    p.name = "agent-" + std::to_string(i + 1);
    agents.push_back(spawn(std::move(p), sched));
  }
  result.spawn_s = seconds_since(start);
  if (registered.wait_for(60s) != std::future_status::ready) {
    std::cerr << "idle-agents: agents did not register within 60 s\n";
    return result;
  }
  result.registered_s = seconds_since(start);
  caf::scoped_actor self{sys};
  uint32_t answered = 0;
  // A cancel of an unknown task is a no-op; its empty reply shows that the
  // agent ran its initialisation and has an empty mailbox again.
  for (auto& a : agents)
    self->request(a, 10s, cancel_atom_v, task_id{0})
      .receive([&] { ++answered; },
               [&](caf::error& err) {
                 std::cerr << "idle-agents: " << describe(err) << "\n";
               });
  auto rss1 = resident_bytes();
  auto heap1 = heap_bytes();
  result.resident_per_agent = (static_cast<double>(rss1) - rss0) / round_agents;
  result.heap_per_agent = (static_cast<double>(heap1) - heap0) / round_agents;
  uint32_t down = 0;
  for (auto& a : agents) {
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  agents.clear();
  bool stopped = true;
  while (down < round_agents && stopped)
    self->receive([&](const caf::down_msg&) { ++down; },
                  caf::after(30s) >> [&] { stopped = false; });
  if (!stopped)
    std::cerr << "idle-agents: only " << down << " agents stopped in time\n";
  result.ok = answered == round_agents && down == round_agents;
  return result;
}

void report(const char* kind, const round_result& r) {
  std::cout << "idle-agents: " << round_agents << " " << kind << " agents: spawned in "
            << r.spawn_s << " s, registered in " << r.registered_s
            << " s; resident " << r.resident_per_agent << " bytes/agent, heap "
            << r.heap_per_agent << " bytes/agent" << std::endl;
}

} // namespace

int idle_agents(const bench_args&) {
  caf::actor_system_config cfg;
  register_types(cfg);
  runtime::tune_scheduler(cfg);
  caf::actor_system sys{cfg};
  std::cout << "idle-agents: sizeof typed_event_based_actor (agent_actor base) "
            << sizeof(agent_actor::base) << ", caf::actor_control_block "
            << sizeof(caf::actor_control_block) << ", agent_config "
            << sizeof(actors::agent_config) << ", agent_profile "
            << sizeof(agent_profile) << std::endl;
  auto launcher = std::make_shared<unused_launcher>();
  auto command = run_round(sys, [&](agent_profile p, scheduler_actor sched) {
    return actors::spawn_agent(sys, {std::move(p), sched, launcher, 5s});
  });
  report("command", command);
  auto noop = run_round(sys, [&](agent_profile p, scheduler_actor sched) {
    return actors::spawn_noop_agent(sys, std::move(p), sched);
  });
  report("noop", noop);
  figure("idle-agents", "idle_agent_bytes", command.resident_per_agent, "bytes");
  figure("idle-agents", "spawn_10k_s", command.registered_s, "s");
  figure("idle-agents", "idle_noop_agent_bytes", noop.resident_per_agent,
         "bytes");
  figure("idle-agents", "noop_spawn_10k_s", noop.registered_s, "s");
  return command.ok && noop.ok ? 0 : 1;
}

} // namespace cw::bench
