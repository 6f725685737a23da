// A plugin that registers a provider under a built-in name.

#include "runtime/plugin/api.hpp"

namespace {

caf::error init(cw::plugin::registrar& reg) {
  return reg.add_provider("command",
                          [](caf::actor_system&,
                             const cw::plugin::provider_context&) {
                            return cw::agent_actor{};
                          });
}

} // namespace

CW_PLUGIN("duplicate", init)
