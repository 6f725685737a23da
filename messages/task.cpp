#include "messages/task.hpp"
#include "messages/agent.hpp"
#include "messages/workflow.hpp"
#include "messages/workspace.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace cw {

namespace {

constexpr std::array<std::pair<task_status, const char*>, 7> status_names{{
  {task_status::blocked, "blocked"},
  {task_status::queued, "queued"},
  {task_status::running, "running"},
  {task_status::completed, "completed"},
  {task_status::failed, "failed"},
  {task_status::cancelled, "cancelled"},
  {task_status::parked, "parked"},
}};

/// Looks `x` up in a table of enumerators and names.
template <class Enum, size_t N>
std::string name_of(const std::array<std::pair<Enum, const char*>, N>& names,
                    Enum x) {
  for (auto& [value, name] : names)
    if (value == x)
      return name;
  return "unknown";
}

/// Looks `str` up in a table of enumerators and names.
template <class Enum, size_t N>
bool value_of(const std::array<std::pair<Enum, const char*>, N>& names,
              const std::string& str, Enum& x) {
  for (auto& [value, name] : names) {
    if (str == name) {
      x = value;
      return true;
    }
  }
  return false;
}

constexpr std::array<std::pair<workspace_isolation, const char*>, 2>
  isolation_names{{
    {workspace_isolation::shared, "shared"},
    {workspace_isolation::worktree, "worktree"},
  }};

constexpr std::array<std::pair<conflict_policy, const char*>, 2>
  conflict_policy_names{{
  {conflict_policy::warn, "warn"},
  {conflict_policy::lock, "lock"},
}};

constexpr std::array<std::pair<permission_mode, const char*>, 5>
  permission_names{{
    {permission_mode::unset, ""},
    {permission_mode::default_mode, "default"},
    {permission_mode::accept_edits, "acceptEdits"},
    {permission_mode::plan, "plan"},
    {permission_mode::bypass_permissions, "bypassPermissions"},
  }};

} // namespace

std::string to_string(permission_mode x) {
  return name_of(permission_names, x);
}

bool from_string(const std::string& str, permission_mode& x) {
  return value_of(permission_names, str, x);
}

std::string to_string(workspace_isolation x) {
  return name_of(isolation_names, x);
}

bool from_string(const std::string& str, workspace_isolation& x) {
  return value_of(isolation_names, str, x);
}

std::string to_string(conflict_policy x) {
  return name_of(conflict_policy_names, x);
}

bool from_string(const std::string& str, conflict_policy& x) {
  return value_of(conflict_policy_names, str, x);
}

lock_need parse_lock_need(const std::string& text) {
  for (auto [suffix, exclusive] : {std::pair{std::string_view{":shared"}, false},
                                   std::pair{std::string_view{":exclusive"},
                                             true}})
    if (text.size() >= suffix.size()
        && std::string_view{text}.substr(text.size() - suffix.size())
             == suffix)
      return {text.substr(0, text.size() - suffix.size()), exclusive};
  return {text, true};
}

std::string to_string(task_status x) {
  return name_of(status_names, x);
}

bool from_string(const std::string& str, task_status& x) {
  return value_of(status_names, str, x);
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
  return name_of(phase_names, x);
}

bool from_string(const std::string& str, scheduler_phase& x) {
  return value_of(phase_names, str, x);
}

namespace {

constexpr std::array<std::pair<failure_policy, const char*>, 2> policy_names{{
  {failure_policy::fail_fast, "fail_fast"},
  {failure_policy::continue_, "continue"},
}};

constexpr std::array<std::pair<workflow_status, const char*>, 4>
  workflow_status_names{{
    {workflow_status::running, "running"},
    {workflow_status::completed, "completed"},
    {workflow_status::failed, "failed"},
    {workflow_status::cancelled, "cancelled"},
  }};

} // namespace

namespace {

constexpr std::array<std::pair<placement_strategy, const char*>, 5>
  strategy_names{{
    {placement_strategy::least_loaded, "least_loaded"},
    {placement_strategy::round_robin, "round_robin"},
    {placement_strategy::capability_match, "capability_match"},
    {placement_strategy::random, "random"},
    {placement_strategy::weighted, "weighted"},
  }};

} // namespace

std::string to_string(placement_strategy x) {
  return name_of(strategy_names, x);
}

bool from_string(const std::string& str, placement_strategy& x) {
  return value_of(strategy_names, str, x);
}

std::string to_string(failure_policy x) {
  return name_of(policy_names, x);
}

bool from_string(const std::string& str, failure_policy& x) {
  return value_of(policy_names, str, x);
}

std::string to_string(workflow_status x) {
  return name_of(workflow_status_names, x);
}

bool from_string(const std::string& str, workflow_status& x) {
  return value_of(workflow_status_names, str, x);
}

} // namespace cw
