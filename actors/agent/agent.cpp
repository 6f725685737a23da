#include "actors/agent/agent.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <string_view>
#include <utility>
#include <sys/wait.h>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/agent/process_launcher.hpp"
#include "actors/agent/process_provider.hpp"
#include "messages/errc.hpp"

namespace cw::actors {

process_launcher::~process_launcher() = default;

process_provider::~process_provider() = default;

void process_provider::conclude(const std::string&, uint64_t,
                                task_outcome&) const {
  // The exit code decides.
}

std::unique_ptr<run_watcher> process_provider::watch(const task_spec&) const {
  return nullptr;
}

run_watcher::~run_watcher() = default;

caf::expected<std::vector<std::string>>
command_provider::argv(const task_spec& spec) const {
  return spec.argv;
}

task_outcome outcome_from_exit(int32_t code, int32_t signal) {
  task_outcome result;
  if (signal != 0) {
    result.status = task_status::failed;
    result.signal = signal;
    result.reason = "killed by signal " + std::to_string(signal);
  } else {
    result.exit_code = code;
    result.status = code == 0 ? task_status::completed : task_status::failed;
    if (code != 0)
      result.reason = "exit code " + std::to_string(code);
  }
  return result;
}

task_outcome outcome_from_wait_status(int status) {
  if (WIFEXITED(status))
    return outcome_from_exit(WEXITSTATUS(status), 0);
  if (WIFSIGNALED(status))
    return outcome_from_exit(-1, WTERMSIG(status));
  return task_outcome{task_status::failed, -1, 0,
                      "ended with wait status " + std::to_string(status)};
}

std::string task_log_path(const std::string& log_dir, task_id id) {
  return log_dir + "/" + std::to_string(id) + ".log";
}

std::string task_status_path(const std::string& log_path, uint32_t attempt) {
  std::string_view base = log_path;
  if (base.size() > 4 && base.substr(base.size() - 4) == ".log")
    base.remove_suffix(4);
  return std::string{base} + "." + std::to_string(attempt) + ".status";
}

std::map<std::string, std::string> agent_environment() {
  std::map<std::string, std::string> result;
  for (auto name : {"PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR",
                    "TZ"})
    if (auto value = std::getenv(name))
      result.emplace(name, value);
  if (result.count("PATH") == 0)
    result.emplace("PATH", "/usr/local/bin:/usr/bin:/bin");
  return result;
}

namespace {

struct running_task {
  uint32_t attempt = 0;
  /// Where the task's log is.
  std::string log_path;
  /// Its process; pid 0 until the launcher reports it.
  process_ref process;
  /// Cancelled before its process reported its pid: stop it once it does.
  bool cancelled = false;
  /// Reads the output while the process runs (see `process_provider`).
  std::shared_ptr<run_watcher> watcher = nullptr;
  /// How much of the log (from `process.log_offset`) the watcher has read.
  uint64_t watched = 0;
  /// Why the watcher stopped the process; the attempt fails with it.
  std::string stop_reason = {};
  /// The workspace manager prepared its directory: `conclude` follows.
  bool prepared = false;
};

/// Longest the workspace manager may take to prepare or conclude a task
/// (it may create a git worktree or list a large one's changes).
constexpr auto workspace_timeout = std::chrono::seconds(60);

/// How often a watched run's log is read.
constexpr auto watch_interval = std::chrono::milliseconds{200};

/// Returns the bytes of `path` from `offset` on (at most `limit`).
std::string read_from(const std::string& path, uint64_t offset,
                      size_t limit = size_t{1} << 20) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {};
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(limit, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(limit));
  bytes.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return bytes;
}

struct agent_state {
  agent_config cfg;
  /// Shared with the exit hook, which outlives the state.
  std::shared_ptr<std::map<task_id, running_task>> tasks
    = std::make_shared<std::map<task_id, running_task>>();
  std::map<task_id, running_task>& running = *tasks;

