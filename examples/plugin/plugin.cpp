// The plugin's entry point: registers its provider, the check of its pools'
// options, and its observer.

#include "echo_agent.hpp"
#include "event_log.hpp"

#include "messages/errc.hpp"

namespace {

/// The echo provider reads no `[pools.NAME.options]`: any is a mistake.
caf::error check_echo_options(const std::map<std::string, std::string>& options) {
  if (options.empty())
    return {};
  return cw::make_error(cw::errc::invalid_argument,
                        "the echo provider takes no options (got "
                          + options.begin()->first + ")");
}

caf::error init(cw::plugin::registrar& reg) {
  if (auto err = reg.add_provider("echo", cw_example::spawn_echo_agent))
    return err;
  if (auto err = reg.add_options_check("echo", check_echo_options))
    return err;
  return reg.add_observer("event-log", cw_example::spawn_event_log);
}

} // namespace

CW_PLUGIN("cw-example", init)
