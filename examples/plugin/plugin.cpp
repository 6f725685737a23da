// The plugin's entry point: registers its provider and its observer.

#include "echo_agent.hpp"
#include "event_log.hpp"

namespace {

caf::error init(cw::plugin::registrar& reg) {
  if (auto err = reg.add_provider("echo", cw_example::spawn_echo_agent))
    return err;
  return reg.add_observer("event-log", cw_example::spawn_event_log);
}

} // namespace

CW_PLUGIN("cw-example", init)
