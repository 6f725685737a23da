#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/task.hpp"

namespace cw {

/// Identifies a session within a node, starting at 1.
using session_id = uint64_t;

/// Where a session is in its life.
enum class session_state : uint8_t {
  /// Open and free to take a task.
  idle,
  /// Running a task.
  busy,
  /// Held by a client: takes no new task (a running one may finish).
  paused,
  /// Gone for good.
  closed,
};

/// Returns `"idle"`, `"busy"`, `"paused"` or `"closed"`.
std::string to_string(session_state x);

/// A conversation that outlives one task.
struct session_info {
  session_id id = 0;
  std::string provider;
  std::string pool;
  session_state state = session_state::idle;
  /// The provider's own session id (for `claude --resume`), learned from the
  /// stream of the first task; empty until then.
  std::string cli_session_id;
  /// The task running now (0: none); also set while paused if the task
  /// still runs.
  task_id current_task = 0;
  /// Every task the session ran, oldest first.
  std::vector<task_id> tasks;
  uint32_t turns = 0;
  double cost_usd = 0;
  /// Tokens its tasks' runs used.
  token_counts tokens;
  int64_t created_ms = 0;
  /// When the session last took, finished or resumed a task.
  int64_t last_active_ms = 0;
  /// The resume key bound to it, if any.
  std::string resume_key;
  /// The directory its conversation belongs to (the CLI keeps conversations
  /// per project directory): the workspace of its first task; empty until
  /// then.
  std::string workspace = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_info& x) {
  return f(caf::meta::type_name("cw.session_info"), x.id, x.provider, x.pool,
           x.state, x.cli_session_id, x.current_task, x.tasks, x.turns,
           x.cost_usd, x.tokens, x.created_ms, x.last_active_ms,
           x.resume_key, x.workspace);
}

/// What a client asks of sessions: `open` (with provider, pool and an
/// optional key), `pause`, `resume` or `close` (with the session's id).
struct session_command_spec {
  std::string what;
  session_id id = 0;
  std::string provider;
  std::string pool;
  std::string resume_key;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_command_spec& x) {
  return f(caf::meta::type_name("cw.session_command_spec"), x.what, x.id,
           x.provider, x.pool, x.resume_key);
}

} // namespace cw
