#pragma once

// A scheduler over a fake journal (that can hold commits) and fake agents
// that record what they are asked to run, driven by the test coordinator.

#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_journal.hpp"

#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/resources/lock_manager.hpp"
#include "actors/scheduler/scheduler.hpp"
#include "actors/scheduler/task_table.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::test {

using namespace cw::actors;
using namespace std::chrono_literals;

struct run_record {
  task_id id;
  uint32_t attempt;
  std::string log_path;
  /// The spec as the agent got it (with the session to resume, if any).
  task_spec spec;
};

/// What fake agents are asked to adopt, and what they answer.
struct adoptions {
  std::vector<std::pair<task_id, uint32_t>> asked;
  /// Whether the process is found.
  bool found = true;
};

/// An agent that only records what it was asked to run, cancel and adopt.
inline agent_actor::behavior_type
fake_agent(agent_actor::pointer, std::shared_ptr<std::vector<run_record>> runs,
           std::shared_ptr<std::vector<task_id>> cancels,
           std::shared_ptr<adoptions> adopts) {
  return {
    [runs](run_atom, task_id id, uint32_t attempt, const task_spec& spec,
           const std::string& log_path) {
      runs->push_back({id, attempt, log_path, spec});
    },
    [cancels](cancel_atom, task_id id) { cancels->push_back(id); },
    [adopts](adopt_atom, task_id id, uint32_t attempt, process_ref,
             const std::string&) {
      adopts->asked.emplace_back(id, attempt);
      return adopts->found;
    },
    [](watch_atom, task_id, uint32_t) {},
    [](started_atom, task_id, uint32_t, process_ref) {},
    [](finished_atom, task_id, uint32_t, task_outcome) {},
  };
}

inline task_spec spec(int32_t priority = 0) {
  task_spec x;
  x.argv = {"echo", "hi"};
  x.workspace = "/tmp";
  x.priority = priority;
  return x;
}

/// Returns a spec that depends on `deps`.
inline task_spec after(std::vector<task_id> deps) {
  auto x = spec();
  x.depends_on = std::move(deps);
  return x;
}

struct scheduler_fixture : actor_fixture {
  std::shared_ptr<journal_data> jd = std::make_shared<journal_data>();
  journal_actor journal;
  scheduler_actor sched_actor;
  std::shared_ptr<std::vector<run_record>> runs
    = std::make_shared<std::vector<run_record>>();
  std::shared_ptr<std::vector<task_id>> cancels
    = std::make_shared<std::vector<task_id>>();
  std::shared_ptr<adoptions> adopts = std::make_shared<adoptions>();
  /// The providers' breakers of the scheduler `start` spawns.
  breaker_config breaker;
  /// Pools besides `default` of the scheduler `start` spawns.
  std::map<std::string, pool_settings> pools;
  /// The budgets of the scheduler `start` spawns.
  budgets spending;
  /// The session settings of the scheduler `start` spawns.
  session_config sessions;
  /// The lock manager of the scheduler `start` spawns (see `add_locks`).
  lock_actor locks;
  caf::actor_clock::time_point t0 = sched.clock().now();
  static constexpr int64_t epoch_ms = 1'800'000'000'000;

  /// Wall-clock time as the scheduler sees it: driven by the test clock.
  int64_t wall() const {
    return epoch_ms
           + std::chrono::duration_cast<std::chrono::milliseconds>(
               const_cast<scheduler_fixture*>(this)->sched.clock().now() - t0)
               .count();
  }

  scheduler_fixture() {
    journal = sys.spawn(fake_journal, jd);
  }

  ~scheduler_fixture() {
    // A pending timer keeps the scheduler alive: stop it as the node does.
    if (sched_actor) {
      self->send_exit(sched_actor, caf::exit_reason::user_shutdown);
      drain();
    }
    if (locks) {
      self->send_exit(locks, caf::exit_reason::user_shutdown);
      drain();
    }
  }

  void start(std::shared_ptr<task_table> recovered = nullptr,
             uint64_t snapshot_every_events = 0,
             caf::timespan snapshot_interval = caf::timespan{0},
             uint32_t max_running = 0, uint32_t max_per_workspace = 0) {
    auto cfg = base_config(recovered);
    cfg.max_running = max_running;
    cfg.max_running_per_workspace = max_per_workspace;
    cfg.snapshot_every_events = snapshot_every_events;
    cfg.snapshot_interval = snapshot_interval;
    cfg.wall_clock = [this] { return wall(); };
    cfg.breaker = breaker;
    sched_actor = spawn_scheduler(sys, std::move(cfg));
    drain();
  }

  scheduler_config base_config(std::shared_ptr<task_table> recovered) {
    scheduler_config cfg;
    cfg.node_name = "node-a";
    cfg.log_dir = "/logs";
    cfg.default_workspace = "/tmp";
    cfg.journal = journal;
    cfg.recovered = std::move(recovered);
    cfg.pools = pools;
    cfg.pools["default"] = pool_settings{};
    cfg.spending = spending;
    cfg.sessions = sessions;
    cfg.locks = locks;
    return cfg;
  }

  /// Gives the scheduler that `start` spawns a lock manager of its own.
  void add_locks() {
    lock_manager_config cfg;
    cfg.node_name = "node-a";
    cfg.journal = journal;
    cfg.wall_clock = [this] { return wall(); };
    locks = spawn_lock_manager(sys, std::move(cfg));
    drain();
  }

  agent_actor add_agent(agent_profile profile) {
    auto agent = sys.spawn(fake_agent, runs, cancels, adopts);
    self->send(sched_actor, register_atom_v, std::move(profile), agent);
    drain();
    return agent;
  }

  agent_actor add_agent(const std::string& name) {
    agent_profile profile;
    profile.name = name;
    return add_agent(std::move(profile));
  }

  task_info submit(task_spec x) {
    self->send(sched_actor, submit_atom_v, std::move(x));
    drain();
    return reply<task_info>();
  }

  void finish(task_id id, uint32_t attempt, task_status status,
              std::string reason = {}, int32_t signal = 0) {
    self->send(sched_actor, finished_atom_v, id, attempt,
               task_outcome{status, status == task_status::completed ? 0 : 1,
                            signal, std::move(reason)});
    drain();
  }

  task_info lookup(task_id id) {
    self->send(sched_actor, lookup_atom_v, id);
    drain();
    return reply<task_info>();
  }

  /// Returns the types of the task events journaled so far.
  std::vector<std::string> event_types() const {
    std::vector<std::string> result;
    for (auto& ev : jd->events)
      if (ev.type.rfind("task.", 0) == 0)
        result.push_back(ev.type);
    return result;
  }

  template <class Atom>
  caf::expected<scheduler_status> command(Atom what) {
    self->send(sched_actor, what);
    drain();
    caf::expected<scheduler_status> result{scheduler_status{}};
    self->receive([&](scheduler_status& x) { result = std::move(x); },
                  [&](caf::error& err) { result = std::move(err); },
                  caf::after(0s) >> [] { CAF_FAIL("no reply"); });
    return result;
  }
};

} // namespace cw::test
