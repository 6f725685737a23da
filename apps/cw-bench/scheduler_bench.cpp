// Scheduler benchmarks: throughput and latency with in-process agents over a
// real journal, queue memory, placement decisions.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>
#include <random>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/agent/agent.hpp"
#include "actors/journal/journal_writer.hpp"
#include "actors/scheduler/placement.hpp"
#include "actors/scheduler/scheduler.hpp"
#include "actors/scheduler/task_table.hpp"
#include "apps/cw-bench/bench.hpp"
#include "messages/errc.hpp"
#include "messages/register_types.hpp"
#include "persistence/journal.hpp"
#include "runtime/node.hpp"

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double percentile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k),
                   xs.end());
  return xs[k];
}

task_spec noop_spec() {
  task_spec spec;
  spec.provider = "noop";
  spec.workspace = "/tmp";
  spec.retry.max_attempts = 1;
  return spec;
}

/// A scheduler over a real journal (durability from the arguments) with
/// `agents` in-process agents.
struct bench_node {
  scratch_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  journal_actor journal;
  scheduler_actor scheduler;

  bench_node(const bench_args& args, uint32_t agents,
             const std::function<agent_actor(caf::actor_system&, agent_profile,
                                             scheduler_actor)>& spawn_agent
             = actors::spawn_noop_agent) {
    register_types(cfg);
    runtime::tune_scheduler(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    persistence::durability d;
    persistence::from_string(args.durability, d);
    auto j = persistence::journal::open((dir.path / "journal.db").string(), {d});
    if (!j)
      throw std::runtime_error(describe(j.error()));
    journal = actors::spawn_journal_writer(
      *sys, std::shared_ptr<persistence::journal>{std::move(*j)});
    actors::scheduler_config sc;
    sc.node_name = "bench";
    sc.log_dir = (dir.path / "logs").string();
    sc.default_workspace = "/tmp";
    sc.journal = journal;
    sc.snapshot_every_events = 0;
    sc.snapshot_interval = caf::timespan{0};
    pool_settings pool;
    pool.provider = "noop";
    sc.pools["bench"] = pool;
    scheduler = actors::spawn_scheduler(*sys, std::move(sc));
    for (uint32_t i = 0; i < agents; ++i) {
      agent_profile p;
      p.name = "noop-" + std::to_string(i);
      p.pool = "bench";
      spawn_agent(*sys, std::move(p), scheduler);
    }
  }

  ~bench_node() {
    caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  }
};

/// Keeps `window` units (tasks or workflows) in flight until `total` ended
/// and returns the elapsed seconds. Replies come back as ordinary messages
/// (`send`, not `request`): a request would put a timeout in the actor clock
/// per message, which is the client's cost, not the scheduler's. A unit has
/// ended once an `await` of its last task answers with a final state.
double drive(caf::actor_system& sys, scheduler_actor sched, uint64_t total,
             uint32_t window, std::function<void(caf::event_based_actor*)> submit) {
  std::promise<double> result;
  auto finished = result.get_future();
  sys.spawn([&, sched, total, window, submit](caf::event_based_actor* self) {
    auto start = clock_type::now();
    auto sent = std::make_shared<uint64_t>(0);
    auto ended = std::make_shared<uint64_t>(0);
    auto next = [=] {
      if (*sent < total) {
        ++*sent;
        submit(self);
      }
    };
    for (uint32_t i = 0; i < window; ++i)
      next();
    auto await = [=](task_id id) {
      self->send(sched, await_atom_v, id, caf::timespan{30s});
    };
    return caf::behavior{
      [=, &result](task_info& info) {
        if (!is_terminal(info.status))
          return await(info.id);
        if (++*ended == total) {
          result.set_value(seconds_since(start));
          self->quit();
          return;
        }
        next();
      },
      [=](workflow_info& info) { await(info.tasks.back().id); },
      [=](caf::error& err) {
        std::cerr << "benchmark request failed: " << describe(err) << "\n";
        std::abort();
      },
    };
  });
  if (finished.wait_for(10min) != std::future_status::ready)
    throw std::runtime_error("benchmark did not finish in 10 minutes");
  return finished.get();
}

workflow_spec chain3() {
  workflow_spec spec;
  spec.policy = failure_policy::fail_fast;
  for (auto key : {"a", "b", "c"}) {
    workflow_task_spec t;
    t.key = key;
    t.spec = noop_spec();
    spec.tasks.push_back(std::move(t));
  }
  spec.tasks[1].depends_on = {"a"};
  spec.tasks[2].depends_on = {"b"};
  return spec;
}

} // namespace

