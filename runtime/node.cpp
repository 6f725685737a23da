#include "runtime/node.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "actors/agent/agent.hpp"
#include "actors/journal/journal_writer.hpp"
#include "actors/resources/lock_manager.hpp"
#include "actors/scheduler/recovery.hpp"
#include "actors/scheduler/scheduler.hpp"
#include "actors/scheduler/task_table.hpp"
#include "actors/supervisor/supervisor.hpp"
#include "actors/workspace/manager.hpp"
#include "messages/errc.hpp"
#include "messages/register_types.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "runtime/api.hpp"
#include "runtime/extensions.hpp"
#include "runtime/http_server.hpp"
#include "runtime/shim_launcher.hpp"

namespace cw::runtime {

namespace {

/// How long agent processes get between SIGTERM and SIGKILL at shutdown.
constexpr auto shutdown_grace = std::chrono::seconds(5);

/// Holds an exclusive POSIX record lock on `<data_dir>/lock` while the node
/// runs, so two nodes never share a journal. Record locks (unlike flock) are
/// not inherited by forked children, so an agent process that outlives a
/// killed node does not keep the next start out. They are per process, so
/// nodes in one process (tests, benchmarks) are also kept apart by a
/// registry of the directories locked here.
class data_dir_lock {
public:
  static caf::expected<std::unique_ptr<data_dir_lock>>
  acquire(const std::string& dir) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(dir, ec).string();
    auto in_use = [&](std::string holder) {
      return make_error(errc::invalid_argument,
                        "data-dir: " + dir + " is in use by another cw-node"
                          + (holder.empty() ? std::string{}
                                            : " (pid " + holder + ")"));
    };
    {
      std::lock_guard<std::mutex> guard{registry_mutex()};
      if (!registry().insert(canonical).second)
        return in_use(std::to_string(::getpid()));
    }
    auto path = dir + "/lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      release_name(canonical);
      return make_error(errc::invalid_argument,
                        "data-dir: cannot open " + path + ": "
                          + std::strerror(errno));
    }
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) != 0) {
      char buf[32] = {};
      auto n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      ::close(fd);
      release_name(canonical);
      return in_use(n > 0 ? std::string{buf, static_cast<size_t>(n)}
                          : std::string{});
    }
    auto pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0
        || ::pwrite(fd, pid.data(), pid.size(), 0)
             != static_cast<ssize_t>(pid.size()))
      spdlog::warn("cannot write pid to {}", path);
    return std::unique_ptr<data_dir_lock>{new data_dir_lock(fd, canonical)};
  }

  ~data_dir_lock() {
    ::close(fd_); // releases the record lock
    release_name(name_);
  }

private:
  data_dir_lock(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    // nop
  }

  static std::mutex& registry_mutex() {
    static std::mutex mtx;
    return mtx;
  }

  static std::set<std::string>& registry() {
    static std::set<std::string> dirs;
    return dirs;
  }

  static void release_name(const std::string& name) {
    std::lock_guard<std::mutex> guard{registry_mutex()};
    registry().erase(name);
  }

  int fd_;
  std::string name_;
};

} // namespace

// Tunes CAF's scheduler for cw's load: one busy scheduler actor, a detached
// journal thread, the launcher's I/O thread and many cheap agents. CAF
// starts at least 4 workers; on a 2-core machine the extra ones only take
// turns polling the queues (in 50 us sleeps, each a context switch). So one
// worker per core, less the core that the journal's thread (each commit's
// fsync and inserts) and the launcher need: on 2 cores, one worker. Against
// one worker per core, on 2 cores (cw-bench, same hour): scheduler-throughput
// 33,086-34,909 vs 26,642-28,504 tasks/s; scheduler-latency without the
// stalls of about 100 ms that two workers showed in every run of 20,000 tasks
// (p99 1.5-2.7 ms vs 50-77 ms); process-agents 179-229 vs 177-192 tasks/s.
// Idle workers keep CAF's moderate polling: without it
// (`work-stealing.moderate-poll-attempts=0`) throughput rose a little more,
// but no idle worker stole the work of a preempted one, and submit-to-start
// latency tripled on a loaded machine.
void tune_scheduler(caf::actor_system_config& cfg) {
  auto cores = std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<int64_t>(cores - 1));
}

