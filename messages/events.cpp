#include "messages/events.hpp"

namespace cw {

uint64_t subject(const task_event& x) {
  return std::visit([](const auto& ev) { return ev.id; }, x);
}

bool is_workflow_event(const task_event& x) {
  return std::holds_alternative<workflow_submitted>(x)
         || std::holds_alternative<workflow_finished>(x);
}

std::string entity_of(const task_event& x) {
  return (is_workflow_event(x) ? "workflow/" : "task/")
         + std::to_string(subject(x));
}

} // namespace cw
