// cw: the command-line client of a cw node.

#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "messages/errc.hpp"
#include "runtime/cli.hpp"
#include "runtime/replay.hpp"

namespace {

/// A duration from `min_s` to `max_s` seconds (`range` says so to people):
/// seconds, or a number with a unit (500ms, 30s, 10m, 2h, 1d). Converted to
/// seconds.
CLI::Validator duration(double min_s, double max_s, const std::string& range) {
  static const std::map<std::string, double> units{
    {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  return CLI::Validator{
    [=](std::string& input) -> std::string {
      auto digits = input.find_last_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
      auto number = input.substr(0, digits == std::string::npos ? 0 : digits + 1);
      auto unit = input.substr(number.size());
      double scale = 1;
      if (!unit.empty()) {
        auto i = units.find(unit);
        if (i == units.end())
          return "'" + input + "': unknown unit '" + unit
                 + "' (use ms, s, m, h or d)";
        scale = i->second;
      }
      double value = 0;
      size_t used = 0;
      try {
        value = std::stod(number, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (number.empty() || used != number.size() || !std::isfinite(value))
        return "'" + input + "' is not a duration (e.g. 90, 500ms, 10m, 2h)";
      value *= scale;
      if (value < min_s || value > max_s)
        return "'" + input + "' is out of range (" + range + ")";
      input = std::to_string(value);
      return {};
    },
    range + "; seconds, or with a unit: ms, s, m, h, d"};
}

/// Ids are positive integers; says so naming what it got.
const CLI::Validator positive_id{
  [](std::string& text) -> std::string {
    auto digits = !text.empty()
                  && text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || text.find_first_not_of('0') == std::string::npos)
      return "must be a positive integer, got '" + text + "'";
    return {};
  },
  "ID"};

} // namespace

int main(int argc, char** argv) {
  using namespace cw::runtime;
  cli_context ctx;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  if (auto env = std::getenv("CW_NODE"); env != nullptr && *env != '\0')
    ctx.node_url = env;
  else
    ctx.node_url = "http://127.0.0.1:7420";
  CLI::App app{"cw: give work to a cw node and watch it"};
  app.require_subcommand(1);
  app.add_option("--node", ctx.node_url,
                 "node URL (default $CW_NODE or http://127.0.0.1:7420)");
  app.add_flag("--json", ctx.json, "machine-readable output");

  run_options run;
  uint64_t id = 0;
  auto run_cmd = app.add_subcommand("run", "submit a task: cw run -- PROGRAM ARGS...");
  run_cmd->add_option("--priority", run.priority, "higher runs first")
    ->check(CLI::Range(-1000, 1000));
  run_cmd->add_flag("--wait", run.wait,
                    "wait for the task and exit with its success");
  run_cmd->add_option("--workspace", run.workspace,
                      "working directory (default: the current one)");
  run_cmd->add_option("--attempts", run.attempts,
                      "attempts in all, retried with back-off (default: node's)")
    ->check(CLI::Range(1, 100));
  const double week = 7.0 * 24 * 3600;
  run_cmd->add_option("--timeout", run.timeout_s, "how long an attempt may run")
    ->type_name("DURATION")
    ->transform(duration(0.001, week, "1ms to 7d"));
  run_cmd->add_option("--delay", run.delay_s, "how long before it may start")
    ->type_name("DURATION")
    ->transform(duration(0, week, "0 to 7d"));
  run_cmd->add_option("--after", run.after,
                      "start only after task ID completed (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("--pool", run.pool, "run on an agent of this pool");
  run_cmd->add_option("--capability", run.capabilities,
                      "the agent must have this capability (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("--agent", run.agent, "run only on this agent");
  run_cmd->add_option("--same-agent-as", run.same_agent_as,
                      "run on the agent that ran task ID");
  run_cmd->add_option("--exclude-agent", run.exclude_agents,
                      "never run on this agent (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("--lock", run.locks,
                      "hold lock NAME (NAME:shared for a shared one) from "
                      "before the start to the end; the task waits queued "
                      "until granted (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("--env", run.env,
                      "NAME=VALUE for the process (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("--provider", run.provider,
                      "command (default: run PROGRAM ARGS) or claude (the "
                      "words are the prompt)");
  run_cmd->add_option("--resume-key", run.resume_key,
                      "tasks with one key continue one session");
  run_cmd->add_flag("--new-session", run.new_session,
                    "start a new conversation (bound to --resume-key if "
                    "given) rather than continue one");
  run_cmd->add_option("--model", run.model, "model of a claude task");
  run_cmd->add_option("--max-turns", run.max_turns,
                      "turn limit of a claude task")
    ->check(CLI::Range(1, 10000));
  run_cmd->add_option("--budget", run.budget_usd,
                      "most the task may cost, USD")
    ->check(CLI::Range(0.0, 1e6));
  run_cmd->add_option("--permission-mode", run.permission_mode,
                      "--permission-mode of a claude task instead of the "
                      "pool's")
    ->check(CLI::IsMember(
      {"default", "acceptEdits", "plan", "bypassPermissions"}));
  run_cmd->add_option("--allowed-tool", run.allowed_tools,
                      "a tool rule of a claude task, e.g. Read or "
                      "'Bash(git log:*)'; replaces the pool's (repeatable)")
    ->allow_extra_args(false);
  run_cmd->add_option("command", run.argv,
                      "program and arguments, or the prompt")
    ->required();

  auto workflow_cmd = app.add_subcommand("workflow", "DAGs of tasks");
  workflow_cmd->require_subcommand(1);
  std::string workflow_file;
  bool workflow_wait = false;
  auto wf_submit = workflow_cmd->add_subcommand(
    "submit", "submit a workflow from a JSON or TOML (.toml) file");
  wf_submit->add_option("file", workflow_file, "workflow file")->required();
  wf_submit->add_flag("--wait", workflow_wait,
                      "wait for the workflow and exit with its success");
  auto wf_status = workflow_cmd->add_subcommand(
    "status", "show a workflow's tasks, progress and critical path");
  wf_status->add_option("id", id, "workflow id")->check(positive_id)->required();
  auto wf_list = workflow_cmd->add_subcommand("list", "list workflows, newest first");
  uint32_t wf_limit = 20;
  wf_list->add_option("--limit", wf_limit, "at most this many (0: all)");
  auto wf_cancel = workflow_cmd->add_subcommand(
    "cancel", "cancel every task of a workflow that has not ended");
  wf_cancel->add_option("id", id, "workflow id")->check(positive_id)->required();

  auto status_cmd = app.add_subcommand(
    "status", "show one task, or without ID the node: tasks, latencies, cost");
  status_cmd->add_option("id", id, "task id")->check(positive_id);

  std::string status_filter;
  uint32_t limit = 100;
  auto tasks_cmd = app.add_subcommand("tasks", "list tasks, newest first");
  tasks_cmd
    ->add_option("--status", status_filter,
                 "blocked, queued, parked, running, completed, failed or "
                 "cancelled")
    ->check(CLI::IsMember({"blocked", "queued", "parked", "running",
                           "completed", "failed", "cancelled"}));
  tasks_cmd->add_option("--limit", limit, "at most this many (0: all)");
  bool dead = false;
  tasks_cmd->add_flag("--dead", dead, "only the dead-letter queue");

  auto cancel_cmd = app.add_subcommand("cancel", "cancel a queued or running task");
  cancel_cmd->add_option("id", id, "task id")->check(positive_id)->required();
  auto retry_cmd = app.add_subcommand("retry",
                                      "give a failed task fresh attempts");
  retry_cmd->add_option("id", id, "task id")->check(positive_id)->required();
  std::string lifecycle;
  for (auto [name, help] :
       {std::pair{"pause", "start no new tasks (running ones go on)"},
        std::pair{"resume", "start tasks again"},
        std::pair{"drain", "start no new tasks, stop once none runs"},
        std::pair{"scheduler", "show the scheduler's phase and figures"}})
    app.add_subcommand(name, help)->callback([&lifecycle, name = name] {
      lifecycle = name;
    });

  bool follow = false;
  auto logs_cmd = app.add_subcommand("logs", "print a task's output");
  logs_cmd->add_option("id", id, "task id")->check(positive_id)->required();
  logs_cmd->add_flag("-f,--follow", follow, "keep printing until the task ends");
  bool logs_raw = false;
  logs_cmd->add_flag("--raw,--json", logs_raw,
                     "a claude task's stream-json lines, not the conversation");

  auto agents_cmd = app.add_subcommand(
    "agents", "list agents with their load, and the providers' breakers");
  auto sessions_cmd = app.add_subcommand(
    "sessions", "list open sessions with their tasks, turns, tokens and cost");
  std::string sessions_state = "open";
  sessions_cmd
    ->add_option("--state", sessions_state,
                 "only sessions in this state (open: all but closed)")
    ->check(CLI::IsMember({"idle", "busy", "paused", "closed", "open"}));
  bool sessions_all = false;
  sessions_cmd->add_flag("--all", sessions_all, "closed sessions too");
  auto costs_cmd = app.add_subcommand(
    "costs", "what claude tasks spent per UTC day, per pool and in all");
  uint32_t cost_days = 7;
  costs_cmd->add_option("--days", cost_days, "the newest N days (0: all)")
    ->check(CLI::Range(0, 100000));
  auto session_cmd = app.add_subcommand(
    "session", "show, pause, resume or close a session");
  session_cmd->require_subcommand(1);
  uint64_t session_id = 0;
  std::string session_action;
  auto session_open = session_cmd->add_subcommand(
    "open", "open an idle session, bound to --resume-key if given");
  std::string open_provider = "claude";
  std::string open_pool;
  std::string open_key;
  session_open->add_option("--provider", open_provider,
                           "its provider (default claude)");
  session_open->add_option("--pool", open_pool,
                           "the pool its tasks name (default: any)");
  session_open->add_option("--resume-key", open_key,
                           "tasks with this key continue it");
  for (auto [name, help] :
       {std::pair{"show", "print a session"},
        {"pause", "take no new tasks in it"},
        {"resume", "let it take tasks again"},
        {"close", "close it for good"}}) {
    auto sub = session_cmd->add_subcommand(name, help);
    sub->add_option("id", session_id, "session id")->check(positive_id)->required();
    sub->callback([&session_action, name = std::string{name}] {
      session_action = name;
    });
  }
  auto locks_cmd = app.add_subcommand("locks", "list lock holders and waiters");
  auto lock_cmd = app.add_subcommand("lock", "take or release a named lock");
  lock_cmd->require_subcommand(1);
  lock_options lock;
  auto lock_acquire = lock_cmd->add_subcommand(
    "acquire", "wait for a lock: NAME (exclusive) or NAME:shared");
  lock_acquire->add_option("name", lock.resource, "resource name")->required();
  lock_acquire->add_option("--owner", lock.owner, "who holds it")->required();
  lock_acquire->add_option("--priority", lock.priority, "higher is served first")
    ->check(CLI::Range(-1000, 1000));
  lock_acquire->add_option("--timeout", lock.timeout_s,
                           "how long to wait (default 30s, 0: try once)")
    ->type_name("DURATION")
    ->transform(duration(0, 600, "0 to 10m"));
  auto lock_release = lock_cmd->add_subcommand("release", "release a lock");
  lock_release->add_option("name", lock.resource, "resource name")->required();
  lock_release->add_option("--owner", lock.owner, "who holds it")->required();

  auto ws_cmd = app.add_subcommand("workspace", "register, list and prune "
                                                "workspaces");
  ws_cmd->require_subcommand(1);
  workspace_options ws;
  auto ws_add = ws_cmd->add_subcommand("add", "register a directory");
  ws_add->add_option("path", ws.path, "the directory")->required();
  ws_add->add_option("--name", ws.name,
                     "its name (default: the directory's name)");
  ws_add->add_option("--isolation", ws.isolation,
                     "shared (default: tasks work in the directory) or "
                     "worktree (a git worktree per task)")
    ->check(CLI::IsMember({"shared", "worktree"}));
  ws_add->add_option("--base", ws.base,
                     "worktree isolation: the branch, tag or commit task "
                     "branches start from (default: HEAD)");
  ws_add->add_option("--conflict-policy", ws.conflict_policy,
                     "when two running tasks change one file: warn "
                     "(default) or lock (a task without a lock on it fails)")
    ->check(CLI::IsMember({"warn", "lock"}));
  ws_add->add_option("--ignore", ws.ignore,
                     "a pattern (gitignore syntax) the watcher ignores; "
                     "repeatable");
  auto ws_list = ws_cmd->add_subcommand("list", "list workspaces and worktrees");
  std::string prune_name;
  bool delete_branches = false;
  auto ws_prune = ws_cmd->add_subcommand(
    "prune", "remove the worktrees of tasks that no longer run");
  ws_prune->add_option("name", prune_name, "only this workspace");
  ws_prune->add_flag("--delete-branches", delete_branches,
                     "delete their cw/<id> branches too (if merged into "
                     "HEAD, unless --force)");
  bool prune_force = false;
  ws_prune->add_flag("--force", prune_force,
                     "also remove worktrees with changes not committed, and "
                     "delete branches not merged");

  replay_options replay;
  auto replay_cmd = app.add_subcommand(
    "replay", "print the events of a journal file (read-only, offline)");
  replay_cmd
    ->add_option("file", replay.file, "journal file (DATA_DIR/journal.db)")
    ->required();
  auto task_opt = replay_cmd->add_option("--task", replay.task,
                                         "only the events of task ID");
  auto type_opt = replay_cmd->add_option(
    "--type", replay.type, "only this event type, or a prefix ending in *");
  CLI::Validator bound{[](std::string& str) {
                         auto b = parse_replay_bound(str);
                         return b ? std::string{} : cw::describe(b.error());
                       },
                       "SEQ|TIME"};
  auto since_opt = replay_cmd->add_option(
    "--since", replay.since,
    "from this seq or UTC time (2026-11-23T13:25:00Z)");
  since_opt->check(bound);
  auto until_opt = replay_cmd->add_option("--until", replay.until,
                                          "up to this seq or UTC time");
  until_opt->check(bound);
  auto at_opt = replay_cmd->add_option(
    "--at", replay.at, "print the tasks as they were after event SEQ");
  auto timeline_opt = replay_cmd->add_flag(
    "--timeline", replay.timeline, "the states of --task and their durations");
  timeline_opt->needs(task_opt);
  auto follow_opt = replay_cmd->add_flag(
    "-f,--follow", replay.follow, "keep printing new events until interrupted");
  auto verify_opt = replay_cmd->add_flag(
    "--verify", replay.verify, "check every row and list the bad ones");
  // --at, --timeline and --verify are modes of their own.
  for (auto mode : {at_opt, timeline_opt, verify_opt})
    for (auto other : {type_opt, since_opt, until_opt, follow_opt, at_opt,
                       timeline_opt, verify_opt})
      if (other != mode)
        mode->excludes(other);
  verify_opt->excludes(task_opt);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    auto rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(cli_status::usage);
  }
  cli_status rc = cli_status::usage;
  if (*run_cmd)
    rc = cli_run(ctx, run);
  else if (*status_cmd)
    rc = id != 0 ? cli_status_of(ctx, id) : cli_scheduler(ctx, "scheduler");
  else if (*tasks_cmd)
    rc = cli_tasks(ctx, status_filter, limit, dead);
  else if (*cancel_cmd)
    rc = cli_cancel(ctx, id);
  else if (*retry_cmd)
    rc = cli_retry(ctx, id);
  else if (!lifecycle.empty())
    rc = cli_scheduler(ctx, lifecycle);
  else if (*logs_cmd)
    rc = cli_logs(ctx, id, follow, logs_raw || ctx.json);
  else if (*locks_cmd)
    rc = cli_locks(ctx);
  else if (*agents_cmd)
    rc = cli_agents(ctx);
  else if (*sessions_cmd)
    rc = cli_sessions(ctx, sessions_all ? std::string{} : sessions_state);
  else if (*costs_cmd)
    rc = cli_costs(ctx, cost_days);
  else if (*session_open)
    rc = cli_session_open(ctx, open_provider, open_pool, open_key);
  else if (*session_cmd)
    rc = cli_session(ctx, session_action, session_id);
  else if (*lock_acquire)
    rc = cli_lock_acquire(ctx, lock);
  else if (*lock_release)
    rc = cli_lock_release(ctx, lock.resource, lock.owner);
  else if (*ws_add)
    rc = cli_workspace_add(ctx, ws);
  else if (*ws_list)
    rc = cli_workspace_list(ctx);
  else if (*ws_prune)
    rc = cli_workspace_prune(ctx, prune_name, delete_branches, prune_force);
  else if (*replay_cmd)
    rc = cli_replay(ctx, replay);
  else if (*wf_submit)
    rc = cli_workflow_submit(ctx, workflow_file, workflow_wait);
  else if (*wf_status)
    rc = cli_workflow_status(ctx, id);
  else if (*wf_list)
    rc = cli_workflow_list(ctx, wf_limit);
  else if (*wf_cancel)
    rc = cli_workflow_cancel(ctx, id);
  return static_cast<int>(rc);
}
