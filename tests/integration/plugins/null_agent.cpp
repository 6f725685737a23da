// A plugin whose provider cannot spawn agents: its factory returns no actor.

#include "runtime/plugin/api.hpp"

namespace {

caf::error init(cw::plugin::registrar& reg) {
  return reg.add_provider("null", [](caf::actor_system&,
                                     const cw::plugin::provider_context&) {
    return cw::agent_actor{};
  });
}

} // namespace

CW_PLUGIN("null-agent", init)
