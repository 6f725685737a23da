#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "messages/task.hpp"
#include "messages/workflow.hpp"

namespace cw::runtime {

/// Parses the body of `POST /v1/tasks` strictly: a JSON object with only
/// known fields of the right types. Errors name the field first
/// (`"argv: must be an array of strings"`).
caf::expected<task_spec> parse_task_spec(const std::string& body);

/// Parses the body of `POST /v1/workflows` strictly: `name`,
/// `failure_policy` (`fail_fast` or `continue`) and `tasks`, each a task as
/// for `POST /v1/tasks` plus `id` (a name) and `depends_on` (names). Errors
/// name the field, e.g. `"tasks[2].argv: must be an array of strings"`.
caf::expected<workflow_spec> parse_workflow_spec(const std::string& body);

/// Returns the JSON form of a workflow as the API shows it.
nlohmann::json to_json(const workflow_info& x);

/// Reads a workflow back from its API JSON form (used by clients).
caf::expected<workflow_info> workflow_from_json(const nlohmann::json& j);

/// Returns the JSON form of a task as the API shows it.
nlohmann::json to_json(const task_info& x);

/// Returns the JSON form of the scheduler's status.
nlohmann::json to_json(const scheduler_status& x);

/// Reads a task back from its API JSON form (used by clients).
caf::expected<task_info> task_from_json(const nlohmann::json& j);

/// Returns the JSON error body for `err`: `{"error", "message"[, "field"]}`.
std::string error_body(const caf::error& err, const std::string& rendered);

/// Returns the HTTP status that fits `err`.
unsigned http_status(const caf::error& err);

} // namespace cw::runtime
