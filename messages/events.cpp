#include "messages/events.hpp"

namespace cw {

task_id subject(const task_event& x) {
  return std::visit([](const auto& ev) { return ev.id; }, x);
}

} // namespace cw
