#include "runtime/cli.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "actors/claude/render.hpp"
#include "actors/cost/ledger.hpp"
#include "messages/errc.hpp"
#include "runtime/api_codec.hpp"
#include "runtime/http_client.hpp"
#include "runtime/replay_format.hpp"

namespace cw::runtime {

namespace {

using json = nlohmann::json;

/// Seconds one long-poll asks the node to hold the request.
constexpr int long_poll_seconds = 30;

/// A client call that failed: prints why and maps to an exit status.
struct failure {
  cli_status status;
};

std::unique_ptr<http_client> connect(const cli_context& ctx) {
  auto client = http_client::make(ctx.node_url);
  if (!client) {
    *ctx.err << "cw: --" << describe(client.error()) << "\n";
    throw failure{cli_status::usage};
  }
  return std::move(*client);
}

/// Sends a request; prints the node's error and throws unless 2xx.
http_response call(const cli_context& ctx, http_client& client,
                   const std::string& method, const std::string& target,
                   const std::string& body = {},
                   std::chrono::milliseconds timeout
                   = std::chrono::seconds(long_poll_seconds + 30)) {
  auto res = client.request(method, target, body, timeout);
  if (!res) {
    *ctx.err << "cw: " << describe(res.error()) << "\n";
    throw failure{cli_status::unreachable};
  }
  if (res->status >= 200 && res->status < 300)
    return std::move(*res);
  auto j = json::parse(res->body, nullptr, false);
  if (ctx.json) {
    *ctx.out << res->body << "\n";
  } else if (j.is_object() && j.contains("message")) {
    *ctx.err << "cw: " << j["message"].get<std::string>() << "\n";
  } else {
    *ctx.err << "cw: the node answered HTTP " << res->status << "\n";
  }
  throw failure{cli_status::failure};
}

/// Reads an answer of the node with `from_json`; prints why and throws when
/// it does not read.
template <class T>
T parse_answer(const cli_context& ctx, const std::string& body,
               caf::expected<T> (*from_json)(const json&)) {
  auto j = json::parse(body, nullptr, false);
  auto x = j.is_discarded() ? caf::expected<T>{make_error(
             errc::invalid_argument, "the node sent malformed JSON")}
                            : from_json(j);
  if (!x) {
    *ctx.err << "cw: " << describe(x.error()) << "\n";
    throw failure{cli_status::failure};
  }
  return std::move(*x);
}

task_info parse_task(const cli_context& ctx, const std::string& body) {
  return parse_answer(ctx, body, task_from_json);
}

/// Returns the program and its arguments, or a prompt-driven task's
/// provider and prompt (its first line, at most 60 bytes).
std::string command_line(const task_spec& spec) {
  std::string result;
  if (spec.argv.empty() && !spec.prompt.empty()) {
    auto line = spec.prompt.substr(0, spec.prompt.find('\n'));
    if (line.size() > 60)
      line = line.substr(0, 57) + "...";
    return spec.provider + ": " + line;
  }
  for (auto& arg : spec.argv) {
    if (!result.empty())
      result += ' ';
    result += arg;
  }
  return result;
}

using actors::format_usd;

/// Returns `4 in, 9 out, 13120 cache read, 1520 cache written`.
std::string format_tokens(const token_counts& x) {
  return std::to_string(x.input) + " in, " + std::to_string(x.output)
         + " out, " + std::to_string(x.cache_read) + " cache read, "
         + std::to_string(x.cache_creation) + " cache written";
}

std::string outcome_line(const task_info& x) {
  auto result = "task " + std::to_string(x.id) + " " + to_string(x.status);
  if (x.status == task_status::completed)
    result += " (exit 0)";
  else if (!x.reason.empty())
    result += " (" + x.reason + ")";
  if (!x.report.empty()) {
    result += ", " + format_usd(x.cost_usd) + ", "
              + std::to_string(x.report->turns) + " turns";
    if (!x.report->session.empty())
      result += ", session " + x.report->session;
  }
  if (x.dead)
    result += ", attempts used up: in the dead-letter queue";
  return result;
}

void print_task(const cli_context& ctx, const task_info& x) {
  auto& out = *ctx.out;
  out << "id:         " << x.id << "\n"
      << "status:     " << to_string(x.status)
      << (x.dead ? " (dead letter)" : "") << "\n"
      << "command:    " << command_line(x.spec) << "\n"
      << "workspace:  " << x.spec.workspace << "\n"
      << "priority:   " << x.spec.priority << "\n"
      << "attempts:   " << x.attempts << " of " << x.spec.retry.max_attempts
      << "\n";
  if (x.spec.timeout_ms > 0)
    out << "timeout:    " << format_duration(x.spec.timeout_ms) << "\n";
  if (!x.spec.locks.empty()) {
    std::string names;
    for (auto& name : x.spec.locks)
      names += (names.empty() ? "" : ", ") + name;
    out << "locks:      " << names << "\n";
  }
  if (x.submitted_ms != 0)
    out << "submitted:  " << format_time(x.submitted_ms) << "\n";
  if (x.status == task_status::queued && x.not_before_ms > 0)
    out << "not before: " << format_time(x.not_before_ms) << "\n";
  if (const auto& c = *x.changes; !c.empty()) {
    if (!c.branch.empty())
      out << "branch:     " << c.branch << " (worktree " << c.worktree
          << ")\n";
    out << "changed:    " << c.changed_files.size() << " files in workspace "
        << c.workspace << "\n";
    for (auto& f : c.changed_files)
      out << "  " << f << "\n";
    for (auto& f : c.conflicts)
      out << "conflict:   " << f << "\n";
    if (!c.violation.empty())
      out << "violation:  " << c.violation << "\n";
    if (!c.note.empty())
      out << "note:       " << c.note << "\n";
  }
  if (x.status == task_status::parked)
    out << "parked:     "
        << (x.parked_until_ms > 0
              ? "until " + format_time(x.parked_until_ms)
              : x.reason.rfind("budget:", 0) == 0
                  ? std::string{"until cw retry (a budget is spent)"}
                  : std::string{"until cw retry (auto-resume is off)"})
        << "\n";
  if (!x.waiting.empty())
    out << "waiting:    " << x.waiting << "\n";
  if (!x.spec.resume_key.empty())
    out << "resume key: " << x.spec.resume_key
        << (x.spec.new_session ? " (new session)" : "") << "\n";
  else if (x.spec.new_session)
    out << "session:    a new one\n";
  if (x.session != 0)
    out << "in session: " << x.session << "\n";
  if (!x.report.empty()) {
    const auto& r = *x.report;
    out << "claude id:  " << r.session
        << (r.model.empty() ? "" : " (" + r.model + ")") << "\n"
        << "cost:       " << format_usd(x.cost_usd) << " (last attempt "
        << format_usd(r.cost_usd) << ")\n"
        << "tokens:     " << format_tokens(x.progress->tokens)
        << " (all attempts)\n"
        << "turns:      " << r.turns << ", " << r.tool_uses << " tool uses";
    if (r.tool_errors > 0)
      out << " (" << r.tool_errors << " failed)";
    out << "\n";
    if (!r.tool_calls.empty()) {
      std::string calls;
      for (auto& [name, n] : r.tool_calls)
        calls += (calls.empty() ? "" : ", ") + name + " " + std::to_string(n);
      out << "tools used: " << calls << "\n";
    }
    if (r.permission_denials > 0)
      out << "denied:     " << r.permission_denials
          << " tool calls (permission mode "
          << (r.permission_mode.empty() ? "?" : r.permission_mode) << ")\n";
    if (!r.errors.empty())
      out << "errors:     " << r.errors << "\n";
    if (r.duration_ms > 0)
      out << "claude ran: " << format_duration(r.duration_ms) << " ("
          << format_duration(r.duration_api_ms) << " waiting for the API)\n";
    if (r.malformed_lines + r.unknown_lines > 0)
      out << "odd lines:  " << r.malformed_lines << " not JSON, "
          << r.unknown_lines << " of unknown types\n";
    if (!r.limit.empty())
      out << "limit:      " << r.limit
          << (r.limit_reset_ms > 0
                ? ", resets at " + format_time(r.limit_reset_ms)
                : std::string{})
          << "\n";
  }
  if (!x.agent.empty())
    out << "agent:      " << x.agent << "\n";
  if (x.pid != 0)
    out << "pid:        " << x.pid << "\n";
  if (x.exit_code >= 0)
    out << "exit code:  " << x.exit_code << "\n";
  if (x.signal != 0)
    out << "signal:     " << x.signal << "\n";
  if (!x.reason.empty())
    out << "reason:     " << x.reason << "\n";
  // A queued or parked task's times are those of an attempt that ended.
  auto current = x.status == task_status::running || is_terminal(x.status);
  if (current && x.started_ms != 0)
    out << "started:    " << format_time(x.started_ms) << "\n";
  if (current && x.finished_ms != 0)
    out << "ended:      " << format_time(x.finished_ms) << "\n";
  if (current && x.finished_ms != 0 && x.started_ms != 0)
    out << "run time:   " << format_duration(x.finished_ms - x.started_ms)
        << "\n";
}

/// Long-polls the node until task `id` has ended.
task_info wait_for(const cli_context& ctx, http_client& client, task_id id) {
  for (;;) {
    auto res = call(ctx, client, "GET",
                    "/v1/tasks/" + std::to_string(id)
                      + "?wait=" + std::to_string(long_poll_seconds));
    auto info = parse_task(ctx, res.body);
    if (is_terminal(info.status))
      return info;
  }
}

template <class F>
cli_status guarded(F f) {
  try {
    return f();
  } catch (const failure& x) {
    return x.status;
  }
}

} // namespace

cli_status cli_run(const cli_context& ctx, const run_options& opts) {
  return guarded([&] {
    auto client = connect(ctx);
    json body{{"provider", opts.provider}, {"priority", opts.priority}};
    if (opts.provider == "command") {
      body["argv"] = opts.argv;
    } else {
      std::string prompt;
      for (auto& word : opts.argv)
        prompt += (prompt.empty() ? "" : " ") + word;
      body["prompt"] = prompt;
    }
    if (!opts.resume_key.empty())
      body["resume_key"] = opts.resume_key;
    if (opts.new_session)
      body["new_session"] = true;
    if (!opts.model.empty())
      body["model"] = opts.model;
    if (!opts.permission_mode.empty())
      body["permission_mode"] = opts.permission_mode;
    if (!opts.allowed_tools.empty())
      body["allowed_tools"] = opts.allowed_tools;
    if (opts.max_turns != 0)
      body["max_turns"] = opts.max_turns;
    if (opts.budget_usd != 0)
      body["budget_usd"] = opts.budget_usd;
    if (opts.attempts > 0)
      body["retry"] = json{{"max_attempts", opts.attempts}};
    if (opts.timeout_s > 0)
      body["timeout_ms"] = static_cast<int64_t>(opts.timeout_s * 1000);
    if (opts.delay_s > 0)
      body["delay_ms"] = static_cast<int64_t>(opts.delay_s * 1000);
    if (!opts.after.empty())
      body["depends_on"] = opts.after;
    if (!opts.pool.empty())
      body["pool"] = opts.pool;
    if (!opts.capabilities.empty())
      body["capabilities"] = opts.capabilities;
    if (!opts.agent.empty())
      body["required_agent"] = opts.agent;
    if (opts.same_agent_as != 0)
      body["same_agent_as"] = opts.same_agent_as;
    if (!opts.exclude_agents.empty())
      body["excluded_agents"] = opts.exclude_agents;
    if (!opts.locks.empty())
      body["locks"] = opts.locks;
    for (auto& var : opts.env) {
      auto eq = var.find('=');
      if (eq == std::string::npos || eq == 0) {
        *ctx.err << "cw: --env: '" << var << "' is not NAME=VALUE\n";
        throw failure{cli_status::usage};
      }
      body["env"][var.substr(0, eq)] = var.substr(eq + 1);
    }
    std::error_code ec;
    auto ws = opts.workspace.empty() ? std::filesystem::current_path(ec)
                                     : std::filesystem::absolute(
                                       opts.workspace, ec);
    if (!ec)
      body["workspace"] = ws.lexically_normal().string();
    auto res = call(ctx, *client, "POST", "/v1/tasks", body.dump());
    auto info = parse_task(ctx, res.body);
    if (!opts.wait) {
      if (ctx.json)
        *ctx.out << res.body << "\n";
      else
        *ctx.out << info.id << "\n";
      return cli_status::success;
    }
    auto final_info = wait_for(ctx, *client, info.id);
    if (ctx.json)
      *ctx.out << runtime::to_json(final_info).dump() << "\n";
    else {
      *ctx.out << outcome_line(final_info) << "\n";
      // A prompt-driven task's answer is what its caller waited for.
      if (!final_info.report->text.empty())
        *ctx.out << final_info.report->text << "\n";
    }
    return final_info.status == task_status::completed ? cli_status::success
                                                       : cli_status::failure;
  });
}

cli_status cli_status_of(const cli_context& ctx, uint64_t id) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET", "/v1/tasks/" + std::to_string(id));
    if (ctx.json)
      *ctx.out << res.body << "\n";
    else
      print_task(ctx, parse_task(ctx, res.body));
    return cli_status::success;
  });
}

