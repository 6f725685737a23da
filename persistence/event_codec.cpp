#include "persistence/event_codec.hpp"

#include <charconv>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "messages/errc.hpp"
#include "messages/overload.hpp"

namespace cw::persistence {

using json = nlohmann::json;

void to_json(json& j, const retry_policy& x) {
  j = json{{"max_attempts", x.max_attempts},
           {"base_delay_ms", x.base_delay_ms},
           {"factor", x.factor},
           {"max_delay_ms", x.max_delay_ms},
           {"jitter", x.jitter}};
}

void to_json(json& j, const task_spec& x) {
  json retry;
  to_json(retry, x.retry);
  j = json{{"provider", x.provider},     {"argv", x.argv},
           {"prompt", x.prompt},         {"workspace", x.workspace},
           {"priority", x.priority},     {"retry", std::move(retry)},
           {"timeout_ms", x.timeout_ms}, {"run_at_ms", x.run_at_ms},
           {"depends_on", x.depends_on}};
  // Fields added in version 3 appear only when set: most tasks use none.
  if (x.workflow != 0) {
    j["workflow"] = x.workflow;
    j["key"] = x.key;
  }
  if (!x.pool.empty())
    j["pool"] = x.pool;
  if (!x.capabilities.empty())
    j["capabilities"] = x.capabilities;
  if (!x.required_agent.empty())
    j["required_agent"] = x.required_agent;
  if (x.same_agent_as != 0)
    j["same_agent_as"] = x.same_agent_as;
  if (!x.excluded_agents.empty())
    j["excluded_agents"] = x.excluded_agents;
  if (!x.env.empty())
    j["env"] = x.env;
  if (!x.resume_key.empty())
    j["resume_key"] = x.resume_key;
  if (!x.resume_session.empty())
    j["resume_session"] = x.resume_session;
  if (x.new_session)
    j["new_session"] = true;
  if (x.permissions != permission_mode::unset)
    j["permission_mode"] = to_string(x.permissions);
  if (!x.model.empty())
    j["model"] = x.model;
  if (!x.allowed_tools.empty())
    j["allowed_tools"] = x.allowed_tools;
  if (x.max_turns != 0)
    j["max_turns"] = x.max_turns;
  if (x.budget_usd != 0)
    j["budget_usd"] = x.budget_usd;
  if (!x.locks.empty())
    j["locks"] = x.locks;
}

void to_json(json& j, const run_report& x) {
  j = json{{"session", x.session},
           {"model", x.model},
           {"subtype", x.subtype},
           {"text", x.text},
           {"cost_usd", x.cost_usd},
           {"input_tokens", x.input_tokens},
           {"output_tokens", x.output_tokens},
           {"cache_read_tokens", x.cache_read_tokens},
           {"cache_creation_tokens", x.cache_creation_tokens},
           {"turns", x.turns},
           {"tool_uses", x.tool_uses},
           {"malformed_lines", x.malformed_lines},
           {"unknown_lines", x.unknown_lines},
           {"duration_ms", x.duration_ms}};
  if (!x.limit.empty()) {
    j["limit"] = x.limit;
    j["limit_reset_ms"] = x.limit_reset_ms;
  }
  // Fields added later appear only when set, so that older reports encode
  // as they did.
  if (!x.tools.empty())
    j["tools"] = x.tools;
  if (!x.mcp_servers.empty())
    j["mcp_servers"] = x.mcp_servers;
  if (!x.permission_mode.empty())
    j["permission_mode"] = x.permission_mode;
  if (x.is_error)
    j["is_error"] = true;
  if (!x.errors.empty())
    j["errors"] = x.errors;
  if (!x.tool_calls.empty())
    j["tool_calls"] = x.tool_calls;
  if (x.tool_errors != 0)
    j["tool_errors"] = x.tool_errors;
  if (x.permission_denials != 0)
    j["permission_denials"] = x.permission_denials;
  if (x.duration_api_ms != 0)
    j["duration_api_ms"] = x.duration_api_ms;
}

void from_json(const json& j, run_report& x) {
  x.session = j.value("session", std::string{});
  x.model = j.value("model", std::string{});
  x.subtype = j.value("subtype", std::string{});
  x.text = j.value("text", std::string{});
  x.cost_usd = j.value("cost_usd", 0.0);
  x.input_tokens = j.value("input_tokens", uint64_t{0});
  x.output_tokens = j.value("output_tokens", uint64_t{0});
  x.cache_read_tokens = j.value("cache_read_tokens", uint64_t{0});
  x.cache_creation_tokens = j.value("cache_creation_tokens", uint64_t{0});
  x.turns = j.value("turns", uint32_t{0});
  x.tool_uses = j.value("tool_uses", uint32_t{0});
  x.malformed_lines = j.value("malformed_lines", uint32_t{0});
  x.unknown_lines = j.value("unknown_lines", uint32_t{0});
  x.duration_ms = j.value("duration_ms", int64_t{0});
  x.limit = j.value("limit", std::string{});
  x.limit_reset_ms = j.value("limit_reset_ms", int64_t{0});
  x.tools = j.value("tools", std::vector<std::string>{});
  x.mcp_servers = j.value("mcp_servers", std::vector<std::string>{});
  x.permission_mode = j.value("permission_mode", std::string{});
  x.is_error = j.value("is_error", false);
  x.errors = j.value("errors", std::string{});
  x.tool_calls = j.value("tool_calls", std::map<std::string, uint32_t>{});
  x.tool_errors = j.value("tool_errors", uint32_t{0});
  x.permission_denials = j.value("permission_denials", uint32_t{0});
  x.duration_api_ms = j.value("duration_api_ms", int64_t{0});
}

void to_json(json& j, const task_outcome& x) {
  j = json{{"status", to_string(x.status)},
           {"exit_code", x.exit_code},
           {"signal", x.signal},
           {"reason", x.reason}};
  // Only prompt-driven runs report; command tasks keep the short payload.
  if (!x.report.empty())
    to_json(j["report"], x.report);
  if (!x.changes.empty())
    to_json(j["changes"], x.changes);
}

void to_json(json& j, const workspace_report& x) {
  j = json{{"workspace", x.workspace}, {"changed_files", x.changed_files}};
  if (!x.branch.empty()) {
    j["branch"] = x.branch;
    j["worktree"] = x.worktree;
  }
  if (!x.conflicts.empty())
    j["conflicts"] = x.conflicts;
  if (!x.note.empty())
    j["note"] = x.note;
  if (!x.violation.empty())
    j["violation"] = x.violation;
}

void from_json(const json& j, workspace_report& x) {
  x.workspace = j.value("workspace", std::string{});
  x.branch = j.value("branch", std::string{});
  x.worktree = j.value("worktree", std::string{});
  x.changed_files = j.value("changed_files", std::vector<std::string>{});
  x.conflicts = j.value("conflicts", std::vector<std::string>{});
  x.note = j.value("note", std::string{});
  x.violation = j.value("violation", std::string{});
}

namespace {

/// Type name and current version of each event.
struct encoder {
  json& payload;
  uint32_t& version;
  std::string operator()(const task_submitted& x) {
    json spec;
    to_json(spec, x.spec);
    payload = json{{"id", x.id}, {"spec", std::move(spec)}};
    version = 3;
    return "task.submitted";
  }
  std::string operator()(const task_assigned& x) {
    payload = json{{"id", x.id},
                   {"agent", x.agent},
                   {"attempt", x.attempt},
                   {"reason", x.reason}};
    if (x.session != 0) {
      payload["session"] = x.session;
      payload["tier"] = x.tier;
      payload["pool"] = x.pool;
    }
    version = 2;
    return "task.assigned";
  }
  std::string operator()(const task_started& x) {
    payload = json{{"id", x.id}, {"pid", x.pid}};
    if (x.process.shim_pid != 0) {
      payload["shim_pid"] = x.process.shim_pid;
      payload["shim_start"] = x.process.shim_start;
      payload["log_offset"] = x.process.log_offset;
    }
    version = 2;
    return "task.started";
  }
  std::string operator()(const task_finished& x) {
    json outcome;
    to_json(outcome, x.outcome);
    payload = json{{"id", x.id}, {"outcome", std::move(outcome)}};
    return "task.finished";
  }
  std::string operator()(const task_requeued& x) {
    payload = json{{"id", x.id}, {"reason", x.reason}};
    return "task.requeued";
  }
  std::string operator()(const task_retry_scheduled& x) {
    payload = json{{"id", x.id}, {"reason", x.reason}, {"run_at_ms", x.run_at_ms}};
    if (!x.report.empty())
      to_json(payload["report"], x.report);
    return "task.retry_scheduled";
  }
  std::string operator()(const task_cancelled& x) {
    payload = json{{"id", x.id}, {"reason", x.reason}};
    return "task.cancelled";
  }
  std::string operator()(const task_retried& x) {
    payload = json{{"id", x.id}};
    return "task.retried";
  }
  std::string operator()(const session_changed& x) {
    payload = json{{"id", x.id}, {"reason", x.reason}};
    if (x.what == "opened") {
      payload["provider"] = x.provider;
      payload["pool"] = x.pool;
      payload["resume_key"] = x.resume_key;
    }
    return "session." + x.what;
  }
  std::string operator()(const limit_changed& x) {
    payload = json{{"id", x.id},
                   {"provider", x.provider},
                   {"account", x.account},
                   {"reason", x.reason}};
    if (x.what == "held")
      payload["until_ms"] = x.until_ms;
    return "limit." + x.what;
  }
  std::string operator()(const task_parked& x) {
    payload = json{{"id", x.id},
                   {"reason", x.reason},
                   {"until_ms", x.until_ms},
                   {"session", x.session}};
    if (!x.report.empty())
      to_json(payload["report"], x.report);
    return "task.parked";
  }
  std::string operator()(const workflow_submitted& x) {
    payload = json{{"id", x.id},
                   {"name", x.name},
                   {"policy", to_string(x.policy)},
                   {"tasks", x.tasks}};
    if (x.budget_usd != 0)
      payload["budget_usd"] = x.budget_usd;
    return "workflow.submitted";
  }
  std::string operator()(const workflow_finished& x) {
    payload = json{{"id", x.id},
                   {"status", to_string(x.status)},
                   {"reason", x.reason}};
    return "workflow.finished";
  }
};

// -- fast encoding of the hot events ------------------------------------------

// Each task passes through submitted, assigned, started and finished, so these
// four are written by hand. The output must stay byte-identical to what
// nlohmann's dump() makes of the same payload (the journal-v1 fixture and the
// checksums depend on it): keys in std::map order, nlohmann's escapes.
// Strings with bytes >= 0x80 take the nlohmann path, which checks UTF-8.
class payload_writer {
public:
  explicit payload_writer(std::string& out) : out_(out) {
    // nop
  }

