#include "messages/events.hpp"

namespace cw {

uint64_t subject(const task_event& x) {
  return std::visit([](const auto& ev) { return ev.id; }, x);
}

bool is_workflow_event(const task_event& x) {
  return std::holds_alternative<workflow_submitted>(x)
         || std::holds_alternative<workflow_finished>(x);
}

bool is_session_event(const task_event& x) {
  return std::holds_alternative<session_changed>(x);
}

bool is_limit_event(const task_event& x) {
  return std::holds_alternative<limit_changed>(x);
}

std::string entity_of(const task_event& x) {
  if (auto hold = std::get_if<limit_changed>(&x))
    return "limit/" + hold->provider + "/"
           + (hold->account.empty() ? "default" : hold->account);
  return (is_workflow_event(x)  ? "workflow/"
          : is_session_event(x) ? "session/"
                                : "task/")
         + std::to_string(subject(x));
}

} // namespace cw
