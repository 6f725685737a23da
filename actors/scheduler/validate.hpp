#pragma once

#include <string>

#include "caf/error.hpp"

#include "messages/task.hpp"

namespace cw::actors {

/// Checks a submitted spec and fills defaults: an empty workspace becomes
/// `default_workspace`. Returns `invalid_argument` or `unknown_provider` with
/// a message that starts with the offending field's name.
caf::error validate(task_spec& spec, const std::string& default_workspace);

} // namespace cw::actors