  static inline const char* name = "cw.agent";
};

using self_ptr = agent_actor::stateful_pointer<agent_state>;

agent_actor report_to(self_ptr self) {
  return caf::actor_cast<agent_actor>(self);
}

/// Returns the launcher callback that reports the end of an attempt.
process_launcher::exit_callback exit_reporter(self_ptr self, task_id id,
                                              uint32_t attempt) {
  return [me = report_to(self), id, attempt](task_outcome outcome) {
    caf::anon_send(me, finished_atom_v, id, attempt, std::move(outcome));
  };
}

/// Starts the process of an attempt.
void launch(self_ptr self, task_id id, uint32_t attempt, launch_request req) {
  auto& st = self->state;
  if (st.running.at(id).watcher)
    self->delayed_send(self, watch_interval, watch_atom_v, id, attempt);
  st.cfg.launcher->launch(
    std::move(req),
    [me = report_to(self), id, attempt](process_ref process) {
      caf::anon_send(me, started_atom_v, id, attempt, process);
    },
    exit_reporter(self, id, attempt));
}

/// Ends an attempt: frees its slot and reports `outcome` to the scheduler,
/// after asking the workspace what the task changed when it was prepared.
/// Under the workspace's `lock` conflict policy a violation fails it.
void end_attempt(self_ptr self, task_id id, uint32_t attempt,
                 task_outcome outcome) {
  auto& st = self->state;
  auto i = st.running.find(id);
  auto prepared = i != st.running.end() && i->second.prepared;
  if (i != st.running.end())
    st.running.erase(i);
  if (!prepared) {
    self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
               std::move(outcome));
    return;
  }
  auto report = [self, id, attempt](task_outcome& outcome) {
    self->send(self->state.cfg.scheduler, finished_atom_v, id, attempt,
               std::move(outcome));
  };
  self->request(st.cfg.workspaces, workspace_timeout, conclude_atom_v, id)
    .then(
      [report, outcome](workspace_report& changes) mutable {
        if (!changes.violation.empty()
            && outcome.status == task_status::completed) {
          outcome.status = task_status::failed;
          outcome.reason = "workspace conflict: " + changes.violation;
        }
        outcome.changes = std::move(changes);
        report(outcome);
      },
      [self, id, report, outcome](caf::error& err) mutable {
        spdlog::warn("agent {}: changes of task {} unknown: {}",
                     self->state.cfg.profile.name, id, describe(err));
        report(outcome);
      });
}

