#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "caf/expected.hpp"

#include "messages/events.hpp"
#include "messages/locks.hpp"
#include "messages/task.hpp"
#include "messages/workspace.hpp"

namespace cw::persistence {

/// Returns the envelope of a typed event: type, version, entity and JSON
/// payload filled in; seq and checksum are left to the journal.
event encode(const task_event& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a scheduler life-cycle change.
event encode(const scheduler_phase_changed& x, int64_t time_ms,
             const std::string& node);

/// Returns the envelope of a lock grant (`lock.acquired@1`, entity
/// `lock/<resource>`).
event encode(const lock_acquired& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a lock release (`lock.released@1`).
event encode(const lock_released& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a refused lock request (`lock.refused@1`).
event encode(const lock_refused& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a broken deadlock (`lock.deadlock@1`, entity
/// `lock/<victim resource>`), naming the cycle.
event encode(const lock_deadlock& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a supervisor's report (`supervisor.<what>@1`).
event encode(const supervisor_event& x, int64_t time_ms,
             const std::string& node);

/// Returns the envelope of a breaker's change (`provider.breaker@1`).
event encode(const breaker_changed& x, int64_t time_ms, const std::string& node);

/// Returns the envelope of a workspace event (`workspace.<what>@1`, entity
/// `workspace/<name>`).
event encode(const workspace_event& x, int64_t time_ms, const std::string& node);

/// Returns whether events of type `type` are workspace events.
bool is_workspace_type(const std::string& type);

/// Returns the workspace event stored in `x`. Errors: `journal_corrupt`.
caf::expected<workspace_event> decode_workspace_event(const event& x);

/// Returns the life-cycle change stored in `x` (`scheduler.phase_changed`).
/// Errors: `journal_corrupt`.
caf::expected<scheduler_phase_changed> decode_phase_changed(const event& x);

/// Returns whether events of type `type` belong to the task fold (`task.*`
/// and `workflow.*`), i.e. whether `decode` reads them.
bool is_task_fold_type(const std::string& type);

/// Returns the typed event stored in `x`, upcasting older versions.
/// Errors: `journal_corrupt` for unknown types, versions or payloads.
caf::expected<task_event> decode(const event& x);

/// JSON form of a retry policy.
void to_json(nlohmann::json& j, const retry_policy& x);

/// JSON form of a task spec, shared by events and the HTTP API.
void to_json(nlohmann::json& j, const task_spec& x);

/// JSON form of a process outcome.
void to_json(nlohmann::json& j, const task_outcome& x);

/// Writes what a task did to its workspace.
void to_json(nlohmann::json& j, const workspace_report& x);

/// Reads what `to_json` wrote; absent fields keep their defaults.
void from_json(const nlohmann::json& j, workspace_report& x);

/// JSON form of a workspace (registry fields and views).
void to_json(nlohmann::json& j, const workspace_info& x);

/// JSON form of a task's worktree.
void to_json(nlohmann::json& j, const worktree_entry& x);

/// JSON array of worktrees, each as above.
void to_json(nlohmann::json& j, const std::vector<worktree_entry>& xs);

/// Writes the report of a prompt-driven run (`limit` only when hit).
void to_json(nlohmann::json& j, const run_report& x);

/// Reads what `to_json` wrote; absent fields keep their defaults.
void from_json(const nlohmann::json& j, run_report& x);

} // namespace cw::persistence