cli_status cli_tasks(const cli_context& ctx, const std::string& status,
                     uint32_t limit, bool dead) {
  return guarded([&] {
    auto client = connect(ctx);
    std::string target = "/v1/tasks?limit=" + std::to_string(limit);
    if (!status.empty())
      target += "&status=" + status;
    if (dead)
      target += "&dead=true";
    auto res = call(ctx, *client, "GET", target);
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    auto& out = *ctx.out;
    out << std::left << std::setw(8) << "ID" << std::setw(11) << "STATUS"
        << std::setw(6) << "PRI" << std::setw(9) << "ATTEMPTS" << "COMMAND\n";
    if (!j.is_object() || !j.contains("tasks"))
      return cli_status::failure;
    for (auto& item : j["tasks"]) {
      auto info = parse_task(ctx, item.dump());
      out << std::left << std::setw(8) << info.id << std::setw(11)
          << to_string(info.status) << std::setw(6) << info.spec.priority
          << std::setw(9) << info.attempts << command_line(info.spec) << "\n";
    }
    return cli_status::success;
  });
}

namespace {

/// POSTs an action on one task and prints the task afterwards.
cli_status task_action(const cli_context& ctx, uint64_t id,
                       const std::string& action) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST",
                    "/v1/tasks/" + std::to_string(id) + "/" + action);
    if (ctx.json)
      *ctx.out << res.body << "\n";
    else
      *ctx.out << outcome_line(parse_task(ctx, res.body)) << "\n";
    return cli_status::success;
  });
}

} // namespace

