#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/boxed.hpp"

namespace cw {

/// Identifies a task on its node; assigned by the scheduler, starting at 1.
using task_id = uint64_t;

/// The life-cycle states of a task.
enum class task_status : uint8_t {
  /// Waits for dependencies.
  blocked,
  /// Waits for an agent.
  queued,
  /// Assigned to an agent that runs it.
  running,
  /// Ended successfully.
  completed,
  /// Ended unsuccessfully.
  failed,
  /// Cancelled before it ended.
  cancelled,
  /// Its provider hit a usage or rate limit: waits for the reset without
  /// using up an attempt, then continues.
  parked,
};

/// Returns the lower-case name of `x`, e.g. `"queued"`.
std::string to_string(task_status x);

/// Parses a status name; returns false if `str` names none.
bool from_string(const std::string& str, task_status& x);

/// Returns whether a task in state `x` has ended for good.
bool is_terminal(task_status x);

/// The claude CLI's `--permission-mode` for a task; `unset` takes the
/// pool's.
enum class permission_mode : uint8_t {
  unset,
  default_mode,
  accept_edits,
  plan,
  bypass_permissions,
};

/// Returns the CLI's name of `x` (`default`, `acceptEdits`, `plan`,
/// `bypassPermissions`), empty for `unset`.
std::string to_string(permission_mode x);

/// Parses a CLI name; returns false if `str` names none (the empty string
/// is `unset`).
bool from_string(const std::string& str, permission_mode& x);

/// Tokens a prompt-driven run used, or a sum of such runs.
struct token_counts {
  uint64_t input = 0;
  uint64_t output = 0;
  uint64_t cache_read = 0;
  uint64_t cache_creation = 0;

  bool empty() const noexcept {
    return input == 0 && output == 0 && cache_read == 0 && cache_creation == 0;
  }

  token_counts& operator+=(const token_counts& x) noexcept {
    input += x.input;
    output += x.output;
    cache_read += x.cache_read;
    cache_creation += x.cache_creation;
    return *this;
  }

