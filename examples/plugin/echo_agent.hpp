#pragma once

#include "runtime/plugin/api.hpp"

namespace cw_example {

/// Spawns an agent of the `echo` provider: it completes each task at once,
/// writing the task's argv (or its prompt) as one line to the task's log.
cw::agent_actor spawn_echo_agent(caf::actor_system& sys,
                                 const cw::plugin::provider_context& ctx);

} // namespace cw_example