int scheduler_throughput(const bench_args& args) {
  auto agents = args.agents;
  auto tasks = args.tasks;
  uint32_t window = args.in_flight;
  {
    bench_node node{args, agents};
    auto sched = node.scheduler;
    auto secs = drive(*node.sys, sched, tasks, window, [sched](auto* self) {
      self->send(sched, submit_atom_v, noop_spec());
    });
    auto rate = static_cast<double>(tasks) / secs;
    std::cout << tasks << " tasks, " << agents << " noop agents, durability "
              << args.durability << ", " << window << " in flight: " << secs
              << " s\n";
    figure("scheduler-throughput", "tasks_per_s", rate, "tasks/s");
  }
  {
    bench_node node{args, agents};
    auto sched = node.scheduler;
    uint64_t flows = std::max<uint64_t>(1, tasks / 3);
    auto secs = drive(*node.sys, sched, flows, window / 3 + 1, [sched](auto* self) {
      self->send(sched, workflow_atom_v, submit_atom_v, chain3());
    });
    std::cout << flows << " chain-3 workflows: " << secs << " s\n";
    figure("scheduler-throughput", "chain3_workflows_per_s",
           static_cast<double>(flows) / secs, "workflows/s");
  }
  return 0;
}

namespace {

/// Records when each task reached its agent, then completes it at once.
struct start_log {
  std::mutex mtx;
  std::unordered_map<task_id, clock_type::time_point> started;
};

agent_actor::behavior_type timing_agent(agent_actor::pointer self,
                                        scheduler_actor sched,
                                        std::shared_ptr<start_log> log) {
  return {
    [=](run_atom, task_id id, uint32_t attempt, const task_spec&,
        const std::string&) {
      {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->started.emplace(id, clock_type::now());
      }
      self->send(sched, started_atom_v, id, attempt, process_ref{});
      self->send(sched, finished_atom_v, id, attempt,
                 task_outcome{task_status::completed, 0, 0, ""});
    },
    [](cancel_atom, task_id) {},
    [](adopt_atom, task_id, uint32_t, process_ref, const std::string&) {
      return false;
    },
    [](watch_atom, task_id, uint32_t) {},
    [](started_atom, task_id, uint32_t, process_ref) {},
    [](finished_atom, task_id, uint32_t, task_outcome) {},
  };
}

} // namespace

/// The floor under a durable commit on this disk: `writes` 4 KiB writes,
/// each followed by `fdatasync`, 1 ms apart (as commits come at a steady
/// rate), to a new file (`append`, as a growing WAL) or over the written
/// part of one (as a WAL that started over). Returns the latencies in ms.
std::vector<double> fdatasync_floor(const std::filesystem::path& file,
                                    size_t writes, bool append) {
  auto fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot create " + file.string() + ": "
                             + std::strerror(errno));
  std::vector<char> page(4096, 'x');
  auto write_at = [&](size_t i) {
    auto off = static_cast<off_t>(i * page.size());
    if (::pwrite(fd, page.data(), page.size(), off)
        != static_cast<ssize_t>(page.size()))
      throw std::runtime_error("cannot write " + file.string());
  };
  if (!append) {
    for (size_t i = 0; i < writes; ++i)
      write_at(i);
    ::fsync(fd);
  }
  std::vector<double> ms;
  ms.reserve(writes);
  for (size_t i = 0; i < writes; ++i) {
    auto start = clock_type::now();
    write_at(i);
    ::fdatasync(fd);
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now()
                                                            - start)
                   .count());
    std::this_thread::sleep_for(1ms);
  }
  ::close(fd);
  return ms;
}