cli_status cli_cancel(const cli_context& ctx, uint64_t id) {
  return task_action(ctx, id, "cancel");
}

cli_status cli_retry(const cli_context& ctx, uint64_t id) {
  return task_action(ctx, id, "retry");
}

cli_status cli_scheduler(const cli_context& ctx, const std::string& action) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = action == "scheduler"
                 ? call(ctx, *client, "GET", "/v1/scheduler")
                 : call(ctx, *client, "POST", "/v1/scheduler/" + action);
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object())
      return cli_status::failure;
    auto& out = *ctx.out;
    out << "scheduler " << j.value("phase", "?") << "\n";
    out << "agents:     " << j.value("agents", 0) << " ("
        << j.value("idle_agents", 0) << " idle)\n";
    out << "tasks:     ";
    for (auto& [name, n] : j["tasks"].items())
      out << " " << name << " " << n.get<uint64_t>();
    out << "\nlast min:   " << j.value("finished_last_minute", 0)
        << " tasks ended\n";
    out << "wait:       p50 " << j["wait_ms"].value("p50", 0) << " ms, p99 "
        << j["wait_ms"].value("p99", 0) << " ms\n";
    out << "run:        p50 " << j["run_ms"].value("p50", 0) << " ms, p99 "
        << j["run_ms"].value("p99", 0) << " ms\n";
    if (auto c = j.find("cost_usd"); c != j.end() && c->is_object()) {
      out << "cost:       " << format_usd(c->value("today", 0.0))
          << " today (UTC), " << format_usd(c->value("total", 0.0))
          << " in all\n";
      if (auto pools = c->find("pools_today"); pools != c->end())
        for (auto& [pool, v] : pools->items())
          out << "            " << format_usd(v.get<double>())
              << " today in pool " << pool << "\n";
    }
    if (auto t = j.find("tokens"); t != j.end() && t->is_object()) {
      out << "tokens:     " << format_tokens(tokens_from_json(t->value("today", json{})))
          << " today (UTC)\n"
          << "            " << format_tokens(tokens_from_json(t->value("total", json{})))
          << " in all\n";
    }
    if (auto holds = j.find("holds"); holds != j.end())
      for (auto& h : *holds)
        out << "held:       " << h.value("provider", "") << " (account "
            << h.value("account", "") << ") until "
            << format_time(h.value("until_ms", int64_t{0})) << ", task "
            << h.value("task", uint64_t{0}) << ": " << h.value("reason", "")
            << "\n";
    return cli_status::success;
  });
}

