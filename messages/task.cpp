#include "messages/task.hpp"

#include <array>
#include <utility>

namespace cw {

namespace {

constexpr std::array<std::pair<task_status, const char*>, 6> status_names{{
  {task_status::blocked, "blocked"},
  {task_status::queued, "queued"},
  {task_status::running, "running"},
  {task_status::completed, "completed"},
  {task_status::failed, "failed"},
  {task_status::cancelled, "cancelled"},
}};

} // namespace

std::string to_string(task_status x) {
  for (auto& [status, name] : status_names)
    if (status == x)
      return name;
  return "unknown";
}

bool from_string(const std::string& str, task_status& x) {
  for (auto& [status, name] : status_names) {
    if (str == name) {
      x = status;
      return true;
    }
  }
  return false;
}

bool is_terminal(task_status x) {
  return x == task_status::completed || x == task_status::failed
         || x == task_status::cancelled;
}

namespace {

constexpr std::array<std::pair<scheduler_phase, const char*>, 5> phase_names{{
  {scheduler_phase::idle, "idle"},
  {scheduler_phase::running, "running"},
  {scheduler_phase::paused, "paused"},
  {scheduler_phase::stopping, "stopping"},
  {scheduler_phase::stopped, "stopped"},
}};

} // namespace

std::string to_string(scheduler_phase x) {
  for (auto& [phase, name] : phase_names)
    if (phase == x)
      return name;
  return "unknown";
}

bool from_string(const std::string& str, scheduler_phase& x) {
  for (auto& [phase, name] : phase_names) {
    if (str == name) {
      x = phase;
      return true;
    }
  }
  return false;
}

} // namespace cw