  friend bool operator==(const token_counts&, const token_counts&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_counts& x) {
  return f(caf::meta::type_name("cw.token_counts"), x.input, x.output,
           x.cache_read, x.cache_creation);
}

/// Money and tokens spent by some runs (a task, a session, a pool, a day).
struct cost_figures {
  double usd = 0;
  token_counts tokens;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cost_figures& x) {
  return f(caf::meta::type_name("cw.cost_figures"), x.usd, x.tokens);
}

/// What one UTC day cost: the node's figures and each pool's.
struct cost_day {
  /// Days since 1970-01-01 (UTC).
  int64_t day = 0;
  cost_figures node;
  std::map<std::string, cost_figures> pools;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cost_day& x) {
  return f(caf::meta::type_name("cw.cost_day"), x.day, x.node, x.pools);
}

/// The cost ledger as a client reads it (`GET /v1/costs`, `cw costs`): the
/// newest days first, and totals over all days.
struct cost_report {
  std::vector<cost_day> days;
  cost_figures total;
  std::map<std::string, cost_figures> pools;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cost_report& x) {
  return f(caf::meta::type_name("cw.cost_report"), x.days, x.total, x.pools);
}

/// How failed attempts are retried: exponential back-off with jitter.
struct retry_policy {
  /// Attempts in all, the first included; 0 means the node's default.
  uint32_t max_attempts = 0;
  /// Delay before the second attempt.
  int64_t base_delay_ms = 1000;
  /// Each further delay is the previous one times this.
  double factor = 2.0;
  /// Upper bound of any delay.
  int64_t max_delay_ms = 300'000;
  /// Random spread: a delay d becomes a value in [d*(1-jitter), d*(1+jitter)].
  double jitter = 0.1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_policy& x) {
  return f(caf::meta::type_name("cw.retry_policy"), x.max_attempts,
           x.base_delay_ms, x.factor, x.max_delay_ms, x.jitter);
}

/// The phases of the scheduler's life cycle.
enum class scheduler_phase : uint8_t {
  /// No agent registered yet.
  idle,
  /// Starting queued tasks.
  running,
  /// No new starts; running tasks go on; submissions queue.
  paused,
  /// Draining: no new starts; becomes `stopped` when no task runs.
  stopping,
  /// Drained.
  stopped,
};

/// Returns the lower-case name of `x`.
std::string to_string(scheduler_phase x);

/// Parses a phase name; returns false if `str` names none.
bool from_string(const std::string& str, scheduler_phase& x);

/// A provider account held back by a usage or rate limit.
struct limit_hold {
  std::string provider;
  /// Empty: the node's own account.
  std::string account;
  /// When it lifts (ms since the epoch).
  int64_t until_ms = 0;
  /// The task whose run hit the limit, and what the run said.
  uint64_t task = 0;
  std::string reason;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, limit_hold& x) {
  return f(caf::meta::type_name("cw.limit_hold"), x.provider, x.account,
           x.until_ms, x.task, x.reason);
}

/// What a client sees of the scheduler: phase, counts, recent throughput
/// and latencies.
struct scheduler_status {
  scheduler_phase phase = scheduler_phase::idle;
  /// Tasks per status name.
  std::map<std::string, uint64_t> counts;
  uint32_t agents = 0;
  uint32_t idle_agents = 0;
  /// Tasks that ended in the last 60 s.
  uint64_t finished_last_minute = 0;
  /// Over the most recent ended tasks: wait (submitted or queued → start)
  /// and run (start → end) percentiles, ms.
  int64_t wait_p50_ms = 0;
  int64_t wait_p99_ms = 0;
  int64_t run_p50_ms = 0;
  int64_t run_p99_ms = 0;
  /// What prompt-driven tasks spent: today (UTC), in all, and per pool
  /// today.
  cost_figures cost_today;
  cost_figures cost_total;
  std::map<std::string, cost_figures> pool_cost_today;
  /// Provider accounts a usage or rate limit holds back now.
  std::vector<limit_hold> holds = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduler_status& x) {
  return f(caf::meta::type_name("cw.scheduler_status"), x.phase, x.counts,
           x.agents, x.idle_agents, x.finished_last_minute, x.wait_p50_ms,
           x.wait_p99_ms, x.run_p50_ms, x.run_p99_ms, x.cost_today,
           x.cost_total, x.pool_cost_today, x.holds);
}

/// What to run: the part of a task a client chooses.
struct task_spec {
  /// How the agent process is started, e.g. `"command"`.
  std::string provider = "command";
  /// Program and arguments for the `command` provider (no shell).
  std::vector<std::string> argv;
  /// Prompt for prompt-driven providers.
  std::string prompt;
  /// Absolute working directory of the agent process.
  std::string workspace;
  /// Higher runs first.
  int32_t priority = 0;
  /// Limit on agentic turns for prompt-driven providers; 0: the pool's.
  /// (Declared beside `priority`: two 4-byte fields share 8 bytes, and a
  /// queue of millions of tasks is held in memory.)
  uint32_t max_turns = 0;
  /// Retries of failed attempts.
  retry_policy retry;
  /// Longest an attempt may run, 0 for no limit.
  int64_t timeout_ms = 0;
  /// Not before this wall-clock time (ms since the epoch); 0 for now.
  int64_t run_at_ms = 0;
  /// Tasks that must complete first; the task is `blocked` until they have.
  std::vector<uint64_t> depends_on;
  /// The workflow the task belongs to, 0 for none.
  uint64_t workflow = 0;
  /// The task's name inside its workflow.
  std::string key;
  // -- placement ------------------------------------------------------------
  /// The pool whose agents run the task; empty: any pool of the provider.
  std::string pool;
  /// Capabilities the agent must have, e.g. `"gpu"`, `"rust"`.
  std::vector<std::string> capabilities;
  /// Only this agent may run the task.
  std::string required_agent;
  /// Run on the agent that ran (or runs) this task.
  uint64_t same_agent_as = 0;
  /// Never run on these agents.
  std::vector<std::string> excluded_agents;
  // -- process --------------------------------------------------------------
  /// Variables the process gets on top of the node's allow-listed ones
  /// (these win).
  std::map<std::string, std::string> env;
  // -- prompt-driven providers (claude) --------------------------------------
  /// Tasks with the same key continue the same session (conversation).
  std::string resume_key;
  /// The provider's session to continue (`claude --resume`); empty: the
  /// scheduler's choice (the key's session, or a fresh one).
  std::string resume_session;
  /// Start a new conversation: a new session (bound to `resume_key` if
  /// given), never the key's or an idle one. When the pool has no room, its
  /// least recently active idle session is closed to make some.
  bool new_session = false;
  /// `--permission-mode` for this task; `unset`: the pool's. (Beside
  /// `new_session`: both fit in the padding before `model`.)
  permission_mode permissions = permission_mode::unset;
  /// Model for this task; empty: the pool's.
  std::string model;
  /// `--allowedTools` rules for this task; empty: the pool's.
  std::vector<std::string> allowed_tools;
  /// Most this task may cost in USD; 0: no limit of its own.
  double budget_usd = 0;
  // -- resources ------------------------------------------------------------
  /// Locks the task holds before it starts and until it ends: `NAME`
  /// (exclusive) or `NAME:shared` (see `parse_lock_need`). It stays queued,
  /// holding no agent, until every one is granted.
  std::vector<std::string> locks = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_spec& x) {
  return f(caf::meta::type_name("cw.task_spec"), x.provider, x.argv, x.prompt,
           x.workspace, x.priority, x.retry, x.timeout_ms, x.run_at_ms,
           x.depends_on, x.workflow, x.key, x.pool, x.capabilities, x.required_agent,
           x.same_agent_as, x.excluded_agents, x.env, x.resume_key,
           x.resume_session, x.new_session, x.permissions, x.model, x.allowed_tools,
           x.max_turns, x.budget_usd, x.locks);
}

/// One lock a task needs.
struct lock_need {
  std::string resource;
  bool exclusive = true;
};

/// Reads `NAME`, `NAME:shared` or `NAME:exclusive` (a name may hold colons
/// of its own: only a last `:shared` or `:exclusive` is the mode).
lock_need parse_lock_need(const std::string& text);

/// What a prompt-driven run (a `claude` process) reported about itself:
/// the conversation's session, cost, tokens and limits. Empty for the
/// `command` provider.
struct run_report {
  /// The provider's session id, to continue the conversation.
  std::string session;
  std::string model;
  /// From the stream's first (`system` `init`) line: the tools the CLI
  /// offered, its MCP servers (`NAME (STATUS)`) and permission mode.
  std::vector<std::string> tools;
  std::vector<std::string> mcp_servers;
  std::string permission_mode;
  /// The result's subtype (`success`, `error_max_turns`, …); empty when the
  /// stream ended without a result.
  std::string subtype;
  /// The result's `is_error`.
  bool is_error = false;
  /// The final text, at most `max_text_bytes`.
  std::string text;
  /// The error result's `errors`, joined by `; ` (at most
  /// `max_text_bytes`); empty otherwise.
  std::string errors;
  double cost_usd = 0;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_tokens = 0;
  uint64_t cache_creation_tokens = 0;
  uint32_t turns = 0;
  uint32_t tool_uses = 0;
  /// Tool calls per tool name, and the results marked as errors.
  std::map<std::string, uint32_t> tool_calls;
  uint32_t tool_errors = 0;
  /// The result's `permission_denials`: tool calls the CLI refused.
  uint32_t permission_denials = 0;
  /// Lines that were not JSON (garbage, stderr, a line cut off) and JSON
  /// lines of unknown types.
  uint32_t malformed_lines = 0;
  uint32_t unknown_lines = 0;
  int64_t duration_ms = 0;
  /// The result's `duration_api_ms`: time spent waiting for the API.
  int64_t duration_api_ms = 0;
  /// `usage_limit`, `rate_limit` or `overloaded` when the run hit a limit;
  /// empty otherwise.
  std::string limit;
  /// When the limit lifts (ms since the epoch), 0 when the run did not say.
  int64_t limit_reset_ms = 0;