cli_status cli_logs(const cli_context& ctx, uint64_t id, bool follow,
                    bool raw) {
  return guarded([&] {
    auto client = connect(ctx);
    if (!raw) {
      auto info = parse_task(
        ctx, call(ctx, *client, "GET", "/v1/tasks/" + std::to_string(id)).body);
      if (info.spec.provider == "claude") {
        // A conversation renders whole: its summary needs the end.
        if (follow && !is_terminal(info.status))
          wait_for(ctx, *client, id);
        std::string log;
        for (uint64_t offset = 0;;) {
          auto res = call(ctx, *client, "GET",
                          "/v1/tasks/" + std::to_string(id)
                            + "/log?offset=" + std::to_string(offset));
          if (res.body.empty())
            break;
          log += res.body;
          for (auto& [key, value] : res.headers)
            if (key == "X-Cw-Next-Offset")
              offset = std::stoull(value);
        }
        *ctx.out << actors::render_conversation(log) << std::flush;
        return cli_status::success;
      }
    }
    uint64_t offset = 0;
    for (;;) {
      auto res = call(ctx, *client, "GET",
                      "/v1/tasks/" + std::to_string(id)
                        + "/log?offset=" + std::to_string(offset));
      *ctx.out << res.body << std::flush;
      std::string status;
      for (auto& [key, value] : res.headers) {
        if (key == "X-Cw-Next-Offset")
          offset = std::stoull(value);
        else if (key == "X-Cw-Task-Status")
          status = value;
      }
      task_status st = task_status::queued;
      bool ended = from_string(status, st) && is_terminal(st);
      if (!res.body.empty())
        continue; // more may be there already
      if (!follow || ended)
        return cli_status::success;
      // Nothing new: block on the node until the task ends or a second
      // passes, then look again.
      call(ctx, *client, "GET", "/v1/tasks/" + std::to_string(id) + "?wait=1");
    }
  });
}