  bool ok() const noexcept {
    return ok_;
  }

  void key(std::string_view k) {
    out_ += first_ ? "\"" : ",\"";
    out_ += k;
    out_ += "\":";
    first_ = false;
  }

  void begin_object() {
    out_ += '{';
    first_ = true;
  }

  void end_object() {
    out_ += '}';
    first_ = false;
  }

  template <class T>
  void integer(T x) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), x);
    out_.append(buf, res.ptr);
  }

  void floating(double x) {
    // Rare values only: nlohmann's shortest round-trip form.
    if (x == 2.0)
      out_ += "2.0";
    else if (x == 0.1)
      out_ += "0.1";
    else
      out_ += json(x).dump();
  }

  void string(std::string_view str) {
    out_ += '"';
    for (auto c : str) {
      auto u = static_cast<unsigned char>(c);
      if (u >= 0x80) {
        ok_ = false;
        return;
      }
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (u < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out_ += "\\u00";
            out_ += hex[u >> 4];
            out_ += hex[u & 0xF];
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  template <class T>
  void array(const std::vector<T>& xs) {
    out_ += '[';
    for (size_t i = 0; i < xs.size(); ++i) {
      if (i != 0)
        out_ += ',';
      if constexpr (std::is_same_v<T, std::string>)
        string(xs[i]);
      else
        integer(xs[i]);
    }
    out_ += ']';
  }

private:
  std::string& out_;
  bool first_ = true;
  bool ok_ = true;
};

/// Writes the payload of a hot event; returns false for other events and for
/// payloads that must go through nlohmann.
struct fast_encoder {
  std::string& out;
  std::string& type;
  uint32_t& version;

  bool operator()(const task_submitted& x) {
    const auto& s = x.spec;
    // Prompt-driven tasks' fields and locks: the nlohmann path.
    if (!s.resume_key.empty() || !s.resume_session.empty() || s.new_session
        || !s.model.empty() || s.permissions != permission_mode::unset
        || !s.allowed_tools.empty()
        || s.max_turns != 0 || s.budget_usd != 0 || !s.locks.empty())
      return false;
    payload_writer w{out};
    // Keys in std::map order, as nlohmann writes them.
    w.begin_object();
    w.key("id");
    w.integer(x.id);
    w.key("spec");
    w.begin_object();
    w.key("argv");
    w.array(s.argv);
    if (!s.capabilities.empty()) {
      w.key("capabilities");
      w.array(s.capabilities);
    }
    w.key("depends_on");
    w.array(s.depends_on);
    if (!s.env.empty()) {
      w.key("env");
      w.begin_object();
      for (auto& [name, value] : s.env) {
        w.key(name);
        w.string(value);
      }
      w.end_object();
    }
    if (!s.excluded_agents.empty()) {
      w.key("excluded_agents");
      w.array(s.excluded_agents);
    }
    if (s.workflow != 0) {
      w.key("key");
      w.string(s.key);
    }
    if (!s.pool.empty()) {
      w.key("pool");
      w.string(s.pool);
    }
    w.key("priority");
    w.integer(s.priority);
    w.key("prompt");
    w.string(s.prompt);
    w.key("provider");
    w.string(s.provider);
    if (!s.required_agent.empty()) {
      w.key("required_agent");
      w.string(s.required_agent);
    }
    w.key("retry");
    w.begin_object();
    w.key("base_delay_ms");
    w.integer(s.retry.base_delay_ms);
    w.key("factor");
    w.floating(s.retry.factor);
    w.key("jitter");
    w.floating(s.retry.jitter);
    w.key("max_attempts");
    w.integer(s.retry.max_attempts);
    w.key("max_delay_ms");
    w.integer(s.retry.max_delay_ms);
    w.end_object();
    w.key("run_at_ms");
    w.integer(s.run_at_ms);
    if (s.same_agent_as != 0) {
      w.key("same_agent_as");
      w.integer(s.same_agent_as);
    }
    w.key("timeout_ms");
    w.integer(s.timeout_ms);
    if (s.workflow != 0) {
      w.key("workflow");
      w.integer(s.workflow);
    }
    w.key("workspace");
    w.string(s.workspace);
    w.end_object();
    w.end_object();
    type = "task.submitted";
    version = 3;
    return w.ok();
  }

  bool operator()(const task_assigned& x) {
    if (x.session != 0)
      return false; // a session's task: the nlohmann path
    payload_writer w{out};
    w.begin_object();
    w.key("agent");
    w.string(x.agent);
    w.key("attempt");
    w.integer(x.attempt);
    w.key("id");
    w.integer(x.id);
    w.key("reason");
    w.string(x.reason);
    w.end_object();
    type = "task.assigned";
    version = 2;
    return w.ok();
  }

  bool operator()(const task_started& x) {
    payload_writer w{out};
    w.begin_object();
    w.key("id");
    w.integer(x.id);
    // Keys in nlohmann's (sorted) order.
    if (x.process.shim_pid != 0) {
      w.key("log_offset");
      w.integer(x.process.log_offset);
    }
    w.key("pid");
    w.integer(x.pid);
    if (x.process.shim_pid != 0) {
      w.key("shim_pid");
      w.integer(x.process.shim_pid);
      w.key("shim_start");
      w.integer(x.process.shim_start);
    }
    w.end_object();
    type = "task.started";
    version = 2;
    return w.ok();
  }

  bool operator()(const task_finished& x) {
    if (!x.outcome.report.empty() || !x.outcome.changes.empty())
      return false; // rare and long: the nlohmann path
    payload_writer w{out};
    w.begin_object();
    w.key("id");
    w.integer(x.id);
    w.key("outcome");
    w.begin_object();
    w.key("exit_code");
    w.integer(x.outcome.exit_code);
    w.key("reason");
    w.string(x.outcome.reason);
    w.key("signal");
    w.integer(x.outcome.signal);
    w.key("status");
    w.string(to_string(x.outcome.status));
    w.end_object();
    w.end_object();
    type = "task.finished";
    return w.ok();
  }

  template <class T>
  bool operator()(const T&) {
    return false;
  }
};

} // namespace

event encode(const task_event& x, int64_t time_ms, const std::string& node) {
  event result;
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = entity_of(x);
  result.payload.reserve(256);
  if (std::visit(fast_encoder{result.payload, result.type, result.version}, x))
    return result;
  json payload;
  result.version = 1;
  result.payload.clear();
  result.type = std::visit(encoder{payload, result.version}, x);
  result.payload = payload.dump();
  return result;
}

namespace {

/// Returns the error for a row that does not decode, naming type and seq.
caf::error undecodable(const event& x, const std::string& why) {
  return make_error(errc::journal_corrupt,
                    "cannot decode " + x.type + "@" + std::to_string(x.version)
                      + " at seq " + std::to_string(x.seq) + ": " + why);
}

} // namespace

event encode(const scheduler_phase_changed& x, int64_t time_ms,
             const std::string& node) {
  event result;
  result.type = "scheduler.phase_changed";
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "scheduler";
  result.payload = json{{"from", to_string(x.from)}, {"to", to_string(x.to)}}.dump();
  return result;
}

namespace {

/// Returns a lock event's envelope; lock events are not folded at start-up
/// (locks do not survive a restart), so they are never decoded.
event lock_event(const char* type, const std::string& resource, json payload,
                 int64_t time_ms, const std::string& node) {
  event result;
  result.type = type;
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "lock/" + resource;
  result.payload = payload.dump();
  return result;
}

const char* mode_name(bool exclusive) {
  return exclusive ? "exclusive" : "shared";
}

} // namespace

event encode(const lock_acquired& x, int64_t time_ms, const std::string& node) {
  return lock_event("lock.acquired", x.resource,
                    json{{"request", x.request},
                         {"owner", x.owner},
                         {"resource", x.resource},
                         {"mode", mode_name(x.exclusive)},
                         {"priority", x.priority},
                         {"waited_ms", x.waited_ms}},
                    time_ms, node);
}

event encode(const lock_released& x, int64_t time_ms, const std::string& node) {
  return lock_event("lock.released", x.resource,
                    json{{"owner", x.owner},
                         {"resource", x.resource},
                         {"mode", mode_name(x.exclusive)},
                         {"reason", x.reason}},
                    time_ms, node);
}

event encode(const lock_refused& x, int64_t time_ms, const std::string& node) {
  return lock_event("lock.refused", x.resource,
                    json{{"request", x.request},
                         {"owner", x.owner},
                         {"resource", x.resource},
                         {"mode", mode_name(x.exclusive)},
                         {"priority", x.priority},
                         {"reason", x.reason},
                         {"message", x.message}},
                    time_ms, node);
}

event encode(const lock_deadlock& x, int64_t time_ms, const std::string& node) {
  auto cycle = json::array();
  for (auto& step : x.cycle)
    cycle.push_back(json{{"request", step.request},
                         {"owner", step.owner},
                         {"resource", step.resource},
                         {"mode", mode_name(step.exclusive)},
                         {"priority", step.priority},
                         {"blocker_resource", step.blocker_resource},
                         {"blocker_holds", step.blocker_holds}});
  return lock_event("lock.deadlock", x.victim_resource,
                    json{{"cycle", std::move(cycle)},
                         {"victim",
                          {{"request", x.victim},
                           {"owner", x.victim_owner},
                           {"resource", x.victim_resource}}},
                         {"message", x.message}},
                    time_ms, node);
}

event encode(const supervisor_event& x, int64_t time_ms,
             const std::string& node) {
  event result;
  result.type = "supervisor." + x.what;
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "supervisor/" + x.supervisor + "/" + x.child;
  auto payload = json{{"supervisor", x.supervisor}, {"child", x.child}};
  if (!x.reason.empty())
    payload["reason"] = x.reason;
  if (x.restarts != 0)
    payload["restarts"] = x.restarts;
  if (x.delay_ms != 0)
    payload["delay_ms"] = x.delay_ms;
  result.payload = payload.dump();
  return result;
}

event encode(const breaker_changed& x, int64_t time_ms,
             const std::string& node) {
  event result;
  result.type = "provider.breaker";
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "provider/" + x.provider;
  result.payload = json{{"provider", x.provider},
                        {"from", x.from},
                        {"to", x.to},
                        {"failures", x.failures},
                        {"reason", x.reason}}
                     .dump();
  return result;
}

void to_json(json& j, const worktree_entry& x) {
  j = json{{"task", x.task},
           {"branch", x.branch},
           {"path", x.path},
           {"base_commit", x.base_commit},
           {"created_ms", x.created_ms}};
}

void to_json(json& j, const std::vector<worktree_entry>& xs) {
  j = json::array();
  for (auto& w : xs) {
    json wj;
    to_json(wj, w);
    j.push_back(std::move(wj));
  }
}

void to_json(json& j, const workspace_info& x) {
  j = json{{"name", x.name},
           {"root", x.root},
           {"isolation", to_string(x.isolation)},
           {"base", x.base},
           {"conflict_policy", to_string(x.policy)},
           {"ignore", x.ignore},
           {"implicit", x.implicit},
           {"added_ms", x.added_ms}};
}

namespace {

event workspace_envelope(const std::string& what, const std::string& name,
                         json payload, int64_t time_ms,
                         const std::string& node) {
  event result;
  result.type = "workspace." + what;
  result.version = 1;
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "workspace/" + name;
  result.payload = payload.dump();
  return result;
}

} // namespace

event encode(const workspace_event& x, int64_t time_ms,
             const std::string& node) {
  auto f = overload{
    [&](const workspace_added& ev) {
      json payload;
      to_json(payload, ev.info);
      return workspace_envelope("added", ev.info.name, std::move(payload),
                                time_ms, node);
    },
    [&](const worktree_created& ev) {
      json payload;
      to_json(payload, ev.worktree);
      payload["workspace"] = ev.workspace;
      return workspace_envelope("worktree_created", ev.workspace,
                                std::move(payload), time_ms, node);
    },
    [&](const worktree_removed& ev) {
      return workspace_envelope("worktree_removed", ev.workspace,
                                json{{"workspace", ev.workspace},
                                     {"task", ev.task},
                                     {"path", ev.path},
                                     {"branch_deleted", ev.branch_deleted}},
                                time_ms, node);
    },
    [&](const workspace_conflicted& ev) {
      return workspace_envelope("conflict", ev.workspace,
                                json{{"workspace", ev.workspace},
                                     {"path", ev.path},
                                     {"first", ev.first},
                                     {"second", ev.second},
                                     {"policy", to_string(ev.policy)}},
                                time_ms, node);
    },
  };
  return std::visit(f, x);
}

bool is_workspace_type(const std::string& type) {
  return type.rfind("workspace.", 0) == 0;
}

caf::expected<workspace_event> decode_workspace_event(const event& x) {
  auto fail = [&](const std::string& why) { return undecodable(x, why); };
  if (!is_workspace_type(x.type) || x.version != 1)
    return fail("unknown type or version");
  auto j = json::parse(x.payload, nullptr, false);
  if (!j.is_object())
    return fail("malformed payload");
  try {
    auto what = x.type.substr(10);
    if (what == "added") {
      workspace_added ev;
      auto& i = ev.info;
      i.name = j.at("name").get<std::string>();
      i.root = j.at("root").get<std::string>();
      if (!from_string(j.at("isolation").get<std::string>(), i.isolation))
        return fail("unknown isolation");
      i.base = j.value("base", std::string{});
      if (!from_string(j.value("conflict_policy", std::string{"warn"}),
                       i.policy))
        return fail("unknown conflict policy");
      i.ignore = j.value("ignore", std::vector<std::string>{});
      i.implicit = j.value("implicit", false);
      i.added_ms = j.value("added_ms", int64_t{0});
      return workspace_event{std::move(ev)};
    }
    if (what == "worktree_created") {
      worktree_created ev;
      ev.workspace = j.at("workspace").get<std::string>();
      auto& w = ev.worktree;
      w.task = j.at("task").get<task_id>();
      w.branch = j.at("branch").get<std::string>();
      w.path = j.at("path").get<std::string>();
      w.base_commit = j.at("base_commit").get<std::string>();
      w.created_ms = j.value("created_ms", int64_t{0});
      return workspace_event{std::move(ev)};
    }
    if (what == "worktree_removed") {
      worktree_removed ev;
      ev.workspace = j.at("workspace").get<std::string>();
      ev.task = j.at("task").get<task_id>();
      ev.path = j.at("path").get<std::string>();
      ev.branch_deleted = j.value("branch_deleted", false);
      return workspace_event{std::move(ev)};
    }
    if (what == "conflict") {
      workspace_conflicted ev;
      ev.workspace = j.at("workspace").get<std::string>();
      ev.path = j.at("path").get<std::string>();
      ev.first = j.at("first").get<task_id>();
      ev.second = j.at("second").get<task_id>();
      if (!from_string(j.value("policy", std::string{"warn"}), ev.policy))
        return fail("unknown conflict policy");
      return workspace_event{std::move(ev)};
    }
  } catch (const json::exception& ex) {
    return fail(std::string{"malformed payload: "} + ex.what());
  }
  return fail("unknown workspace event");
}

caf::expected<scheduler_phase_changed> decode_phase_changed(const event& x) {
  auto fail = [&](const std::string& why) { return undecodable(x, why); };
  if (x.type != "scheduler.phase_changed" || x.version != 1)
    return fail("unknown type or version");
  auto j = json::parse(x.payload, nullptr, false);
  scheduler_phase_changed result;
  if (!j.is_object() || !j.contains("from") || !j.contains("to")
      || !j["from"].is_string() || !j["to"].is_string()
      || !from_string(j["from"].get<std::string>(), result.from)
      || !from_string(j["to"].get<std::string>(), result.to))
    return fail("malformed payload");
  return result;
}

bool is_task_fold_type(const std::string& type) {
  return type.rfind("task.", 0) == 0 || type.rfind("workflow.", 0) == 0
         || type.rfind("session.", 0) == 0 || type.rfind("limit.", 0) == 0;
}

/// Reads the optional `changes` of an outcome.
template <class Object>
void read_changes(Object& obj, workspace_report& r) {
  auto changes = obj["changes"].get_object();
  if (changes.error())
    return;
  auto strings = [](simdjson::ondemand::value& v) {
    std::vector<std::string> result;
    simdjson::ondemand::array items = v.get_array().value();
    for (auto item : items) {
      std::string_view sv = item.get_string().value();
      result.emplace_back(sv);
    }
    return result;
  };
  for (auto item : changes.value()) {
    simdjson::ondemand::field f;
    if (auto err = std::move(item).get(f))
      throw simdjson::simdjson_error(err);
    std::string_view k = f.unescaped_key().value();
    simdjson::ondemand::value& v = f.value();
    if (k == "changed_files")
      r.changed_files = strings(v);
    else if (k == "conflicts")
      r.conflicts = strings(v);
    else if (k == "workspace" || k == "branch" || k == "worktree"
             || k == "note" || k == "violation") {
      std::string_view sv = v.get_string().value();
      (k == "workspace"  ? r.workspace
       : k == "branch"   ? r.branch
       : k == "worktree" ? r.worktree
       : k == "note"     ? r.note
                         : r.violation) = std::string{sv};
    }
  }
}

/// Reads the optional `report` of an outcome or a retry.
template <class Object>
void read_report(Object& obj, run_report& r) {
  auto str = [](simdjson::ondemand::value v) {
    std::string_view sv = v.get_string().value();
    return std::string{sv};
  };
  if (auto rep = obj["report"].get_object(); !rep.error()) {
    for (auto item : rep.value()) {
      simdjson::ondemand::field f;
      if (auto err = std::move(item).get(f))
        throw simdjson::simdjson_error(err);
      std::string_view k = f.unescaped_key().value();
      simdjson::ondemand::value& v = f.value();
      if (k == "session")
        r.session = str(v);
      else if (k == "model")
        r.model = str(v);
      else if (k == "subtype")
        r.subtype = str(v);
      else if (k == "text")
        r.text = str(v);
      else if (k == "limit")
        r.limit = str(v);
      else if (k == "cost_usd")
        r.cost_usd = v.get_double().value();
      else if (k == "input_tokens")
        r.input_tokens = v.get_uint64().value();
      else if (k == "output_tokens")
        r.output_tokens = v.get_uint64().value();
      else if (k == "cache_read_tokens")
        r.cache_read_tokens = v.get_uint64().value();
      else if (k == "cache_creation_tokens")
        r.cache_creation_tokens = v.get_uint64().value();
      else if (k == "turns")
        r.turns = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "tool_uses")
        r.tool_uses = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "malformed_lines")
        r.malformed_lines = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "unknown_lines")
        r.unknown_lines = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "duration_ms")
        r.duration_ms = v.get_int64().value();
      else if (k == "limit_reset_ms")
        r.limit_reset_ms = v.get_int64().value();
      else if (k == "tools" || k == "mcp_servers") {
        auto& out = k == "tools" ? r.tools : r.mcp_servers;
        simdjson::ondemand::array names = v.get_array().value();
        for (auto name : names)
          out.push_back(str(simdjson::ondemand::value{name.value()}));
      } else if (k == "permission_mode")
        r.permission_mode = str(v);
      else if (k == "is_error")
        r.is_error = v.get_bool().value();
      else if (k == "errors")
        r.errors = str(v);
      else if (k == "tool_calls") {
        simdjson::ondemand::object calls = v.get_object().value();
        for (auto call : calls) {
          simdjson::ondemand::field cf;
          if (auto err = std::move(call).get(cf))
            throw simdjson::simdjson_error(err);
          std::string name{std::string_view{cf.unescaped_key().value()}};
          r.tool_calls[std::move(name)]
            = static_cast<uint32_t>(cf.value().get_uint64().value());
        }
      } else if (k == "tool_errors")
        r.tool_errors = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "permission_denials")
        r.permission_denials = static_cast<uint32_t>(v.get_uint64().value());
      else if (k == "duration_api_ms")
        r.duration_api_ms = v.get_int64().value();
    }
  }
}