int scheduler_latency(const bench_args& args) {
  if (args.durability == "full") {
    // Every submission waits for one commit before its start: a commit's
    // fdatasync bounds the figure from below.
    scratch_dir disk;
    for (auto append : {true, false}) {
      auto ms = fdatasync_floor(disk.path / "sync", 2000, append);
      auto mode = append ? "append" : "overwrite";
      std::cout << "disk: 4 KiB write + fdatasync (" << mode << "): p50 "
                << percentile(ms, 0.5) << " ms, p99 " << percentile(ms, 0.99)
                << " ms\n";
      figure("scheduler-latency", std::string{"fdatasync_"} + mode + "_p99_ms",
             percentile(ms, 0.99), "ms");
    }
  }
  auto log = std::make_shared<start_log>();
  bench_node node{args, args.agents,
                  [log](caf::actor_system& sys, agent_profile p,
                        scheduler_actor sched) {
                    p.provider = "noop";
                    auto a = sys.spawn(timing_agent, sched, log);
                    caf::anon_send(sched, register_atom_v, std::move(p), a);
                    return a;
                  }};
  // A steady 1,000 tasks/s: 10 tasks every 10 ms, on a timer.
  const uint32_t per_tick = 10;
  const auto tick = 10ms;
  uint64_t total = std::max<uint64_t>(per_tick, args.tasks);
  std::promise<std::unordered_map<task_id, clock_type::time_point>> sent_times;
  auto sent_future = sent_times.get_future();
  auto sched = node.scheduler;
  node.sys->spawn([&, sched, total](caf::event_based_actor* self) {
    struct state_t {
      std::unordered_map<task_id, clock_type::time_point> sent;
      uint64_t submitted = 0;
      uint64_t ended = 0;
    };
    auto st = std::make_shared<state_t>();
    auto send_batch = [=, &sent_times] {
      for (uint32_t i = 0; i < per_tick && st->submitted < total; ++i) {
        ++st->submitted;
        auto at = clock_type::now();
        self->request(sched, 60s, submit_atom_v, noop_spec())
          .then(
            [=, &sent_times](const task_info& info) {
              st->sent.emplace(info.id, at);
              self
                ->request(sched, 60s, await_atom_v, info.id, caf::timespan{30s})
                .then(
                  [=, &sent_times](const task_info&) {
                    if (++st->ended == total) {
                      sent_times.set_value(std::move(st->sent));
                      self->quit();
                    }
                  },
                  [](caf::error&) { std::abort(); });
            },
            [](caf::error&) { std::abort(); });
      }
    };
    self->send(self, wake_atom_v);
    return caf::behavior{[=](wake_atom) {
      send_batch();
      if (st->submitted < total)
        self->delayed_send(self, tick, wake_atom_v);
    }};
  });
  if (sent_future.wait_for(10min) != std::future_status::ready)
    return 1;
  auto sent = sent_future.get();
  std::vector<double> latencies;
  std::lock_guard<std::mutex> guard{log->mtx};
  for (auto& [id, at] : sent) {
    auto i = log->started.find(id);
    if (i != log->started.end())
      latencies.push_back(
        std::chrono::duration<double, std::milli>(i->second - at).count());
  }
  std::cout << latencies.size() << " tasks at 1000/s, " << args.agents
            << " agents, durability " << args.durability << ": p50 "
            << percentile(latencies, 0.5) << " ms, p99 "
            << percentile(latencies, 0.99) << " ms, max "
            << percentile(latencies, 1.0) << " ms\n";
  figure("scheduler-latency", "submit_to_start_p50_ms", percentile(latencies, 0.5),
         "ms");
  figure("scheduler-latency", "submit_to_start_p99_ms",
         percentile(latencies, 0.99), "ms");
  return 0;
}