struct node::impl {
  node_config cfg;
  std::unique_ptr<data_dir_lock> lock;
  uint64_t recovered_events = 0;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<shim_launcher> launcher;
  journal_actor journal;
  scheduler_actor scheduler;
  lock_actor locks;
  workspace_manager_actor workspaces;
  /// Provider and observer factories: built-in and from plugins.
  std::unique_ptr<plugin::registry> registry;
  std::vector<observer_actor> observers;
  /// The root of the agents' supervision tree: one supervisor per pool,
  /// each over that pool's agents.
  caf::actor agents;
  size_t agent_count = 0;
  caf::actor api;
  std::unique_ptr<http_server> http;
  bool stopped = false;
};

node::node(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

node::~node() {
  stop();
}

caf::expected<std::unique_ptr<node>> node::start(node_config cfg) {
  if (auto err = validate(cfg))
    return err;
  auto d = std::make_unique<impl>();
  d->cfg = std::move(cfg);
  auto& c = d->cfg;
  // Plugins load first: a bad one stops the start before it touches anything.
  auto registry = load_registry(c);
  if (!registry)
    return registry.error();
  d->registry = std::move(*registry);
  std::error_code ec;
  std::filesystem::create_directories(c.data_dir + "/logs", ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "data-dir: cannot create " + c.data_dir + ": "
                        + ec.message());
  auto lock = data_dir_lock::acquire(c.data_dir);
  if (!lock)
    return lock.error();
  d->lock = std::move(*lock);
  auto journal = persistence::journal::open(c.data_dir + "/journal.db",
                                            {c.durability, false});
  if (!journal)
    return journal.error();
  auto recovered = actors::recover_tasks(**journal);
  if (!recovered)
    return recovered.error();
  d->recovered_events = recovered->replayed;
  if (recovered->snapshot_seq != 0)
    spdlog::info("journal {}: snapshot at seq {}, replayed {} events after it, "
                 "{} tasks",
                 (*journal)->path(), recovered->snapshot_seq,
                 recovered->replayed, recovered->tasks->size());
  else
    spdlog::info("journal {}: replayed {} events, {} tasks", (*journal)->path(),
                 recovered->replayed, recovered->tasks->size());
  auto workspaces = actors::recover_workspaces(**journal);
  if (!workspaces)
    return workspaces.error();
  if (!workspaces->registry.all().empty())
    spdlog::info("journal {}: {} workspaces ({} events after the snapshot)",
                 (*journal)->path(), workspaces->registry.all().size(),
                 workspaces->replayed);
  register_types(d->sys_cfg);
  tune_scheduler(d->sys_cfg);
  d->sys = std::make_unique<caf::actor_system>(d->sys_cfg);
  auto& sys = *d->sys;
  auto shim = c.shim_path.empty() ? default_shim_path() : c.shim_path;
  if (shim.empty() || ::access(shim.c_str(), X_OK) != 0)
    return make_error(errc::invalid_argument,
                      "shim_path: "
                        + (shim.empty()
                             ? std::string{"no cw-shim next to this program "
                                           "or on PATH"}
                             : "cannot execute " + shim)
                        + "; agent processes run under cw-shim (set "
                          "shim_path in the config or --shim)");
  d->launcher = std::make_shared<shim_launcher>(shim);
  // Observers exist before the journal writer, which hands them every commit.
  auto observers = d->registry->spawn_observers(sys, {c.data_dir, c.node_name});
  if (!observers)
    return observers.error();
  d->observers = std::move(*observers);
  d->journal = actors::spawn_journal_writer(
    sys, std::shared_ptr<persistence::journal>{std::move(*journal)},
    d->observers);
  // Locks start empty on every start-up: their owners belong to the run
  // that ended (see lock_manager.hpp).
  actors::lock_manager_config lock_cfg;
  lock_cfg.node_name = c.node_name;
  lock_cfg.journal = d->journal;
  d->locks = actors::spawn_lock_manager(sys, std::move(lock_cfg));
  actors::workspace_manager_config ws_cfg;
  ws_cfg.node_name = c.node_name;
  ws_cfg.journal = d->journal;
  ws_cfg.locks = d->locks;
  ws_cfg.registry = std::move(workspaces->registry);
  ws_cfg.worktree_dir = c.worktree_dir.empty() ? c.data_dir + "/worktrees"
                                               : c.worktree_dir;
  from_string(c.workspace_conflict_policy, ws_cfg.default_policy);
  ws_cfg.ignore = c.workspace_ignore;
  ws_cfg.node_dirs = {c.data_dir, ws_cfg.worktree_dir};
  ws_cfg.max_watched_dirs = c.max_watched_dirs;
  ws_cfg.watcher_idle = std::chrono::seconds(c.watcher_idle_s);
  ws_cfg.settle_ms = c.watch_settle_ms;
  d->workspaces = actors::spawn_workspace_manager(sys, std::move(ws_cfg));
  auto log_dir = c.data_dir + "/logs";
  actors::scheduler_config sched_cfg;
  sched_cfg.locks = d->locks;
  sched_cfg.node_name = c.node_name;
  sched_cfg.log_dir = log_dir;
  sched_cfg.default_workspace = c.default_workspace;
  sched_cfg.journal = d->journal;
  sched_cfg.recovered = recovered->tasks;
  sched_cfg.last_seq = recovered->last_seq;
  sched_cfg.recovered_phase = recovered->phase;
  sched_cfg.max_running = c.max_running;
  sched_cfg.max_running_per_workspace = c.max_running_per_workspace;
  sched_cfg.default_retry.max_attempts = c.retry_max_attempts;
  sched_cfg.snapshot_every_events = c.snapshot_every_events;
  sched_cfg.snapshot_interval = std::chrono::seconds(c.snapshot_interval_s);
  sched_cfg.provider_limits = c.provider_limits;
  sched_cfg.max_prompt_bytes = c.max_prompt_bytes;
  sched_cfg.breaker = c.breaker;
  sched_cfg.limit_backoff_ms = int64_t{c.limit_backoff_s} * 1000;
  sched_cfg.auto_resume = c.auto_resume;
  sched_cfg.spending = c.budgets;
  sched_cfg.sessions.idle_timeout_ms = int64_t{c.session_idle_timeout_s} * 1000;
  sched_cfg.sessions.binding_timeout_ms
    = int64_t{c.session_binding_timeout_s} * 1000;
  sched_cfg.sessions.default_pool_limit = c.max_sessions_per_pool;
  if (auto why = missing_claude(c); !why.empty()) {
    spdlog::warn("no claude pool: {}", why);
    sched_cfg.absent_providers.emplace("claude", std::move(why));
  }
  auto pools = effective_pools(c);
  for (auto& pool : pools) {
    auto settings = pool.settings;
    settings.provider = pool.provider;
    settings.capabilities = pool.capabilities;
    settings.min_agents = pool.min_agents;
    settings.max_agents = pool.max_agents;
    settings.idle_timeout_ms = int64_t{pool.idle_timeout_s} * 1000;
    settings.max_load = pool.max_load;
    // A pool with credentials of its own is an account of its own: a usage
    // limit of another pool does not hold it back.
    if (settings.account.empty())
      for (auto& name : claude_env_pass())
        if (name != "ANTHROPIC_BASE_URL" && pool.env.count(name) != 0)
          settings.account = "pool:" + pool.name;
    sched_cfg.pools.emplace(pool.name, std::move(settings));
  }
  d->scheduler = actors::spawn_scheduler(sys, std::move(sched_cfg));
  // Every start, crash, restart and give-up of the tree is journaled.
  actors::supervisor_config root;
  root.name = "agents";
  root.observer = [journal = d->journal,
                   node_name = c.node_name](const actors::supervisor_report& r) {
    using namespace std::chrono;
    auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch())
                 .count();
    supervisor_event ev{actors::to_string(r.what), r.supervisor, r.child,
                        r.reason, r.restarts, r.delay_ms};
    if (r.what != actors::supervisor_report::kind::started
        && r.what != actors::supervisor_report::kind::stopped)
      spdlog::warn("supervisor {}: child {} {}{}{}", r.supervisor, r.child,
                   ev.what, r.reason.empty() ? "" : ": ", r.reason);
    caf::anon_send(journal, append_atom_v,
                   std::vector<event>{persistence::encode(ev, now, node_name)});
  };
  root.flags.intensity = 3;
  root.flags.period_ms = 60'000;
  caf::error spawn_failed;
  std::vector<caf::actor> spawned;
  for (auto& pool : pools) {
    actors::supervisor_config pool_sup;
    pool_sup.name = "pool/" + pool.name;
    pool_sup.observer = root.observer;
    // A crashing agent is restarted with back-off; ten crashes a minute
    // and the pool gives up (its parent restarts it).
    pool_sup.flags.intensity = 10;
    pool_sup.flags.period_ms = 60'000;
    agent_profile base;
    base.pool = pool.name;
    base.provider = pool.provider;
    base.capabilities = pool.capabilities;
    base.max_load = pool.max_load;
    base.weight = pool.weight;
    // The default pool keeps the historical agent names.
    auto ctx_for = [base_ctx = plugin::provider_context{
                      std::move(base), d->scheduler, d->launcher, log_dir,
                      c.data_dir, c.node_name, shutdown_grace,
                      std::chrono::seconds(pool.hung_after_s), pool.options,
                      d->workspaces, pool_environment(pool)},
                    prefix = (pool.name == "default" ? std::string{"agent"}
                                                     : pool.name)
                             + "-"](uint32_t i) {
      auto ctx = base_ctx;
      ctx.profile.name = prefix + std::to_string(i);
      return ctx;
    };
    // Agent `i` of the pool; `first` is an instance spawned already.
    auto child_for = [ctx_for, registry = d->registry.get()](
                       uint32_t i, std::shared_ptr<agent_actor> first) {
      actors::child_spec child;
      auto ctx = ctx_for(i);
      child.name = ctx.profile.name;
      child.start = [ctx, registry, first](caf::actor_system& sys) -> caf::actor {
        if (first && *first)
          return caf::actor_cast<caf::actor>(std::exchange(*first, nullptr));
        auto agent = registry->spawn_agent(sys, ctx);
        if (!agent) {
          spdlog::error("{}", describe(agent.error()));
          return caf::actor{};
        }
        return caf::actor_cast<caf::actor>(std::move(*agent));
      };
      return child;
    };
    for (uint32_t i = 1; i <= pool.min_agents; ++i) {
      // The first instance is spawned here, so that a provider that cannot
      // spawn its agents stops the start; the supervisor spawns the next ones.
      auto first = d->registry->spawn_agent(sys, ctx_for(i));
      if (!first) {
        spawn_failed = std::move(first.error());
        break;
      }
      spawned.push_back(caf::actor_cast<caf::actor>(*first));
      pool_sup.children.push_back(
        child_for(i, std::make_shared<agent_actor>(std::move(*first))));
      ++d->agent_count;
    }
    auto elastic = pool.max_agents > pool.min_agents;
    if (elastic) {
      // Agents above min_agents: grown and shrunk on the scheduler's word.
      pool_sup.dynamic_child = [child_for](uint32_t i) {
        return child_for(i, nullptr);
      };
      pool_sup.max_children = pool.max_agents;
    }
    if (spawn_failed)
      break;
    actors::child_spec pool_child;
    pool_child.name = pool_sup.name;
    pool_child.start = [pool_sup, elastic, pool_name = pool.name,
                        scheduler = d->scheduler](caf::actor_system& sys) {
      auto sup = actors::spawn_supervisor(sys, pool_sup);
      // Each new instance: the scheduler asks it for agents from now on.
      if (elastic)
        caf::anon_send(scheduler, register_atom_v, pool_name, sup);
      return sup;
    };
    root.children.push_back(std::move(pool_child));
  }
  if (spawn_failed) {
    // No supervisor owns the agents spawned so far: stop them here.
    for (auto& agent : spawned)
      caf::anon_send_exit(agent, caf::exit_reason::user_shutdown);
    spawned.clear();
    // The tree's configs hold the journal (their observer): drop them, or
    // the journal's thread would outlive the actor system.
    root = actors::supervisor_config{};
    std::unique_ptr<node> result{new node(std::move(d))};
    result->stop();
    return spawn_failed;
  }
  spawned.clear();
  d->agents = actors::spawn_supervisor(sys, std::move(root));
  {
    // Serve only once every agent is known to the scheduler, so that the
    // first `cw agents` lists them all.
    caf::scoped_actor self{sys};
    self->request(d->scheduler, std::chrono::seconds(10), agents_atom_v,
                  static_cast<uint32_t>(d->agent_count))
      .receive([](const agent_listing&) {},
               [&](const caf::error& err) {
                 spdlog::warn("not every agent registered at start-up: {}",
                              sys.render(err));
               });
  }
  api_config api_cfg;
  api_cfg.node_name = c.node_name;
  api_cfg.log_dir = log_dir;
  api_cfg.scheduler = d->scheduler;
  api_cfg.locks = d->locks;
  api_cfg.workspaces = d->workspaces;
  d->api = spawn_api(sys, std::move(api_cfg));
  auto http = http_server::start(c.api_host, c.api_port, api_handler(d->api));
  std::unique_ptr<node> result{new node(std::move(d))};
  if (!http) {
    result->stop();
    return http.error();
  }
  result->impl_->http = std::move(*http);
  return result;
}

