#include "actors/agent/agent.hpp"

#include <cstdlib>
#include <map>
#include <sys/wait.h>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "actors/agent/process_launcher.hpp"

namespace cw::actors {

process_launcher::~process_launcher() = default;

task_outcome outcome_from_wait_status(int status) {
  task_outcome result;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    if (result.exit_code == 0) {
      result.status = task_status::completed;
    } else {
      result.status = task_status::failed;
      result.reason = "exit code " + std::to_string(result.exit_code);
    }
  } else if (WIFSIGNALED(status)) {
    result.status = task_status::failed;
    result.signal = WTERMSIG(status);
    result.reason = "killed by signal " + std::to_string(result.signal);
  } else {
    result.status = task_status::failed;
    result.reason = "ended with wait status " + std::to_string(status);
  }
  return result;
}

std::string task_log_path(const std::string& log_dir, task_id id) {
  return log_dir + "/" + std::to_string(id) + ".log";
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
  int64_t pid = 0;
  /// Cancelled before its process reported its pid: stop it once it does.
  bool cancelled = false;
};

struct agent_state {
  agent_config cfg;
  std::map<task_id, running_task> running;

  static inline const char* name = "cw.agent";
};

using self_ptr = agent_actor::stateful_pointer<agent_state>;

agent_actor::behavior_type agent_impl(self_ptr self, agent_config cfg) {
  self->state.cfg = std::move(cfg);
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
      st.running.emplace(id, running_task{attempt, 0});
      auto me = caf::actor_cast<agent_actor>(self);
      launch_request req{spec.argv, spec.workspace, log_path,
                         agent_environment()};
      st.cfg.launcher->launch(
        std::move(req),
        [me, id, attempt](int64_t pid) {
          caf::anon_send(me, started_atom_v, id, attempt, pid);
        },
        [me, id, attempt](task_outcome outcome) {
          caf::anon_send(me, finished_atom_v, id, attempt, std::move(outcome));
        });
    },
    [self](cancel_atom, task_id id) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end())
        return;
      if (i->second.pid > 0)
        st.cfg.launcher->terminate(i->second.pid, st.cfg.grace);
      else
        i->second.cancelled = true;
    },
    [self](started_atom, task_id id, uint32_t attempt, int64_t pid) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.attempt != attempt)
        return;
      i->second.pid = pid;
      if (i->second.cancelled)
        st.cfg.launcher->terminate(pid, st.cfg.grace);
      self->send(st.cfg.scheduler, started_atom_v, id, attempt, pid);
    },
    [self](finished_atom, task_id id, uint32_t attempt, task_outcome outcome) {
      auto& st = self->state;
      auto i = st.running.find(id);
      if (i == st.running.end() || i->second.attempt != attempt)
        return;
      st.running.erase(i);
      self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
                 std::move(outcome));
    },
  };
}

agent_actor::behavior_type noop_agent_impl(agent_actor::pointer self,
                                           scheduler_actor scheduler) {
  return {
    [self, scheduler](run_atom, task_id id, uint32_t attempt, const task_spec&,
                      const std::string&) {
      self->send(scheduler, started_atom_v, id, attempt, int64_t{0});
      self->send(scheduler, finished_atom_v, id, attempt,
                 task_outcome{task_status::completed, 0, 0, ""});
    },
    [](cancel_atom, task_id) {},
    [](started_atom, task_id, uint32_t, int64_t) {},
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
