#pragma once

#include <string>

#include "caf/error.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// Checks the parts of a submitted spec that need no knowledge of agents or
/// other tasks, and fills defaults: an empty workspace becomes
/// `default_workspace`. Returns `invalid_argument` with a message that starts
/// with the offending field's name.
caf::error validate(task_spec& spec, const std::string& default_workspace,
                    size_t max_prompt_bytes = task_limits::max_prompt_bytes);

} // namespace cw::actors