// -- workflows ----------------------------------------------------------------

caf::expected<std::string> read_workflow_file(const std::string& file) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "file: " + file + ": " + why);
  };
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return bad("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  if (std::filesystem::path{file}.extension() != ".toml") {
    auto j = json::parse(text.str(), nullptr, false);
    if (j.is_discarded())
      return bad("not valid JSON");
    return j.dump();
  }
  try {
    auto tbl = toml::parse(text.str(), file);
    std::stringstream out;
    out << toml::json_formatter{tbl};
    return out.str();
  } catch (const toml::parse_error& err) {
    return bad("line " + std::to_string(err.source().begin.line) + ": "
               + std::string{err.description()});
  }
}

namespace {

workflow_info parse_workflow(const cli_context& ctx, const std::string& body) {
  return parse_answer(ctx, body, workflow_from_json);
}

std::string workflow_line(const workflow_info& x) {
  size_t ended = 0;
  for (auto& t : x.tasks)
    ended += is_terminal(t.status) ? 1 : 0;
  std::ostringstream out;
  out << "workflow " << x.id << " " << x.name << ": " << to_string(x.status)
      << ", " << std::fixed << std::setprecision(0) << x.progress << "% ("
      << ended << " of " << x.tasks.size() << " tasks ended), "
      << to_string(x.policy);
  if (!x.reason.empty())
    out << "\nreason: " << x.reason;
  return out.str();
}

void print_workflow(const cli_context& ctx, const workflow_info& x) {
  auto& out = *ctx.out;
  out << workflow_line(x) << "\n";
  out << "critical path: ";
  for (size_t i = 0; i < x.critical_path.size(); ++i)
    out << (i == 0 ? "" : " -> ") << x.critical_path[i];
  out << " (" << x.critical_path_ms << " ms)\n";
  if (x.cost.usd > 0 || !x.cost.tokens.empty() || x.budget_usd > 0)
    out << "cost: " << format_usd(x.cost.usd)
        << (x.budget_usd > 0 ? " of its budget " + format_usd(x.budget_usd)
                             : std::string{})
        << "; tokens " << format_tokens(x.cost.tokens) << "\n";
  out << std::left << std::setw(16) << "ID" << std::setw(8) << "TASK"
      << std::setw(11) << "STATUS" << std::setw(20) << "DEPENDS ON"
      << "REASON\n";
  for (auto& t : x.tasks) {
    std::string deps;
    for (auto& d : t.depends_on)
      deps += (deps.empty() ? "" : ",") + d;
    out << std::left << std::setw(16) << t.key << std::setw(8) << t.id
        << std::setw(11) << to_string(t.status) << std::setw(20)
        << (deps.empty() ? "-" : deps) << t.reason << "\n";
  }
}

} // namespace

cli_status cli_workflow_submit(const cli_context& ctx, const std::string& file,
                               bool wait) {
  return guarded([&] {
    auto body = read_workflow_file(file);
    if (!body) {
      *ctx.err << "cw: " << describe(body.error()) << "\n";
      return cli_status::usage;
    }
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST", "/v1/workflows", *body);
    auto info = parse_workflow(ctx, res.body);
    if (!wait) {
      if (ctx.json)
        *ctx.out << res.body << "\n";
      else
        *ctx.out << info.id << "\n";
      return cli_status::success;
    }
    // The workflow ends in the same journal commit as its last task, so
    // once every task has ended the workflow has too.
    for (auto& t : info.tasks)
      wait_for(ctx, *client, t.id);
    auto final_res
      = call(ctx, *client, "GET", "/v1/workflows/" + std::to_string(info.id));
    auto final_info = parse_workflow(ctx, final_res.body);
    if (ctx.json)
      *ctx.out << final_res.body << "\n";
    else
      print_workflow(ctx, final_info);
    return final_info.status == workflow_status::completed
             ? cli_status::success
             : cli_status::failure;
  });
}

cli_status cli_workflow_status(const cli_context& ctx, uint64_t id) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET", "/v1/workflows/" + std::to_string(id));
    if (ctx.json)
      *ctx.out << res.body << "\n";
    else
      print_workflow(ctx, parse_workflow(ctx, res.body));
    return cli_status::success;
  });
}

cli_status cli_workflow_list(const cli_context& ctx, uint32_t limit) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET",
                    "/v1/workflows?limit=" + std::to_string(limit));
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("workflows"))
      return cli_status::failure;
    for (auto& item : j["workflows"])
      *ctx.out << workflow_line(parse_workflow(ctx, item.dump())) << "\n";
    return cli_status::success;
  });
}

cli_status cli_workflow_cancel(const cli_context& ctx, uint64_t id) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST",
                    "/v1/workflows/" + std::to_string(id) + "/cancel");
    if (ctx.json)
      *ctx.out << res.body << "\n";
    else
      *ctx.out << workflow_line(parse_workflow(ctx, res.body)) << "\n";
    return cli_status::success;
  });
}

