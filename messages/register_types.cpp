#include "messages/register_types.hpp"

#include "caf/actor_system_config.hpp"

#include "messages/errc.hpp"
#include "messages/interfaces.hpp"
#include "messages/type_ids.hpp"

namespace cw {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::cw>();
  cfg.add_message_type<agent_actor>("cw.agent_actor");
  cfg.add_error_category(caf::atom("cw"), render_error);
}

} // namespace cw
