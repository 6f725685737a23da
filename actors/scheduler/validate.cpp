#include "actors/scheduler/validate.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include "messages/errc.hpp"

namespace cw::actors {

bool is_variable_name(std::string_view name) {
  auto bad_char = [](char c) {
    return !(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
             || (c >= '0' && c <= '9'));
  };
  return !name.empty() && name.size() <= task_limits::max_name_bytes
         && !(name.front() >= '0' && name.front() <= '9')
         && std::none_of(name.begin(), name.end(), bad_char);
}

caf::error validate_name(std::string_view field, const std::string& value,
                         bool dash_ok) {
  auto invalid = [field](std::string_view what) {
    return make_error(errc::invalid_argument,
                      std::string{field} + ": " + std::string{what});
  };
  if (value.size() > task_limits::max_name_bytes)
    return invalid("longer than " + std::to_string(task_limits::max_name_bytes)
                   + " bytes");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f)
      return invalid("must not contain control characters");
  if (!dash_ok && !value.empty() && value.front() == '-')
    return invalid("must not start with '-'");
  return {};
}

caf::error validate(task_spec& spec, const std::string& default_workspace,
                    size_t max_prompt_bytes) {
  auto invalid = [](std::string msg) {
    return make_error(errc::invalid_argument, std::move(msg));
  };
  if (spec.provider == "command"
      && (spec.argv.empty() || spec.argv.front().empty()))
    return invalid("argv: the command provider needs a program to run");
  if (spec.argv.size() > task_limits::max_argv)
    return invalid("argv: more than " + std::to_string(task_limits::max_argv)
                   + " arguments");
  if (spec.prompt.size() > max_prompt_bytes)
    return invalid("prompt: longer than " + std::to_string(max_prompt_bytes)
                   + " bytes (max_prompt_bytes)");
  if (spec.provider == "claude") {
    if (spec.prompt.empty())
      return invalid("prompt: the claude provider needs a prompt");
    if (spec.prompt.front() == '-')
      return invalid("prompt: must not start with '-' (the claude CLI would "
                     "read it as an option)");
  }
  if (spec.provider != "claude") {
    if (spec.permissions != permission_mode::unset)
      return invalid("permission_mode: only tasks of the claude provider "
                     "take one");
    if (!spec.allowed_tools.empty())
      return invalid("allowed_tools: only tasks of the claude provider take "
                     "them");
  }
  if (spec.allowed_tools.size() > task_limits::max_allowed_tools)
    return invalid("allowed_tools: more than "
                   + std::to_string(task_limits::max_allowed_tools));
  for (auto [field, value] :
       {std::pair<std::string_view, const std::string*>{"resume_key",
                                                        &spec.resume_key},
        {"resume_session", &spec.resume_session},
        {"model", &spec.model}})
    // A key never reaches the CLI.
    if (auto err = validate_name(field, *value, field == "resume_key"))
      return err;
  for (size_t i = 0; i < spec.allowed_tools.size(); ++i) {
    auto field = "allowed_tools[" + std::to_string(i) + "]";
    if (spec.allowed_tools[i].empty())
      return invalid(field + ": must not be empty");
    if (auto err = validate_name(field, spec.allowed_tools[i]))
      return err;
  }
  if (spec.new_session && spec.provider != "claude")
    return invalid("new_session: only tasks of the claude provider run in "
                   "sessions");
  if (spec.new_session && !spec.resume_session.empty())
    return invalid("new_session: cannot start a new session and continue "
                   "resume_session at once");
  if (spec.max_turns > task_limits::max_turns)
    return invalid("max_turns: must be from 0 (the pool's) to "
                   + std::to_string(task_limits::max_turns));
  if (!(spec.budget_usd >= 0) || spec.budget_usd > task_limits::max_budget_usd)
    return invalid("budget_usd: must be a number of USD from 0 (none) to "
                   + std::to_string(
                     static_cast<int64_t>(task_limits::max_budget_usd)));
  if (spec.locks.size() > task_limits::max_locks)
    return invalid("locks: more than " + std::to_string(task_limits::max_locks));
  for (size_t i = 0; i < spec.locks.size(); ++i) {
    auto need = parse_lock_need(spec.locks[i]);
    auto field = "locks[" + std::to_string(i) + "]";
    if (need.resource.empty())
      return invalid(field + ": names no resource");
    if (need.resource.size() > task_limits::max_lock_name_bytes)
      return invalid(field + ": longer than "
                     + std::to_string(task_limits::max_lock_name_bytes)
                     + " bytes");
    for (unsigned char c : need.resource)
      if (c < 0x20 || c == 0x7f)
        return invalid(field + ": must not contain control characters");
    for (size_t j = 0; j < i; ++j)
      if (parse_lock_need(spec.locks[j]).resource == need.resource)
        return invalid(field + ": '" + need.resource.substr(0, 64)
                       + "' is named twice");
  }
  if (spec.capabilities.size() > task_limits::max_capabilities)
    return invalid("capabilities: more than "
                   + std::to_string(task_limits::max_capabilities));
  for (auto* name : {&spec.pool, &spec.required_agent})
    if (name->size() > task_limits::max_name_bytes)
      return invalid(std::string{name == &spec.pool ? "pool" : "required_agent"}
                     + ": longer than "
                     + std::to_string(task_limits::max_name_bytes) + " bytes");
  if (spec.env.size() > task_limits::max_env)
    return invalid("env: more than " + std::to_string(task_limits::max_env)
                   + " variables");
  for (auto& [name, value] : spec.env) {
    if (!is_variable_name(name))
      return invalid("env: '" + name.substr(0, 64)
                     + "' is not a variable name (letters, digits, _; not "
                       "starting with a digit)");
    if (value.size() > task_limits::max_env_value_bytes
        || value.find('\0') != std::string::npos)
      return invalid("env." + name + ": longer than "
                     + std::to_string(task_limits::max_env_value_bytes)
                     + " bytes or holds a NUL byte");
  }
  if (spec.priority < task_limits::min_priority
      || spec.priority > task_limits::max_priority)
    return invalid("priority: must be between "
                   + std::to_string(task_limits::min_priority) + " and "
                   + std::to_string(task_limits::max_priority));
  const auto& r = spec.retry;
  if (r.max_attempts < 1 || r.max_attempts > task_limits::max_attempts)
    return invalid("retry.max_attempts: must be from 1 to "
                   + std::to_string(task_limits::max_attempts));
  if (r.base_delay_ms < 0 || r.base_delay_ms > task_limits::max_delay_ms)
    return invalid("retry.base_delay_ms: must be from 0 to "
                   + std::to_string(task_limits::max_delay_ms));
  if (r.max_delay_ms < r.base_delay_ms || r.max_delay_ms > task_limits::max_delay_ms)
    return invalid("retry.max_delay_ms: must be from base_delay_ms to "
                   + std::to_string(task_limits::max_delay_ms));
  if (!(r.factor >= 1.0 && r.factor <= task_limits::max_factor))
    return invalid("retry.factor: must be from 1 to "
                   + std::to_string(static_cast<int>(task_limits::max_factor)));
  if (!(r.jitter >= 0.0 && r.jitter <= 1.0))
    return invalid("retry.jitter: must be from 0 to 1");
  if (spec.timeout_ms < 0 || spec.timeout_ms > task_limits::max_timeout_ms)
    return invalid("timeout_ms: must be from 0 (none) to "
                   + std::to_string(task_limits::max_timeout_ms));
  if (spec.depends_on.size() > 1000)
    return invalid("depends_on: more than 1000 dependencies");
  if (spec.run_at_ms < 0)
    return invalid("run_at_ms: must not be negative");
  if (spec.workspace.empty())
    spec.workspace = default_workspace;
  std::filesystem::path ws{spec.workspace};
  if (!ws.is_absolute())
    return invalid("workspace: must be an absolute path, got '"
                   + spec.workspace + "'");
  std::error_code ec;
  if (!std::filesystem::is_directory(ws, ec))
    return invalid("workspace: '" + spec.workspace + "' is not a directory");
  return {};
}

} // namespace cw::actors