// -- locks --------------------------------------------------------------------

namespace {

/// Splits `NAME[:shared|:exclusive]`; a name may hold other colons.
std::pair<std::string, bool> split_lock_name(const std::string& str) {
  for (auto [suffix, exclusive] :
       {std::pair{":shared", false}, std::pair{":exclusive", true}}) {
    auto n = std::char_traits<char>::length(suffix);
    if (str.size() > n && str.compare(str.size() - n, n, suffix) == 0)
      return {str.substr(0, str.size() - n), exclusive};
  }
  return {str, true};
}

} // namespace

cli_status cli_agents(const cli_context& ctx) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET", "/v1/agents");
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("agents") || !j.contains("breakers"))
      return cli_status::failure;
    auto& out = *ctx.out;
    out << std::left << std::setw(20) << "AGENT" << std::setw(14) << "POOL"
        << std::setw(12) << "PROVIDER" << std::setw(7) << "LOAD" << "TASKS\n";
    for (auto& a : j["agents"]) {
      std::string tasks;
      for (auto& t : a["tasks"])
        tasks += (tasks.empty() ? "" : ",") + std::to_string(t.get<uint64_t>());
      out << std::left << std::setw(20) << a.value("name", "") << std::setw(14)
          << a.value("pool", "") << std::setw(12) << a.value("provider", "")
          << std::setw(7)
          << (std::to_string(a.value("load", 0)) + "/"
              + std::to_string(a.value("max_load", 0)))
          << (tasks.empty() ? "-" : tasks) << "\n";
    }
    if (!j["breakers"].empty()) {
      out << "\n" << std::left << std::setw(12) << "PROVIDER" << std::setw(11)
          << "BREAKER" << "FAILURES\n";
      for (auto& b : j["breakers"])
        out << std::left << std::setw(12) << b.value("provider", "")
            << std::setw(11) << b.value("state", "")
            << b.value("failures", 0) << "\n";
    }
    if (auto c = j.find("cost_usd"); c != j.end() && !c->empty()) {
      out << "\n" << std::left << std::setw(14) << "POOL" << std::setw(12)
          << "TODAY(UTC)" << std::setw(12) << "TOTAL"
          << "TOKENS TODAY (in/out/cache read/cache written)\n";
      for (auto& [pool, cost] : c->items()) {
        auto t = tokens_from_json(cost.value("today_tokens", json{}));
        out << std::left << std::setw(14) << pool << std::setw(12)
            << format_usd(cost.value("today_usd", 0.0)) << std::setw(12)
            << format_usd(cost.value("total_usd", 0.0)) << t.input << "/"
            << t.output << "/" << t.cache_read << "/" << t.cache_creation
            << "\n";
      }
    }
    return cli_status::success;
  });
}

namespace {

void print_session(const cli_context& ctx, const session_info& s) {
  std::string tasks;
  for (auto t : s.tasks)
    tasks += (tasks.empty() ? "" : ",") + std::to_string(t);
  *ctx.out << "id:         " << s.id << "\n"
           << "state:      " << to_string(s.state) << "\n"
           << "provider:   " << s.provider << "\n"
           << "pool:       " << (s.pool.empty() ? "(any)" : s.pool) << "\n"
           << "cli id:     "
           << (s.cli_session_id.empty() ? "-" : s.cli_session_id) << "\n"
           << "resume key: " << (s.resume_key.empty() ? "-" : s.resume_key)
           << "\n"
           << "workspace:  " << (s.workspace.empty() ? "-" : s.workspace)
           << "\n"
           << "tasks:      " << (tasks.empty() ? "-" : tasks) << "\n"
           << "running:    "
           << (s.current_task != 0 ? std::to_string(s.current_task) : "-")
           << "\n"
           << "turns:      " << s.turns << "\n"
           << "cost:       " << format_usd(s.cost_usd) << "\n"
           << "tokens:     " << format_tokens(s.tokens) << "\n";
}

/// Prints the session a node answered with (its JSON with `--json`).
cli_status print_session_answer(const cli_context& ctx,
                                const http_response& res) {
  if (ctx.json) {
    *ctx.out << res.body << "\n";
    return cli_status::success;
  }
  auto s = session_from_json(json::parse(res.body, nullptr, false));
  if (!s)
    return cli_status::failure;
  print_session(ctx, *s);
  return cli_status::success;
}

} // namespace

