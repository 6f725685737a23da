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

/// Returns a task for the `claude` provider.
inline task_spec claude_spec(std::string prompt = "fix the bug") {
  task_spec x;
  x.provider = "claude";
  x.prompt = std::move(prompt);
  x.workspace = "/tmp";
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
  /// Whether parked tasks of the scheduler `start` spawns continue by
  /// themselves at the reset.
  bool auto_resume = scheduler_config{}.auto_resume;
  /// How long a usage limit without a reset time holds in the scheduler
  /// `start` spawns.
  int64_t limit_backoff_ms = scheduler_config{}.limit_backoff_ms;
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
    cfg.auto_resume = auto_resume;
    cfg.limit_backoff_ms = limit_backoff_ms;
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

  /// Registers agent `name` of the `claude` provider in `pool`.
  void add_claude_agent(std::string name = "claude-1", std::string pool = "ai",
                        uint32_t max_load = 4) {
    agent_profile profile;
    profile.name = std::move(name);
    profile.pool = std::move(pool);
    profile.provider = "claude";
    profile.max_load = max_load;
    add_agent(std::move(profile));
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

  /// Ends attempt `attempt` of `id` with a run of cli session `sess-ID` that
  /// cost `usd`.
  void finish_costing(task_id id, uint32_t attempt, task_status status,
                      double usd = 0.001) {
    task_outcome outcome{status, status == task_status::completed ? 0 : 1, 0,
                         status == task_status::completed ? "" : "exit code 1"};
    outcome.report.session = "sess-" + std::to_string(id);
    outcome.report.subtype = "success";
    outcome.report.cost_usd = usd;
    self->send(sched_actor, finished_atom_v, id, attempt, std::move(outcome));
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

  /// Sends `xs` to the scheduler and returns its answer: a `T` or an error.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    self->send(sched_actor, std::forward<Ts>(xs)...);
    drain();
    caf::expected<T> result{T{}};
    self->receive([&](T& x) { result = std::move(x); },
                  [&](caf::error& err) { result = std::move(err); },
                  caf::after(0s) >> [] { CAF_FAIL("no reply"); });
    return result;
  }

  template <class Atom>
  caf::expected<scheduler_status> command(Atom what) {
    return ask<scheduler_status>(what);
  }

  /// Returns the start of the next UTC day (ms since the epoch).
  int64_t next_midnight() const {
    return (wall() / 86'400'000 + 1) * 86'400'000;
  }

  /// Starts the scheduler with a claude agent, runs a claude task that costs
  /// $0.02 and submits a second one: returns the second as it stands then.
  task_info after_spending_two_cents() {
    start();
    add_claude_agent();
    auto first = submit(claude_spec());
    finish_costing(first.id, 1, task_status::completed, 0.02);
    auto second = submit(claude_spec("and test it"));
    return lookup(second.id);
  }

  /// Checks that `x` is parked by a day's budget with `reason` until the next
  /// UTC day, with no attempt counted and only the first task run.
  void check_parked_for_the_day(const task_info& x, const std::string& reason) {
    CAF_CHECK(x.status == task_status::parked);
    CAF_CHECK_EQUAL(x.reason, reason);
    CAF_CHECK_EQUAL(x.parked_until_ms, next_midnight());
    CAF_CHECK_EQUAL(x.attempts, 0u);
    CAF_CHECK_EQUAL(runs->size(), 1u);
  }
};

} // namespace cw::test
