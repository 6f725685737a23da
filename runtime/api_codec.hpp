#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "caf/error.hpp"
#include "caf/expected.hpp"

#include "messages/agent.hpp"
#include "messages/locks.hpp"
#include "messages/session.hpp"
#include "messages/task.hpp"
#include "messages/workflow.hpp"
#include "messages/workspace.hpp"

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

/// Returns the JSON form of a session as the API shows it.
nlohmann::json to_json(const session_info& x);

/// Reads a session back from its API JSON form (used by clients).
caf::expected<session_info> session_from_json(const nlohmann::json& j);

/// Parses the body of `POST /v1/sessions`: `provider` (default `claude`),
/// `pool` and `resume_key`, all strings. Errors name the field.
caf::expected<session_command_spec> parse_session_open(const std::string& body);

/// Returns the JSON form of a task as the API shows it.
nlohmann::json to_json(const task_info& x);

/// Returns the JSON form of the scheduler's status.
nlohmann::json to_json(const scheduler_status& x);

/// Reads a task back from its API JSON form (used by clients).
caf::expected<task_info> task_from_json(const nlohmann::json& j);

/// Returns the JSON forms of tokens and of money with tokens, and reads
/// them back (missing parts are 0).
nlohmann::json to_json(const token_counts& x);
token_counts tokens_from_json(const nlohmann::json& j);
nlohmann::json to_json(const cost_figures& x);
cost_figures figures_from_json(const nlohmann::json& j);

/// Returns the JSON form of a usage-limit hold.
nlohmann::json to_json(const limit_hold& x);

/// Returns the JSON form of the cost ledger (`GET /v1/costs`): days as
/// `YYYY-MM-DD` (UTC), newest first; and reads it back.
nlohmann::json to_json(const cost_report& x);
caf::expected<cost_report> cost_report_from_json(const nlohmann::json& j);

/// Returns UTC day `day` (days since 1970-01-01) as `YYYY-MM-DD`, and reads
/// such a date back (nothing when it is not one).
std::string format_day(int64_t day);
std::optional<int64_t> parse_day(const std::string& text);

/// Returns the JSON error body for `err`: `{"error", "message"[, "field"]}`.
std::string error_body(const caf::error& err, const std::string& rendered);

/// Returns the HTTP status that fits `err`.
unsigned http_status(const caf::error& err);

// -- locks --------------------------------------------------------------------

/// The default `timeout_ms` of `POST /v1/locks/acquire`.
constexpr int64_t default_lock_timeout_ms = 30'000;

/// The body of `POST /v1/locks/release`.
struct lock_release_spec {
  std::string owner;
  std::string resource;
};

/// Parses the body of `POST /v1/locks/acquire` strictly: `owner` and
/// `resource` (non-empty strings, required), `mode` (`"exclusive"`, the
/// default, or `"shared"`), `priority` (an integer) and `timeout_ms` (0 to
/// `max_lock_wait_ms`, default `default_lock_timeout_ms`). Errors name the
/// field first (`mode: must be "exclusive" or "shared"`).
caf::expected<lock_spec> parse_lock_spec(const std::string& body);

/// Parses the body of `POST /v1/locks/release` strictly: `owner` and
/// `resource`, both required non-empty strings.
caf::expected<lock_release_spec> parse_lock_release(const std::string& body);

/// Returns the JSON form of a grant:
/// `{"request", "owner", "resource", "mode", "waited_ms"}`.
nlohmann::json to_json(const lock_grant& x);

/// Returns the JSON form of a lock held: `{"owner", "resource", "mode"}`.
nlohmann::json to_json(const lock_holder_view& x);

/// Returns the JSON form of a waiting request: `{"request", "owner",
/// "resource", "mode", "priority", "waited_ms", "expires_in_ms"}`.
nlohmann::json to_json(const lock_waiter_view& x);

/// Returns the JSON form of a listing: `{"holders": [...], "waiters": [...]}`.
nlohmann::json to_json(const lock_listing& x);

/// Returns `{"agents": [{"name", "pool", "provider", "capabilities", "load",
/// "max_load", "weight", "tasks"}], "breakers": [{"provider", "state",
/// "failures", "retry_at_ms"}]}`.
nlohmann::json to_json(const agent_listing& x);

/// Parses `POST /v1/workspaces`: `path` (required, absolute), `name`,
/// `isolation` (`shared`, `worktree`), `base`, `conflict_policy` (`warn`,
/// `lock`), `ignore` (patterns). Errors: `invalid_argument` naming the field.
caf::expected<workspace_info> parse_workspace_add(const std::string& body);

/// Parses `POST /v1/workspaces/prune` (an empty body prunes everything):
/// `workspace`, `delete_branches`. Errors: `invalid_argument` naming the
/// field.
caf::expected<prune_spec> parse_prune_spec(const std::string& body);

/// JSON form of a workspace, its worktrees and the tasks running in it.
nlohmann::json to_json(const workspace_info& x);

/// Returns why a lock request was refused, from its error: `"deadlock"`,
/// `"timeout"`, `"cancelled"`, or an empty string for other errors.
std::string lock_refusal_reason(const caf::error& err);

} // namespace cw::runtime