cli_status cli_sessions(const cli_context& ctx, const std::string& state) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET",
                    "/v1/sessions" + (state.empty() ? "" : "?state=" + state));
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("sessions"))
      return cli_status::failure;
    auto& out = *ctx.out;
    out << std::left << std::setw(6) << "ID" << std::setw(8) << "STATE"
        << std::setw(10) << "PROVIDER" << std::setw(16) << "KEY" << std::setw(7)
        << "TASKS" << std::setw(7) << "TURNS" << std::setw(10) << "COST"
        << std::setw(12) << "TOKENS" << "CLI SESSION\n";
    double total = 0;
    for (auto& item : j["sessions"]) {
      auto s = session_from_json(item);
      if (!s)
        return cli_status::failure;
      total += s->cost_usd;
      out << std::left << std::setw(6) << s->id << std::setw(8)
          << to_string(s->state) << std::setw(10) << s->provider
          << std::setw(16)
          << (s->resume_key.empty() ? "-" : s->resume_key) << std::setw(7)
          << s->tasks.size() << std::setw(7) << s->turns << std::setw(10)
          << format_usd(s->cost_usd) << std::setw(12)
          << (s->tokens.input + s->tokens.output + s->tokens.cache_read
              + s->tokens.cache_creation)
          << (s->cli_session_id.empty() ? "-" : s->cli_session_id) << "\n";
    }
    out << "total cost: " << format_usd(total) << "\n";
    return cli_status::success;
  });
}

cli_status cli_session(const cli_context& ctx, const std::string& action,
                       uint64_t id) {
  return guarded([&] {
    auto client = connect(ctx);
    auto target = "/v1/sessions/" + std::to_string(id);
    auto res = action == "show"
                 ? call(ctx, *client, "GET", target)
                 : call(ctx, *client, "POST", target + "/" + action);
    return print_session_answer(ctx, res);
  });
}

cli_status cli_session_open(const cli_context& ctx, const std::string& provider,
                            const std::string& pool,
                            const std::string& resume_key) {
  return guarded([&] {
    auto client = connect(ctx);
    json body{{"provider", provider}};
    if (!pool.empty())
      body["pool"] = pool;
    if (!resume_key.empty())
      body["resume_key"] = resume_key;
    return print_session_answer(
      ctx, call(ctx, *client, "POST", "/v1/sessions", body.dump()));
  });
}

cli_status cli_costs(const cli_context& ctx, uint32_t days) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET",
                    "/v1/costs?days=" + std::to_string(days));
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto report = cost_report_from_json(json::parse(res.body, nullptr, false));
    if (!report)
      return cli_status::failure;
    auto& out = *ctx.out;
    auto row = [&out](const std::string& day, const std::string& pool,
                      const cost_figures& x) {
      out << std::left << std::setw(12) << day << std::setw(14) << pool
          << std::setw(12) << format_usd(x.usd) << std::setw(12)
          << x.tokens.input << std::setw(12) << x.tokens.output
          << std::setw(14) << x.tokens.cache_read << x.tokens.cache_creation
          << "\n";
    };
    out << std::left << std::setw(12) << "DAY(UTC)" << std::setw(14) << "POOL"
        << std::setw(12) << "COST" << std::setw(12) << "IN" << std::setw(12)
        << "OUT" << std::setw(14) << "CACHE READ" << "CACHE WRITTEN\n";
    for (auto& d : report->days) {
      row(format_day(d.day), "(node)", d.node);
      for (auto& [pool, x] : d.pools)
        row("", pool, x);
    }
    row("all days", "(node)", report->total);
    for (auto& [pool, x] : report->pools)
      row("", pool, x);
    return cli_status::success;
  });
}

cli_status cli_locks(const cli_context& ctx) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET", "/v1/locks");
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("holders") || !j.contains("waiters"))
      return cli_status::failure;
    auto& out = *ctx.out;
    out << std::left << std::setw(32) << "RESOURCE" << std::setw(10) << "MODE"
        << std::setw(9) << "STATE" << std::setw(6) << "PRI" << std::setw(10)
        << "WAITED" << "OWNER\n";
    for (auto& h : j["holders"])
      out << std::left << std::setw(32) << h.value("resource", "")
          << std::setw(10) << h.value("mode", "") << std::setw(9) << "held"
          << std::setw(6) << "-" << std::setw(10) << "-"
          << h.value("owner", "") << "\n";
    for (auto& w : j["waiters"])
      out << std::left << std::setw(32) << w.value("resource", "")
          << std::setw(10) << w.value("mode", "") << std::setw(9) << "waiting"
          << std::setw(6) << w.value("priority", 0) << std::setw(10)
          << (std::to_string(w.value("waited_ms", int64_t{0})) + "ms")
          << w.value("owner", "") << "\n";
    return cli_status::success;
  });
}

