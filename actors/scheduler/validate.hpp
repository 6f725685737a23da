#pragma once

#include <string>
#include <string_view>

#include "caf/error.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// Checks the parts of a submitted spec that need no knowledge of agents or
/// other tasks, and fills defaults: an empty workspace becomes
/// `default_workspace`. Returns `invalid_argument` with a message that starts
/// with the offending field's name.
caf::error validate(task_spec& spec, const std::string& default_workspace,
                    size_t max_prompt_bytes = task_limits::max_prompt_bytes);

/// Checks a name the claude CLI may get as an argument (a model, a tool
/// rule, a session id) or that keys sessions: at most
/// `task_limits::max_name_bytes`, no control characters, and unless
/// `dash_ok` not starting with `-` (the CLI would take it for an option).
/// Returns `invalid_argument` naming `field`, or no error.
caf::error validate_name(std::string_view field, const std::string& value,
                         bool dash_ok = false);

/// Returns whether `name` can name an environment variable: letters,
/// digits and `_`, not starting with a digit, at most
/// `task_limits::max_name_bytes`.
bool is_variable_name(std::string_view name);

} // namespace cw::actors