int queue_memory(const bench_args&) {
  constexpr uint64_t n = 1'000'000;
  std::mt19937_64 rng{42};
  std::uniform_int_distribution<int32_t> prio{-10, 10};
  auto before = resident_bytes();
  actors::task_table table;
  auto start = clock_type::now();
  for (task_id id = 1; id <= n; ++id) {
    auto spec = noop_spec();
    spec.argv = {"/bin/true"};
    spec.priority = prio(rng);
    table.apply(task_submitted{id, std::move(spec)},
                1'795'000'000'000 + static_cast<int64_t>(id));
  }
  auto fill_s = seconds_since(start);
  auto bytes = resident_bytes() - before;
  // Ordering intact: popping yields non-increasing priority and, within a
  // priority, increasing ids; each pick-next is timed.
  std::vector<double> pick_us;
  int32_t last_prio = INT32_MAX;
  task_id last_id = 0;
  bool ordered = true;
  for (uint32_t i = 0; i < 100'000; ++i) {
    auto t0 = clock_type::now();
    auto next = table.next_queued();
    pick_us.push_back(
      std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    auto p = table.find(*next)->spec.priority;
    if (p > last_prio || (p == last_prio && *next < last_id))
      ordered = false;
    last_prio = p;
    last_id = *next;
    table.apply(task_assigned{*next, "a", 1, ""}, 0);
  }
  std::cout << n << " queued tasks: " << bytes / (1 << 20) << " MiB ("
            << bytes / n << " bytes/task), filled in " << fill_s
            << " s; ordering " << (ordered ? "intact" : "BROKEN")
            << "; pick-next p99 " << percentile(pick_us, 0.99) << " us\n";
  figure("queue-memory", "queued_1m_bytes", static_cast<double>(bytes), "bytes");
  figure("queue-memory", "pick_next_p99_us", percentile(pick_us, 0.99), "us");
  return ordered ? 0 : 1;
}

int placement_bench(const bench_args&) {
  constexpr uint32_t agents = 1000;
  actors::placement place;
  std::map<std::string, pool_settings> pools;
  std::vector<std::string> caps{"rust", "go", "gpu", "docker", "python", "big"};
  const std::vector<placement_strategy> strategies{
    placement_strategy::least_loaded, placement_strategy::round_robin,
    placement_strategy::capability_match, placement_strategy::random,
    placement_strategy::weighted};
  for (size_t i = 0; i < strategies.size(); ++i) {
    pool_settings s;
    s.strategy = strategies[i];
    pools["pool-" + std::to_string(i)] = s;
  }
  place.configure(pools, {});
  std::mt19937_64 rng{7};
  for (uint32_t i = 0; i < agents; ++i) {
    agent_profile p;
    p.name = "agent-" + std::to_string(i);
    p.pool = "pool-" + std::to_string(i % strategies.size());
    for (auto& c : caps)
      if (rng() % 3 == 0)
        p.capabilities.push_back(c);
    p.max_load = 1 + static_cast<uint32_t>(rng() % 4);
    p.weight = 1 + static_cast<uint32_t>(rng() % 5);
    place.add(p);
    // Half the agents carry some load already.
    for (uint32_t l = 0; l + 1 < p.max_load && rng() % 2 == 0; ++l)
      place.change_load(p.name, +1);
  }
  std::map<std::string, uint64_t> backlog;
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  std::vector<double> us;
  constexpr uint32_t rounds = 100'000;
  us.reserve(rounds);
  uint32_t placed = 0;
  for (uint32_t i = 0; i < rounds; ++i) {
    task_spec spec;
    spec.provider = "command";
    spec.pool = i % 2 == 0 ? "" : "pool-" + std::to_string(i % strategies.size());
    if (i % 3 == 0)
      spec.capabilities = {caps[i % caps.size()]};
    if (i % 7 == 0)
      spec.excluded_agents = {"agent-1", "agent-2"};
    auto t0 = clock_type::now();
    auto choice = place.choose(spec, "", backlog, unit(rng));
    us.push_back(
      std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
    if (choice) {
      ++placed;
      // Keep the load steady: the task starts and another one ends.
      place.change_load(choice->agent, +1);
      place.change_load(choice->agent, -1);
    }
  }
  std::cout << rounds << " decisions over " << agents << " agents (" << placed
            << " placed): p50 " << percentile(us, 0.5) << " us, p99 "
            << percentile(us, 0.99) << " us\n";
  figure("placement", "placement_1000_agents_p99_us", percentile(us, 0.99), "us");
  return 0;
}

} // namespace cw::bench