  static constexpr size_t max_text_bytes = 16 * 1024;

  /// Returns the tokens the run used.
  token_counts tokens() const noexcept {
    token_counts result;
    result.input = input_tokens;
    result.output = output_tokens;
    result.cache_read = cache_read_tokens;
    result.cache_creation = cache_creation_tokens;
    return result;
  }

  /// Returns whether the run reported nothing (not a prompt-driven run).
  bool empty() const noexcept {
    return session.empty() && subtype.empty() && limit.empty()
           && cost_usd == 0 && turns == 0 && malformed_lines == 0
           && unknown_lines == 0;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_report& x) {
  return f(caf::meta::type_name("cw.run_report"), x.session, x.model,
           x.tools, x.mcp_servers, x.permission_mode, x.subtype, x.is_error,
           x.text, x.errors, x.cost_usd, x.input_tokens, x.output_tokens,
           x.cache_read_tokens, x.cache_creation_tokens, x.turns, x.tool_uses,
           x.tool_calls, x.tool_errors, x.permission_denials,
           x.malformed_lines, x.unknown_lines, x.duration_ms,
           x.duration_api_ms, x.limit, x.limit_reset_ms);
}

/// What a task did to its workspace: where it ran and which files it
/// changed. Empty when the task ran outside any workspace handling (in-process
/// agents, plugins that start no processes).
struct workspace_report {
  /// The workspace's name.
  std::string workspace;
  /// `worktree` isolation: the branch (`cw/<id>`) and the worktree's
  /// directory; empty for `shared`.
  std::string branch;
  std::string worktree;
  /// The files changed, relative to the workspace (or worktree) root,
  /// sorted: for a worktree as git sees them against the base commit; in a
  /// shared workspace as the watcher saw them while the task ran.
  std::vector<std::string> changed_files;
  /// Files another task running in the same shared workspace changed too:
  /// `PATH (task N)`.
  std::vector<std::string> conflicts;
  /// Why the changes are not known (e.g. the watcher could not start);
  /// empty when they are.
  std::string note;
  /// Under the `lock` conflict policy: the conflict the task had on a file
  /// it held no lock on; the attempt fails with it. Empty otherwise.
  std::string violation = {};

