#pragma once

#include "runtime/plugin/api.hpp"

namespace cw_example {

/// Spawns the `event-log` observer: it appends one line per committed
/// journal event, `SEQ TYPE ENTITY`, to `<data_dir>/event-log.txt`.
cw::observer_actor spawn_event_log(caf::actor_system& sys,
                                   const cw::plugin::observer_context& ctx);

} // namespace cw_example
