// A plugin that claims another API version: the node must refuse it before
// it calls `init`.

#include "runtime/plugin/api.hpp"

#include "messages/errc.hpp"

namespace {

caf::error init(cw::plugin::registrar&) {
  return cw::make_error(cw::errc::invalid_argument,
                        "init of a plugin of the wrong version was called");
}

} // namespace

#undef CW_PLUGIN_API_VERSION
#define CW_PLUGIN_API_VERSION 999

CW_PLUGIN("wrong-version", init)