void node::stop() {
  auto& d = *impl_;
  if (d.stopped)
    return;
  d.stopped = true;
  // Reverse order of start: the API first, so no new work arrives; then the
  // deciders; then the processes; the journal last, after its final commit.
  if (d.http) {
    d.http->stop();
    d.http.reset();
  }
  if (!d.sys)
    return;
  {
    // One at a time, each waited for: the scheduler must be gone before its
    // agents, or it would record their exits as crashes of running tasks.
    caf::scoped_actor self{*d.sys};
    auto stop_actor = [&](const caf::actor& whom, const char* what) {
      if (!whom) // a start that failed half-way
        return;
      self->monitor(whom);
      self->send_exit(whom, caf::exit_reason::user_shutdown);
      self->receive([](const caf::down_msg&) {},
                    caf::after(std::chrono::seconds(30)) >> [what] {
                      spdlog::error("{} did not stop within 30 s", what);
                    });
    };
    stop_actor(d.api, "api");
    if (!d.cfg.keep_agents) {
      // The processes are about to be terminated: their tasks go back to the
      // queue first (durably), instead of failing after the restart.
      self->request(d.scheduler, std::chrono::seconds(10), interrupt_atom_v)
        .receive(
          [](uint32_t n) {
            if (n > 0)
              spdlog::info("{} running tasks requeued for the next start", n);
          },
          [&](caf::error& err) {
            spdlog::warn("cannot requeue running tasks: {}",
                         d.sys->render(err));
          });
    }
    stop_actor(caf::actor_cast<caf::actor>(d.scheduler), "scheduler");
    stop_actor(caf::actor_cast<caf::actor>(d.locks), "lock manager");
    stop_actor(d.agents, "agents");
    stop_actor(caf::actor_cast<caf::actor>(d.workspaces), "workspace manager");
    // Agents are gone; now their processes, then the journal after its last
    // commit.
    d.launcher->shutdown(shutdown_grace, d.cfg.keep_agents);
    stop_actor(caf::actor_cast<caf::actor>(d.journal), "journal");
    // After the journal: its last commit is in their mailboxes, ahead of
    // the exit message.
    for (auto& obs : d.observers)
      stop_actor(caf::actor_cast<caf::actor>(obs), "observer");
  }
  d.observers.clear();
  d.agents = nullptr;
  d.api = nullptr;
  d.scheduler = nullptr;
  d.locks = nullptr;
  d.workspaces = nullptr;
  spdlog::debug("waiting for {} actors", d.sys->registry().running());
  d.journal = nullptr;
  d.sys.reset();
  spdlog::info("node stopped");
}

size_t node::agent_count() const noexcept {
  return impl_->agent_count;
}

caf::actor node::agents() const {
  return impl_->agents;
}

uint16_t node::api_port() const noexcept {
  return impl_->http ? impl_->http->port() : 0;
}

const node_config& node::config() const noexcept {
  return impl_->cfg;
}

caf::actor_system& node::system() noexcept {
  return *impl_->sys;
}

scheduler_actor node::scheduler() const {
  return impl_->scheduler;
}

uint64_t node::recovered_events() const noexcept {
  return impl_->recovered_events;
}

} // namespace cw::runtime