agent_actor::behavior_type agent_impl(self_ptr self, agent_config cfg) {
  self->state.cfg = std::move(cfg);
  if (!self->state.cfg.provider)
    self->state.cfg.provider = std::make_shared<command_provider>();
  // An agent that crashes (or is killed) takes its processes down with it:
  // their attempts fail and may run again, never twice at once. An agent
  // stopped on purpose leaves them to the node (which may keep them).
  self->attach_functor([tasks = self->state.tasks,
                        launcher = self->state.cfg.launcher,
                        grace = self->state.cfg.grace](const caf::error& why) {
    if (!why || why == caf::exit_reason::user_shutdown)
      return;
    for (auto& [id, task] : *tasks)
      if (task.process.shim_pid != 0)
        launcher->terminate(task.process, grace);
  });
  return {
    [self](run_atom, task_id id, uint32_t attempt, const task_spec& spec,
           const std::string& log_path) {
      auto& st = self->state;
      if (st.running.size() >= st.cfg.profile.max_load
          || st.running.count(id) != 0) {
        self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
                   task_outcome{task_status::failed, -1, 0,
                                "agent " + st.cfg.profile.name + " is busy"});
        return;
      }
      auto argv = st.cfg.provider->argv(spec);
      if (!argv) {
        self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
                   task_outcome{task_status::failed, -1, 0,
                                describe(argv.error())});
        return;
      }
      auto& task = st.running[id];
      task.attempt = attempt;
      task.log_path = log_path;
      task.watcher = st.cfg.provider->watch(spec);
      auto env = agent_environment();
      for (const auto* layer : {&std::as_const(st.cfg.env), &spec.env})
        for (auto& [name, value] : *layer)
          env[name] = value;
      launch_request req{std::move(*argv), spec.workspace, log_path,
                         task_status_path(log_path, attempt), std::move(env),
                         st.cfg.hung_after};
      if (!st.cfg.workspaces) {
        launch(self, id, attempt, std::move(req));
        return;
      }
      // The workspace first: the process starts where it says (a worktree).
      task.prepared = true;
      self
        ->request(st.cfg.workspaces, workspace_timeout, prepare_atom_v, id,
                  spec)
        .then(
          [self, id, attempt, req](workspace_lease& lease) mutable {
            auto i = self->state.running.find(id);
            if (i == self->state.running.end()
                || i->second.attempt != attempt)
              return;
            if (i->second.cancelled) {
              end_attempt(self, id, attempt,
                          task_outcome{task_status::failed, -1, 0,
                                       "cancelled before it started"});
              return;
            }
            // A fresh copy, made on this thread: the launcher's thread frees
            // it, and memory handed over by a CAF message would look racy to
            // ThreadSanitizer (libcaf_core is not instrumented).
            launch_request fresh = req;
            fresh.workspace = lease.cwd;
            launch(self, id, attempt, std::move(fresh));
          },
          [self, id, attempt](caf::error& err) {
            auto i = self->state.running.find(id);
            if (i == self->state.running.end()
                || i->second.attempt != attempt)
              return;
            i->second.prepared = false;
            end_attempt(self, id, attempt,
                        task_outcome{task_status::failed, -1, 0,
                                     describe(err)});
          });
    },
    [self](adopt_atom, task_id id, uint32_t attempt, process_ref process,
           const std::string& log_path) -> bool {
      auto& st = self->state;
      if (auto i = st.running.find(id); i != st.running.end())
        return i->second.attempt == attempt;
      launch_request req;
      req.log_path = log_path;
      req.status_path = task_status_path(log_path, attempt);
      req.hung_after = st.cfg.hung_after;
      auto found = st.cfg.launcher->adopt(process, req,
                                          exit_reporter(self, id, attempt));
      if (found) {
        auto& task = st.running[id];
        task.attempt = attempt;
        task.log_path = log_path;
        task.process = process;
        // Its worktree (if any) outlived the node too: `conclude` finds it.
        task.prepared = static_cast<bool>(st.cfg.workspaces);
      }
      return found;
    },
    [self](watch_atom, task_id id, uint32_t attempt) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.attempt != attempt)
        return;
      auto& task = i->second;
      if (!task.stop_reason.empty())
        return;
      if (task.process.pid > 0) {
        auto bytes = read_from(task.log_path,
                               task.process.log_offset + task.watched);
        task.watched += bytes.size();
        if (auto why = task.watcher->feed(bytes); !why.empty()) {
          spdlog::info("agent {}: stopping task {}: {}", st.cfg.profile.name,
                       id, why);
          task.stop_reason = std::move(why);
          st.cfg.launcher->terminate(task.process, st.cfg.grace);
          return;
        }
      }
      self->delayed_send(self, watch_interval, watch_atom_v, id, attempt);
    },
    [self](cancel_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      if (i->second.process.pid > 0)
        st.cfg.launcher->terminate(i->second.process, st.cfg.grace);
      else
        i->second.cancelled = true;
    },
    [self](started_atom, task_id id, uint32_t attempt, process_ref process) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.attempt != attempt)
        return;
      i->second.process = process;
      if (i->second.cancelled)
        st.cfg.launcher->terminate(process, st.cfg.grace);
      self->send(st.cfg.scheduler, started_atom_v, id, attempt, process);
    },
    [self](finished_atom, task_id id, uint32_t attempt, task_outcome outcome) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.attempt != attempt)
        return;
      // A process that never started has no output to read.
      if (i->second.process.shim_pid != 0 || i->second.process.pid != 0)
        st.cfg.provider->conclude(i->second.log_path,
                                  i->second.process.log_offset, outcome);
      if (!i->second.stop_reason.empty()) {
        outcome.status = task_status::failed;
        outcome.reason = std::move(i->second.stop_reason);
      }
      end_attempt(self, id, attempt, std::move(outcome));
    },
  };
}

agent_actor::behavior_type noop_agent_impl(agent_actor::pointer self,
                                           scheduler_actor scheduler) {
  return {
    [self, scheduler](run_atom, task_id id, uint32_t attempt, const task_spec&,
                      const std::string&) {
      self->send(scheduler, started_atom_v, id, attempt, process_ref{});
      self->send(scheduler, finished_atom_v, id, attempt,
                 task_outcome{task_status::completed, 0, 0, ""});
    },
    [](cancel_atom, task_id) {},
    // In-process work does not outlive the node: nothing to adopt.
    [](adopt_atom, task_id, uint32_t, process_ref, const std::string&) {
      return false;
    },
    [](watch_atom, task_id, uint32_t) {},
    [](started_atom, task_id, uint32_t, process_ref) {},
    [](finished_atom, task_id, uint32_t, task_outcome) {},
  };
}

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg) {
  auto profile = cfg.profile;
  auto scheduler = cfg.scheduler;
  auto handle = sys.spawn(agent_impl, std::move(cfg));
  caf::anon_send(scheduler, register_atom_v, std::move(profile), handle);
  return handle;
}

agent_actor spawn_noop_agent(caf::actor_system& sys, agent_profile profile,
                             scheduler_actor scheduler) {
  profile.provider = "noop";
  auto handle = sys.spawn(noop_agent_impl, scheduler);
  caf::anon_send(scheduler, register_atom_v, std::move(profile), handle);
  return handle;
}

} // namespace cw::actors
