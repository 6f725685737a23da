#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "caf/expected.hpp"

namespace cw::runtime {

/// Exit statuses of the `cw` command.
enum class cli_status : int {
  /// The command (and, with --wait, the task) succeeded.
  success = 0,
  /// The task ended unsuccessfully, or the node refused the request.
  failure = 1,
  /// Bad command line.
  usage = 2,
  /// The node could not be reached.
  unreachable = 3,
};

/// Options every `cw` command takes.
struct cli_context {
  /// Base URL of the node, e.g. `http://127.0.0.1:7420`.
  std::string node_url;
  /// Print JSON instead of human-readable text.
  bool json = false;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

/// `cw run`: submits a task and optionally waits for its end.
struct run_options {
  std::vector<std::string> argv;
  std::string workspace;
  int32_t priority = 0;
  bool wait = false;
  /// Attempts in all (0: the node's default).
  uint32_t attempts = 0;
  /// Seconds an attempt may run (0: no limit).
  double timeout_s = 0;
  /// Seconds to wait before the task may start.
  double delay_s = 0;
  /// Tasks that must complete first.
  std::vector<uint64_t> after;
  /// Placement: pool, required capabilities, required agent, the task whose
  /// agent to share, agents to avoid.
  std::string pool;
  std::vector<std::string> capabilities;
  std::string agent;
  uint64_t same_agent_as = 0;
  std::vector<std::string> exclude_agents;
  /// Locks to hold while the task runs: `NAME` or `NAME:shared`.
  std::vector<std::string> locks;
  /// `NAME=VALUE` variables for the process.
  std::vector<std::string> env;
  /// `command` (argv is the program) or a prompt-driven provider such as
  /// `claude` (argv's words are the prompt).
  std::string provider = "command";
  /// Tasks with one key continue one session; model, turn limit and budget
  /// of a prompt-driven task (empty or 0: the pool's, none).
  std::string resume_key;
  /// Start a new conversation (session) rather than continue one.
  bool new_session = false;
  std::string model;
  uint32_t max_turns = 0;
  double budget_usd = 0;
  /// `--permission-mode` and `--allowedTools` of a claude task (empty: the
  /// pool's).
  std::string permission_mode;
  std::vector<std::string> allowed_tools;
};

/// Submits `opts` and prints the new task's id (or, with `wait`, its
/// outcome); the status follows the task's success with `wait`.
cli_status cli_run(const cli_context& ctx, const run_options& opts);

/// `cw status ID`: prints one task.
cli_status cli_status_of(const cli_context& ctx, uint64_t id);

/// `cw tasks [--status S] [--limit N] [--dead]`: lists tasks, newest first;
/// `dead` lists only the dead-letter queue.
cli_status cli_tasks(const cli_context& ctx, const std::string& status,
                     uint32_t limit, bool dead = false);

/// `cw cancel ID`: cancels a queued or running task.
cli_status cli_cancel(const cli_context& ctx, uint64_t id);

/// `cw retry ID`: gives a failed or cancelled task fresh attempts.
cli_status cli_retry(const cli_context& ctx, uint64_t id);

/// `cw pause|resume|drain` (POST) and `cw scheduler` (GET): prints the
/// scheduler's phase, task counts, throughput and latencies.
cli_status cli_scheduler(const cli_context& ctx, const std::string& action);

/// `cw logs ID [-f]`: prints a task's output; `follow` keeps printing until
/// the task ends.
/// A claude task's log is rendered as a conversation (with `follow`, once
/// the task has ended) unless `raw` asks for the stream-json lines.
cli_status cli_logs(const cli_context& ctx, uint64_t id, bool follow,
                    bool raw = false);

/// `cw workflow submit FILE [--wait]`: submits the workflow in a JSON or
/// TOML file (by extension: `.toml` is TOML, anything else JSON) and prints
/// its id, or with `wait` its final status; the exit status follows the
/// workflow's success with `wait`.
cli_status cli_workflow_submit(const cli_context& ctx, const std::string& file,
                               bool wait);

/// `cw workflow status ID`: each task with its state, progress, critical
/// path.
cli_status cli_workflow_status(const cli_context& ctx, uint64_t id);

/// `cw workflow list`: the newest workflows.
cli_status cli_workflow_list(const cli_context& ctx, uint32_t limit);

/// `cw workflow cancel ID`: cancels every task that has not ended.
cli_status cli_workflow_cancel(const cli_context& ctx, uint64_t id);

/// `cw lock acquire NAME[:shared] --owner O [--priority P] [--timeout S]`.
struct lock_options {
  /// The resource, with an optional `:shared` or `:exclusive` suffix.
  std::string resource;
  /// Who takes the lock, e.g. `"agent:review-2"`.
  std::string owner;
  int32_t priority = 0;
  /// Seconds to wait for the lock (0: try once).
  double timeout_s = 30;
};

/// `cw agents`: prints every agent with its load, then each provider's
/// circuit breaker.
cli_status cli_agents(const cli_context& ctx);

/// `cw sessions [--state S] [--all]`: lists sessions with their state,
/// tasks, turns, tokens and cost; open ones unless `state` (a state, `open`
/// or empty for all) says otherwise.
cli_status cli_sessions(const cli_context& ctx, const std::string& state);

/// `cw session open [--provider P] [--pool P] [--resume-key K]`: opens an
/// idle session (bound to the key if given) and prints it.
cli_status cli_session_open(const cli_context& ctx, const std::string& provider,
                            const std::string& pool,
                            const std::string& resume_key);

/// `cw costs [--days N]`: what prompt-driven tasks spent per UTC day (the
/// node and each pool, money and tokens) and in all.
cli_status cli_costs(const cli_context& ctx, uint32_t days);

/// `cw session show|pause|resume|close ID`: prints one session, or changes
/// its state and prints it (an illegal transition names the allowed ones).
cli_status cli_session(const cli_context& ctx, const std::string& action,
                       uint64_t id);

/// `cw locks`: prints every holder and waiter.
cli_status cli_locks(const cli_context& ctx);

/// `cw lock acquire`: waits for the lock and prints the grant; fails (exit
/// 1) when the node refuses it (deadlock, timeout) with the reason.
cli_status cli_lock_acquire(const cli_context& ctx, const lock_options& opts);

/// `cw lock release NAME --owner O`: releases one lock.
cli_status cli_lock_release(const cli_context& ctx, const std::string& resource,
                            const std::string& owner);

/// `cw workspace add PATH [--name N] [--isolation shared|worktree]
/// [--base REF] [--conflict-policy warn|lock] [--ignore PATTERN]...`.
struct workspace_options {
  std::string path;
  std::string name;
  std::string isolation;
  std::string base;
  std::string conflict_policy;
  std::vector<std::string> ignore;
};

/// `cw workspace add`: registers a directory and prints it.
cli_status cli_workspace_add(const cli_context& ctx,
                             const workspace_options& opts);

/// `cw workspace list`: prints every workspace with its isolation, running
/// tasks and worktrees.
cli_status cli_workspace_list(const cli_context& ctx);

/// `cw workspace prune [NAME] [--delete-branches] [--force]`: removes the
/// worktrees of tasks that no longer run and prints what it removed and
/// what it kept (uncommitted changes, unmerged branches) and why.
cli_status cli_workspace_prune(const cli_context& ctx, const std::string& name,
                               bool delete_branches, bool force);

/// Reads a workflow file into the JSON body of `POST /v1/workflows`.
/// Errors: `invalid_argument` naming the file (and line, for TOML).
caf::expected<std::string> read_workflow_file(const std::string& file);

} // namespace cw::runtime
