#include "actors/agent/agent.hpp"

#include <cstdlib>
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

struct agent_state {
  agent_config cfg;
  task_id task = 0;
  uint32_t attempt = 0;
  int64_t pid = 0;

  static inline const char* name = "cw.agent";
};

using self_ptr = agent_actor::stateful_pointer<agent_state>;

agent_actor::behavior_type agent_impl(self_ptr self, agent_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](run_atom, task_id id, uint32_t attempt, const task_spec& spec,
           const std::string& log_path) {
      auto& st = self->state;
      if (st.task != 0) {
        self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
                   task_outcome{task_status::failed, -1, 0,
                                "agent " + st.cfg.name + " is busy"});
        return;
      }
      st.task = id;
      st.attempt = attempt;
      st.pid = 0;
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
      if (st.task == id && st.pid > 0)
        st.cfg.launcher->terminate(st.pid, st.cfg.grace);
    },
    [self](started_atom, task_id id, uint32_t attempt, int64_t pid) {
      auto& st = self->state;
      if (st.task != id || st.attempt != attempt)
        return;
      st.pid = pid;
      self->send(st.cfg.scheduler, started_atom_v, id, attempt, pid);
    },
    [self](finished_atom, task_id id, uint32_t attempt, task_outcome outcome) {
      auto& st = self->state;
      if (st.task != id || st.attempt != attempt)
        return;
      st.task = 0;
      st.pid = 0;
      self->send(st.cfg.scheduler, finished_atom_v, id, attempt,
                 std::move(outcome));
    },
  };
}

} // namespace

agent_actor spawn_agent(caf::actor_system& sys, agent_config cfg) {
  auto name = cfg.name;
  auto scheduler = cfg.scheduler;
  auto handle = sys.spawn(agent_impl, std::move(cfg));
  caf::anon_send(scheduler, register_atom_v, std::move(name), handle);
  return handle;
}

} // namespace cw::actors
