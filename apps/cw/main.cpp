// cw: the command-line client of a cw node.

#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "runtime/cli.hpp"

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
  auto run_cmd = app.add_subcommand("run", "submit a task: cw run -- PROGRAM ARGS...");
  run_cmd->add_option("--priority", run.priority, "higher runs first")
    ->check(CLI::Range(-1000, 1000));
  run_cmd->add_flag("--wait", run.wait,
                    "wait for the task and exit with its success");
  run_cmd->add_option("--workspace", run.workspace,
                      "working directory (default: the current one)");
  run_cmd->add_option("command", run.argv, "program and arguments")
    ->required();

  uint64_t id = 0;
  auto status_cmd = app.add_subcommand("status", "show one task");
  status_cmd->add_option("id", id, "task id")->required();

  std::string status_filter;
  uint32_t limit = 100;
  auto tasks_cmd = app.add_subcommand("tasks", "list tasks, newest first");
  tasks_cmd
    ->add_option("--status", status_filter,
                 "blocked, queued, running, completed, failed or cancelled")
    ->check(CLI::IsMember({"blocked", "queued", "running", "completed",
                           "failed", "cancelled"}));
  tasks_cmd->add_option("--limit", limit, "at most this many (0: all)");

  bool follow = false;
  auto logs_cmd = app.add_subcommand("logs", "print a task's output");
  logs_cmd->add_option("id", id, "task id")->required();
  logs_cmd->add_flag("-f,--follow", follow, "keep printing until the task ends");

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
    rc = cli_status_of(ctx, id);
  else if (*tasks_cmd)
    rc = cli_tasks(ctx, status_filter, limit);
  else if (*logs_cmd)
    rc = cli_logs(ctx, id, follow);
  return static_cast<int>(rc);
}