caf::expected<task_event> decode(const event& x) {
  auto fail = [&](const std::string& why) { return undecodable(x, why); };
  // Every type is at version 1 except task.assigned (2) and task.submitted
  // (3); older versions are upcast here, so folds only ever see current
  // events.
  auto max_version = x.type == "task.submitted"  ? 3u
                     : x.type == "task.assigned" ? 2u
                     : x.type == "task.started"  ? 2u
                                                 : 1u;
  if (x.version < 1 || x.version > max_version)
    return fail("unknown version");
  // Replay decodes every row of the journal: simdjson's on-demand parser
  // (one per thread, reused) keeps that fast.
  thread_local simdjson::ondemand::parser parser;
  try {
    simdjson::padded_string json{x.payload};
    auto doc = parser.iterate(json);
    auto obj = doc.get_object().value();
    auto str = [](simdjson::ondemand::value v) {
      return std::string{std::string_view{v.get_string().value()}};
    };
    auto id = obj["id"].get_uint64().value();
    if (x.type == "task.submitted") {
      task_submitted ev{id, {}};
      auto spec = obj["spec"].get_object().value();
      for (auto item : spec) {
        // Unwrap the field first: its value lives inside it.
        simdjson::ondemand::field field;
        if (auto err = std::move(item).get(field))
          throw simdjson::simdjson_error(err);
        std::string_view key = field.unescaped_key().value();
        simdjson::ondemand::value& value = field.value();
        if (key == "provider")
          ev.spec.provider = str(value);
        else if (key == "argv") {
          // Named: a range-for over `get_array().value()` would iterate a
          // reference into a destroyed temporary.
          simdjson::ondemand::array args = value.get_array().value();
          for (auto arg : args)
            ev.spec.argv.push_back(str(simdjson::ondemand::value{arg.value()}));
        }
        else if (key == "prompt")
          ev.spec.prompt = str(value);
        else if (key == "workspace")
          ev.spec.workspace = str(value);
        else if (key == "priority")
          ev.spec.priority = static_cast<int32_t>(value.get_int64().value());
        else if (key == "timeout_ms")
          ev.spec.timeout_ms = value.get_int64().value();
        else if (key == "run_at_ms")
          ev.spec.run_at_ms = value.get_int64().value();
        else if (key == "depends_on") {
          simdjson::ondemand::array deps = value.get_array().value();
          for (auto dep : deps)
            ev.spec.depends_on.push_back(dep.get_uint64().value());
        }
        else if (key == "workflow")
          ev.spec.workflow = value.get_uint64().value();
        else if (key == "key")
          ev.spec.key = str(value);
        else if (key == "pool")
          ev.spec.pool = str(value);
        else if (key == "capabilities" || key == "excluded_agents"
                 || key == "locks") {
          auto& out = key == "capabilities"      ? ev.spec.capabilities
                      : key == "excluded_agents" ? ev.spec.excluded_agents
                                                 : ev.spec.locks;
          simdjson::ondemand::array names = value.get_array().value();
          for (auto name : names)
            out.push_back(str(simdjson::ondemand::value{name.value()}));
        }
        else if (key == "required_agent")
          ev.spec.required_agent = str(value);
        else if (key == "env") {
          simdjson::ondemand::object vars = value.get_object().value();
          for (auto var : vars) {
            simdjson::ondemand::field vf;
            if (auto err = std::move(var).get(vf))
              throw simdjson::simdjson_error(err);
            std::string name{std::string_view{vf.unescaped_key().value()}};
            ev.spec.env[std::move(name)] = str(vf.value());
          }
        }
        else if (key == "same_agent_as")
          ev.spec.same_agent_as = value.get_uint64().value();
        else if (key == "resume_key")
          ev.spec.resume_key = str(value);
        else if (key == "resume_session")
          ev.spec.resume_session = str(value);
        else if (key == "new_session")
          ev.spec.new_session = value.get_bool().value();
        else if (key == "model")
          ev.spec.model = str(value);
        else if (key == "permission_mode") {
          if (!from_string(str(value), ev.spec.permissions))
            return fail("unknown permission mode");
        } else if (key == "allowed_tools") {
          simdjson::ondemand::array rules = value.get_array().value();
          for (auto rule : rules)
            ev.spec.allowed_tools.push_back(
              str(simdjson::ondemand::value{rule.value()}));
        }
        else if (key == "max_turns")
          ev.spec.max_turns = static_cast<uint32_t>(value.get_uint64().value());
        else if (key == "budget_usd")
          ev.spec.budget_usd = value.get_double().value();
        else if (key == "retry") {
          simdjson::ondemand::object retry = value.get_object().value();
          for (auto ritem : retry) {
            simdjson::ondemand::field rf;
            if (auto err = std::move(ritem).get(rf))
              throw simdjson::simdjson_error(err);
            std::string_view rkey = rf.unescaped_key().value();
            simdjson::ondemand::value& rv = rf.value();
            auto& r = ev.spec.retry;
            if (rkey == "max_attempts")
              r.max_attempts = static_cast<uint32_t>(rv.get_uint64().value());
            else if (rkey == "base_delay_ms")
              r.base_delay_ms = rv.get_int64().value();
            else if (rkey == "factor")
              r.factor = rv.get_double().value();
            else if (rkey == "max_delay_ms")
              r.max_delay_ms = rv.get_int64().value();
            else if (rkey == "jitter")
              r.jitter = rv.get_double().value();
          }
        }
      }
      // Version 1 had no retry policy: it ran once.
      if (x.version == 1)
        ev.spec.retry.max_attempts = 1;
      return task_event{std::move(ev)};
    }
    if (x.type == "task.assigned") {
      task_assigned ev{id, str(obj["agent"].value()),
                       static_cast<uint32_t>(obj["attempt"].get_uint64().value()),
                       ""};
      if (x.version >= 2)
        ev.reason = str(obj["reason"].value());
      if (auto session = obj["session"].get_uint64(); !session.error()) {
        ev.session = session.value();
        ev.tier = str(obj["tier"].value());
        ev.pool = str(obj["pool"].value());
      }
      return task_event{std::move(ev)};
    }
    if (x.type == "task.started") {
      task_started ev{id, obj["pid"].get_int64().value(), {}};
      ev.process.pid = ev.pid;
      if (x.version >= 2) {
        if (auto v = obj["shim_pid"].get_int64(); !v.error()) {
          ev.process.shim_pid = v.value();
          ev.process.shim_start = obj["shim_start"].get_uint64().value();
          ev.process.log_offset = obj["log_offset"].get_uint64().value();
        }
      }
      return task_event{std::move(ev)};
    }
    if (x.type == "task.finished") {
      task_finished ev{id, {}};
      auto out = obj["outcome"].get_object().value();
      if (!from_string(str(out["status"].value()), ev.outcome.status))
        return fail("unknown status");
      ev.outcome.exit_code = static_cast<int32_t>(out["exit_code"].get_int64().value());
      ev.outcome.signal = static_cast<int32_t>(out["signal"].get_int64().value());
      ev.outcome.reason = str(out["reason"].value());
      read_report(out, ev.outcome.report);
      read_changes(out, ev.outcome.changes);
      return task_event{std::move(ev)};
    }
    if (x.type == "task.requeued")
      return task_event{task_requeued{id, str(obj["reason"].value())}};
    if (x.type == "task.retry_scheduled") {
      task_retry_scheduled ev{id, str(obj["reason"].value()), 0};
      ev.run_at_ms = obj["run_at_ms"].get_int64().value();
      read_report(obj, ev.report);
      return task_event{std::move(ev)};
    }
    if (x.type == "task.cancelled")
      return task_event{task_cancelled{id, str(obj["reason"].value())}};
    if (x.type == "task.retried")
      return task_event{task_retried{id}};
    if (x.type.rfind("session.", 0) == 0) {
      session_changed ev;
      ev.id = id;
      ev.what = x.type.substr(8);
      if (ev.what != "opened" && ev.what != "paused" && ev.what != "resumed"
          && ev.what != "closed")
        return fail("unknown session event");
      ev.reason = str(obj["reason"].value());
      if (ev.what == "opened") {
        ev.provider = str(obj["provider"].value());
        ev.pool = str(obj["pool"].value());
        ev.resume_key = str(obj["resume_key"].value());
      }
      return task_event{std::move(ev)};
    }
    if (x.type == "limit.held" || x.type == "limit.lifted") {
      limit_changed ev;
      ev.id = id;
      ev.what = x.type.substr(6);
      ev.provider = str(obj["provider"].value());
      ev.account = str(obj["account"].value());
      ev.reason = str(obj["reason"].value());
      if (ev.what == "held")
        ev.until_ms = obj["until_ms"].get_int64().value();
      return task_event{std::move(ev)};
    }
    if (x.type == "task.parked") {
      task_parked ev{id, str(obj["reason"].value()), 0, ""};
      ev.until_ms = obj["until_ms"].get_int64().value();
      ev.session = str(obj["session"].value());
      read_report(obj, ev.report);
      return task_event{std::move(ev)};
    }
    if (x.type == "workflow.submitted") {
      workflow_submitted ev;
      ev.id = id;
      ev.name = str(obj["name"].value());
      if (!from_string(str(obj["policy"].value()), ev.policy))
        return fail("unknown failure policy");
      simdjson::ondemand::array tasks = obj["tasks"].get_array().value();
      for (auto t : tasks)
        ev.tasks.push_back(t.get_uint64().value());
      if (auto b = obj["budget_usd"].get_double(); !b.error())
        ev.budget_usd = b.value();
      return task_event{std::move(ev)};
    }
    if (x.type == "workflow.finished") {
      workflow_finished ev;
      ev.id = id;
      if (!from_string(str(obj["status"].value()), ev.status))
        return fail("unknown workflow status");
      ev.reason = str(obj["reason"].value());
      return task_event{std::move(ev)};
    }
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
  return fail("unknown type");
}

} // namespace cw::persistence
