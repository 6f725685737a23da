#pragma once

#include "caf/fwd.hpp"

namespace cw {

/// Registers every cw message type and the `cw` error category with `cfg`.
/// Every node calls it, so the same names cross the network.
void register_types(caf::actor_system_config& cfg);

} // namespace cw