cli_status cli_lock_acquire(const cli_context& ctx, const lock_options& opts) {
  return guarded([&] {
    auto [name, exclusive] = split_lock_name(opts.resource);
    auto timeout_ms = static_cast<int64_t>(opts.timeout_s * 1000);
    json body{{"owner", opts.owner},
              {"resource", name},
              {"mode", exclusive ? "exclusive" : "shared"},
              {"priority", opts.priority},
              {"timeout_ms", timeout_ms}};
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST", "/v1/locks/acquire", body.dump(),
                    std::chrono::milliseconds(timeout_ms)
                      + std::chrono::seconds(60));
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object())
      return cli_status::failure;
    *ctx.out << "granted " << j.value("mode", "") << " lock on "
             << j.value("resource", "") << " to " << j.value("owner", "")
             << " (waited " << j.value("waited_ms", int64_t{0}) << " ms)\n";
    return cli_status::success;
  });
}

cli_status cli_lock_release(const cli_context& ctx, const std::string& resource,
                            const std::string& owner) {
  return guarded([&] {
    // The mode suffix of `cw lock acquire` is accepted here too.
    auto name = split_lock_name(resource).first;
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST", "/v1/locks/release",
                    json{{"owner", owner}, {"resource", name}}.dump());
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    *ctx.out << "released " << name << " held by " << owner << "\n";
    return cli_status::success;
  });
}

cli_status cli_workspace_add(const cli_context& ctx,
                             const workspace_options& opts) {
  return guarded([&] {
    std::error_code ec;
    auto path = std::filesystem::absolute(opts.path, ec).lexically_normal();
    json body{{"path", path.string()}};
    if (!opts.name.empty())
      body["name"] = opts.name;
    if (!opts.isolation.empty())
      body["isolation"] = opts.isolation;
    if (!opts.base.empty())
      body["base"] = opts.base;
    if (!opts.conflict_policy.empty())
      body["conflict_policy"] = opts.conflict_policy;
    if (!opts.ignore.empty())
      body["ignore"] = opts.ignore;
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST", "/v1/workspaces", body.dump());
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object())
      return cli_status::failure;
    *ctx.out << "workspace " << j.value("name", "") << ": "
             << j.value("root", "") << " (" << j.value("isolation", "")
             << ", conflicts: " << j.value("conflict_policy", "") << ")\n";
    return cli_status::success;
  });
}

cli_status cli_workspace_list(const cli_context& ctx) {
  return guarded([&] {
    auto client = connect(ctx);
    auto res = call(ctx, *client, "GET", "/v1/workspaces");
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("workspaces"))
      return cli_status::failure;
    auto& out = *ctx.out;
    out << std::left << std::setw(20) << "NAME" << std::setw(10) << "ISOLATION"
        << std::setw(8) << "POLICY" << std::setw(9) << "RUNNING"
        << std::setw(10) << "WORKTREES" << std::setw(10) << "CONFLICTS"
        << "ROOT\n";
    for (auto& w : j["workspaces"])
      out << std::left << std::setw(20) << w.value("name", "")
          << std::setw(10) << w.value("isolation", "") << std::setw(8)
          << w.value("conflict_policy", "") << std::setw(9)
          << w["running"].size() << std::setw(10) << w["worktrees"].size()
          << std::setw(10) << w.value("conflicts", uint64_t{0})
          << w.value("root", "") << (w.value("implicit", false) ? " (implicit)"
                                                               : "")
          << "\n";
    for (auto& w : j["workspaces"])
      for (auto& t : w["worktrees"])
        out << "  " << w.value("name", "") << ": task "
            << t.value("task", uint64_t{0}) << " on "
            << t.value("branch", "") << " at " << t.value("path", "") << "\n";
    return cli_status::success;
  });
}

cli_status cli_workspace_prune(const cli_context& ctx, const std::string& name,
                               bool delete_branches, bool force) {
  return guarded([&] {
    json body{{"delete_branches", delete_branches}, {"force", force}};
    if (!name.empty())
      body["workspace"] = name;
    auto client = connect(ctx);
    auto res = call(ctx, *client, "POST", "/v1/workspaces/prune", body.dump(),
                    std::chrono::seconds(120));
    if (ctx.json) {
      *ctx.out << res.body << "\n";
      return cli_status::success;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (!j.is_object() || !j.contains("removed") || !j.contains("kept"))
      return cli_status::failure;
    auto& out = *ctx.out;
    auto worktree = [](const json& w) {
      return "worktree of task " + std::to_string(w.value("task", uint64_t{0}))
             + " at " + w.value("path", "");
    };
    for (auto& w : j["removed"]) {
      out << "removed " << worktree(w);
      if (w.value("branch_deleted", false))
        out << " and branch " << w.value("branch", "");
      else if (!delete_branches)
        out << " (branch kept: " << w.value("branch", "") << ")";
      else
        out << "; " << w.value("branch_kept", "");
      out << "\n";
    }
    for (auto& w : j["kept"])
      out << "kept " << worktree(w) << ": " << w.value("reason", "") << "\n";
    if (j["removed"].empty() && j["kept"].empty())
      out << "nothing to prune\n";
    return cli_status::success;
  });
}

} // namespace cw::runtime
