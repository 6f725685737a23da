#include "echo_agent.hpp"

#include <fstream>

#include "caf/actor_system.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace cw_example {

namespace {

cw::agent_actor::behavior_type echo_agent(cw::agent_actor::pointer self,
                                          cw::scheduler_actor scheduler) {
  return {
    [self, scheduler](cw::run_atom, cw::task_id id, uint32_t attempt,
                      const cw::task_spec& spec, const std::string& log_path) {
      // An agent reports `started` (with its process; none here) and then
      // `finished` for every task the scheduler hands it.
      self->send(scheduler, cw::started_atom_v, id, attempt,
                 cw::process_ref{});
      std::string line;
      for (auto& arg : spec.argv)
        line += (line.empty() ? "" : " ") + arg;
      if (spec.argv.empty())
        line = spec.prompt;
      cw::task_outcome outcome;
      // A small write; an agent with real I/O would run it off the
      // scheduler threads (a detached actor or the process launcher).
      std::ofstream out{log_path, std::ios::app};
      out << line << '\n';
      out.close();
      if (out) {
        outcome.status = cw::task_status::completed;
        outcome.exit_code = 0;
      } else {
        outcome.status = cw::task_status::failed;
        outcome.reason = "cannot write " + log_path;
      }
      self->send(scheduler, cw::finished_atom_v, id, attempt,
                 std::move(outcome));
    },
    // Nothing runs long enough to be cancelled.
    [](cw::cancel_atom, cw::task_id) {},
    // No work outlives the node, so there is nothing to take over after a
    // restart: the task may run again.
    [](cw::adopt_atom, cw::task_id, uint32_t, cw::process_ref,
       const std::string&) { return false; },
    // A process agent's watch timer and its launcher's reports; this agent
    // has neither.
    [](cw::watch_atom, cw::task_id, uint32_t) {},
    [](cw::started_atom, cw::task_id, uint32_t, cw::process_ref) {},
    [](cw::finished_atom, cw::task_id, uint32_t, cw::task_outcome) {},
  };
}

} // namespace

cw::agent_actor spawn_echo_agent(caf::actor_system& sys,
                                 const cw::plugin::provider_context& ctx) {
  return sys.spawn(echo_agent, ctx.scheduler);
}

} // namespace cw_example