  /// Returns whether nothing was recorded.
  bool empty() const noexcept {
    return workspace.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, workspace_report& x) {
  return f(caf::meta::type_name("cw.workspace_report"), x.workspace, x.branch,
           x.worktree, x.changed_files, x.conflicts, x.note, x.violation);
}

/// How an agent process ended.
struct task_outcome {
  task_outcome() = default;

  task_outcome(task_status status, int32_t exit_code, int32_t signal,
               std::string reason, run_report report = {})
    : status(status),
      exit_code(exit_code),
      signal(signal),
      reason(std::move(reason)),
      report(std::move(report)) {
    // nop
  }

  /// `completed` or `failed`.
  task_status status = task_status::failed;
  /// Exit code of the process, or -1 when it did not exit normally.
  int32_t exit_code = -1;
  /// Signal that ended the process, or 0.
  int32_t signal = 0;
  /// Why it failed, empty on success.
  std::string reason;
  /// What a prompt-driven run reported; empty otherwise.
  run_report report;
  /// What the task did to its workspace; empty without workspace handling.
  workspace_report changes = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_outcome& x) {
  return f(caf::meta::type_name("cw.task_outcome"), x.status, x.exit_code,
           x.signal, x.reason, x.report, x.changes);
}

/// Identifies a running agent process so that a node started after a crash
/// finds it again and never mistakes a reused pid for it.
struct process_ref {
  /// The program; also its process group.
  int64_t pid = 0;
  /// The cw-shim that owns the program, 0 for processes without one.
  int64_t shim_pid = 0;
  /// When the shim started, in clock ticks since boot (field 22 of
  /// /proc/PID/stat): a pid plus its start time names one process for good.
  uint64_t shim_start = 0;
  /// Size of the task's log when the attempt started: where its output
  /// begins.
  uint64_t log_offset = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, process_ref& x) {
  return f(caf::meta::type_name("cw.process_ref"), x.pid, x.shim_pid,
           x.shim_start, x.log_offset);
}

/// What a prompt-driven task carries from one attempt to the next.
struct prompt_progress {
  /// The provider session the next attempt continues (set by parking).
  std::string continue_session;
  /// Tokens used over all attempts.
  token_counts tokens;

