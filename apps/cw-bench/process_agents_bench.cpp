// process-agents: /bin/true tasks through a real node and `command` agents,
// beside the fork/exec ceiling of the machine measured in the same run.

#include <atomic>
#include <chrono>
#include <future>
#include <iostream>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"

#include "apps/cw-bench/bench.hpp"
#include "messages/errc.hpp"
#include "runtime/node.hpp"

extern char** environ;

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Returns the CPU seconds (user + system) of `who` so far.
double cpu_seconds(int who) {
  rusage ru{};
  ::getrusage(who, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec)
           + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

/// Returns processes per second: `total` runs of /bin/true, each started with
/// posix_spawn and reaped with waitpid, spread over `threads` threads; each
/// thread also stops after 60 s. Sets `failures` to the runs that did not
/// exit 0.
double fork_exec_ceiling(uint32_t total, uint32_t threads,
                         uint32_t& failures) {
  std::atomic<uint32_t> next{0};
  std::atomic<uint32_t> done{0};
  std::atomic<uint32_t> failed{0};
  auto start = clock_type::now();
  auto deadline = start + 60s;
  std::vector<std::thread> workers;
  for (uint32_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      char prog[] = "/bin/true";
      char* argv[] = {prog, nullptr};
      while (next.fetch_add(1) < total && clock_type::now() < deadline) {
        pid_t pid = 0;
        int status = 0;
        if (::posix_spawn(&pid, prog, nullptr, nullptr, argv, environ) != 0
            || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)
            || WEXITSTATUS(status) != 0)
          ++failed;
        ++done;
      }
    });
  for (auto& w : workers)
    w.join();
  failures = failed.load();
  return static_cast<double>(done.load()) / seconds_since(start);
}

/// A `/bin/true` task in `workspace` (a directory of its own: the node
/// watches a task's workspace for the files it changes).
task_spec true_spec(const std::string& workspace) {
  task_spec spec;
  spec.provider = "command";
  spec.argv = {"/bin/true"};
  spec.workspace = workspace;
  spec.retry.max_attempts = 1;
  return spec;
}

/// What the driver saw once every task ended.
struct drive_result {
  double seconds = 0;
  uint64_t completed = 0;
  uint64_t failed = 0;
};

/// The driver's bookkeeping, shared by its response handlers.
struct drive_state {
  uint64_t total = 0;
  clock_type::time_point start;
  drive_result res;
  std::promise<drive_result> done;
};

using drive_ptr = std::shared_ptr<drive_state>;

void task_ended(caf::event_based_actor* self, const drive_ptr& st, bool ok) {
  ++(ok ? st->res.completed : st->res.failed);
  if (st->res.completed + st->res.failed == st->total) {
    st->res.seconds = seconds_since(st->start);
    st->done.set_value(st->res);
    self->quit();
  }
}

/// Awaits task `id`; a task still running after `max_wait` is awaited again
/// (the caller's 10-minute bound ends the run if one never ends).
void await_task(caf::event_based_actor* self, scheduler_actor sched,
                drive_ptr st, task_id id) {
  self->request(sched, 60s, await_atom_v, id, caf::timespan{30s})
    .then(
      [=](const task_info& info) {
        if (!is_terminal(info.status))
          return await_task(self, sched, st, id);
        task_ended(self, st, info.status == task_status::completed);
      },
      [=](caf::error& err) {
        std::cerr << "process-agents: await failed: " << describe(err) << "\n";
        task_ended(self, st, false);
      });
}

/// Submits `total` /bin/true tasks at once to `sched`, awaits each (every
/// request with a timeout) and returns the seconds from the first submission
/// to the last task ending. Fails if the tasks did not end in 10 minutes.
caf::expected<drive_result> drive(caf::actor_system& sys, scheduler_actor sched,
                                  uint64_t total, std::string workspace) {
  auto st = std::make_shared<drive_state>();
  st->total = total;
  auto future = st->done.get_future();
  auto driver = sys.spawn([=](caf::event_based_actor* self) {
    st->start = clock_type::now();
    for (uint64_t i = 0; i < total; ++i)
      self->request(sched, 60s, submit_atom_v, true_spec(workspace))
        .then([=](const task_info& info) { await_task(self, sched, st, info.id); },
              [=](caf::error& err) {
                std::cerr << "process-agents: submit failed: " << describe(err)
                          << "\n";
                task_ended(self, st, false);
              });
  });
  if (future.wait_for(10min) != std::future_status::ready) {
    caf::anon_send_exit(driver, caf::exit_reason::user_shutdown);
    return make_error(errc::invalid_argument,
                      "process-agents: tasks did not end within 10 minutes");
  }
  return future.get();
}

} // namespace

int process_agents(const bench_args& args) {
  auto agents = args.agents_given ? args.agents : 16u;
  auto tasks = args.tasks;
  // The ceiling first, while no node runs: no launcher thread may reap these
  // children, and the node's threads do not compete for the two cores.
  uint32_t spawn_failures = 0;
  auto ceiling = fork_exec_ceiling(tasks, agents, spawn_failures);
  // The same from one thread: the node's launcher starts its processes one
  // after the other on its I/O thread.
  uint32_t sequential_failures = 0;
  auto sequential = fork_exec_ceiling(tasks, 1, sequential_failures);
  spawn_failures += sequential_failures;
  std::cout << "process-agents: fork/exec ceiling: " << tasks
            << " x /bin/true, posix_spawn + waitpid: " << ceiling
            << " processes/s from " << agents << " threads, " << sequential
            << " from 1 thread; " << spawn_failures << " failures" << std::endl;
  scratch_dir dir;
  auto cfg = runtime::default_node_config();
  cfg.data_dir = dir.path.string();
  cfg.api_port = 0;
  cfg.agents = agents;
  cfg.log_level = "warn";
  persistence::from_string(args.durability, cfg.durability);
  auto started = runtime::node::start(cfg);
  if (!started) {
    std::cerr << "process-agents: cannot start node: "
              << describe(started.error()) << "\n";
    return 1;
  }
  auto& n = *started;
  auto cpu_self = cpu_seconds(RUSAGE_SELF);
  auto cpu_children = cpu_seconds(RUSAGE_CHILDREN);
  auto workspace = dir.path / "workspace";
  std::filesystem::create_directories(workspace);
  auto res = drive(n->system(), n->scheduler(), tasks, workspace.string());
  cpu_self = cpu_seconds(RUSAGE_SELF) - cpu_self;
  // The shims count once reaped: they serve until the node stops.
  n->stop();
  cpu_children = cpu_seconds(RUSAGE_CHILDREN) - cpu_children;
  if (!res) {
    std::cerr << describe(res.error()) << "\n";
    return 1;
  }
  auto rate = static_cast<double>(tasks) / res->seconds;
  std::cout << "process-agents: " << tasks << " x /bin/true through the node ("
            << agents << " command agents, durability " << args.durability
            << "): " << res->seconds
            << " s, " << res->completed << " completed, " << res->failed
            << " failed; CPU per task: node " << cpu_self * 1e3 / tasks
            << " ms, children " << cpu_children * 1e3 / tasks << " ms; "
            << 100.0 * rate / ceiling << "% of the ceiling" << std::endl;
  figure("process-agents", "process_tasks_per_s", rate, "tasks/s");
  figure("process-agents", "fork_exec_per_s", ceiling, "processes/s");
  figure("process-agents", "fork_exec_sequential_per_s", sequential,
         "processes/s");
  return res->failed == 0 && spawn_failures == 0 ? 0 : 1;
}

} // namespace cw::bench