  bool empty() const noexcept {
    return continue_session.empty() && tokens.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, prompt_progress& x) {
  return f(caf::meta::type_name("cw.prompt_progress"), x.continue_session,
           x.tokens);
}

/// A task as the scheduler knows it: its spec plus everything that happened.
struct task_info {
  task_id id = 0;
  task_spec spec;
  task_status status = task_status::queued;
  /// Failed with every attempt used: in the dead-letter queue. (Declared
  /// beside `status`: both fit in the padding before `attempts`.)
  bool dead = false;
  /// Number of attempts started so far.
  uint32_t attempts = 0;
  /// Name of the agent of the latest attempt, empty before the first.
  std::string agent;
  /// Process id of the latest attempt, 0 before it started.
  int64_t pid = 0;
  /// The latest attempt's process, for re-adoption after a restart.
  process_ref process;
  /// Exit code of the latest attempt, -1 unless it exited.
  int32_t exit_code = -1;
  /// Signal that ended the latest attempt, or 0.
  int32_t signal = 0;
  /// Why the task failed or was requeued, empty otherwise.
  std::string reason;
  /// Wall-clock times in milliseconds since the epoch; 0 when not reached.
  int64_t submitted_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  /// While queued: not before this time (a delay or a retry back-off).
  int64_t not_before_ms = 0;
  /// What the latest prompt-driven attempt reported (parked ones included);
  /// boxed: most tasks have none, and a queue of millions is held in memory.
  boxed<run_report> report;
  /// USD spent over all attempts.
  double cost_usd = 0;
  /// While parked: when it continues (ms since the epoch; 0: on `retry`).
  int64_t parked_until_ms = 0;
  /// The provider session the next attempt continues and the tokens used
  /// so far; boxed like `report`.
  boxed<prompt_progress> progress;
  /// The session of the latest attempt (0: none) and its agent's pool.
  uint64_t session = 0;
  std::string pool;
  /// What the latest attempt did to its workspace (branch, changed files);
  /// boxed like `report`.
  boxed<workspace_report> changes = {};
  /// While queued: why it does not start yet (a session, a lock, a busy
  /// agent, …), as the scheduler sees it when asked. Not folded state.
  std::string waiting = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_info& x) {
  return f(caf::meta::type_name("cw.task_info"), x.id, x.spec, x.status,
           x.attempts, x.agent, x.pid, x.process, x.exit_code, x.signal, x.reason,
           x.submitted_ms, x.started_ms, x.finished_ms, x.not_before_ms,
           x.dead, x.report, x.cost_usd, x.parked_until_ms, x.progress,
           x.session, x.pool, x.changes, x.waiting);
}

/// Selects tasks in a listing; `any_status` lists all.
struct task_filter {
  bool any_status = true;
  task_status status = task_status::queued;
  /// At most this many tasks, newest first; 0 means no limit.
  uint32_t limit = 0;
  /// Only the dead-letter queue.
  bool dead_only = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_filter& x) {
  return f(caf::meta::type_name("cw.task_filter"), x.any_status, x.status,
           x.limit, x.dead_only);
}

/// Limits that validation enforces on a task spec.
struct task_limits {
  static constexpr int32_t min_priority = -1000;
  static constexpr int32_t max_priority = 1000;
  static constexpr size_t max_argv = 4096;
  static constexpr size_t max_prompt_bytes = 1 << 20;
  static constexpr uint32_t max_attempts = 100;
  static constexpr int64_t max_delay_ms = 7LL * 24 * 3600 * 1000;
  static constexpr int64_t max_timeout_ms = 7LL * 24 * 3600 * 1000;
  static constexpr double max_factor = 10.0;
  static constexpr size_t max_capabilities = 64;
  static constexpr size_t max_name_bytes = 256;
  static constexpr size_t max_allowed_tools = 256;
  static constexpr size_t max_env = 256;
  static constexpr size_t max_env_value_bytes = 32 * 1024;
  static constexpr uint32_t max_turns = 10'000;
  static constexpr double max_budget_usd = 1'000'000;
  static constexpr size_t max_locks = 64;
  static constexpr size_t max_lock_name_bytes = 1024;
};

} // namespace cw
