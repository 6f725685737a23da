#include "runtime/api_codec.hpp"

#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "caf/sec.hpp"

#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::runtime {

using json = nlohmann::json;

namespace {

caf::error invalid(const std::string& field, const std::string& what) {
  return make_error(errc::invalid_argument, field + ": " + what);
}

/// Parses a request body that must be one JSON object.
caf::expected<json> parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return invalid("body", "malformed JSON");
  if (!j.is_object())
    return invalid("body", "must be a JSON object");
  return j;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace

std::string format_day(int64_t day) {
  using namespace std::chrono;
  year_month_day ymd{sys_days{days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<int64_t> parse_day(const std::string& text) {
  using namespace std::chrono;
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  char tail = 0;
  if (text.size() != 10
      || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3)
    return std::nullopt;
  year_month_day ymd{year{y}, month{m}, day{d}};
  if (!ymd.ok())
    return std::nullopt;
  return sys_days{ymd}.time_since_epoch().count();
}

namespace {

caf::error parse_retry(const json& j, retry_policy& r) {
  if (!j.is_object())
    return invalid("retry", "must be an object");
  for (auto& [key, value] : j.items()) {
    auto field = "retry." + key;
    if (key == "max_attempts") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1
          || value.get<int64_t>() > task_limits::max_attempts)
        return invalid(field, "must be an integer from 1 to "
                                + std::to_string(task_limits::max_attempts));
      r.max_attempts = value.get<uint32_t>();
    } else if (key == "base_delay_ms" || key == "max_delay_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0
          || value.get<int64_t>() > task_limits::max_delay_ms)
        return invalid(field, "must be an integer from 0 to "
                                + std::to_string(task_limits::max_delay_ms));
      (key == "base_delay_ms" ? r.base_delay_ms : r.max_delay_ms)
        = value.get<int64_t>();
    } else if (key == "factor" || key == "jitter") {
      if (!value.is_number())
        return invalid(field, "must be a number");
      (key == "factor" ? r.factor : r.jitter) = value.get<double>();
    } else {
      return invalid(field, "unknown field");
    }
  }
  // A policy given without max_attempts still takes the node's default.
  return {};
}

/// Reads one field of a task spec.
caf::error parse_task_field(const std::string& key, const json& value,
                            task_spec& spec) {
  if (key == "provider") {
    if (!value.is_string())
      return invalid(key, "must be a string");
    spec.provider = value.get<std::string>();
  } else if (key == "argv") {
    if (!value.is_array())
      return invalid(key, "must be an array of strings");
    for (auto& arg : value) {
      if (!arg.is_string())
        return invalid(key, "must be an array of strings");
      spec.argv.push_back(arg.get<std::string>());
    }
  } else if (key == "env") {
    if (!value.is_object())
      return invalid(key, "must be an object of strings");
    for (auto& [name, var] : value.items()) {
      if (!var.is_string())
        return invalid(key + "." + name, "must be a string");
      spec.env[name] = var.get<std::string>();
    }
  } else if (key == "prompt") {
    if (!value.is_string())
      return invalid(key, "must be a string");
    spec.prompt = value.get<std::string>();
  } else if (key == "resume_key" || key == "resume_session" || key == "model") {
    if (!value.is_string())
      return invalid(key, "must be a string");
    (key == "resume_key"       ? spec.resume_key
     : key == "resume_session" ? spec.resume_session
                               : spec.model)
      = value.get<std::string>();
  } else if (key == "new_session") {
    if (!value.is_boolean())
      return invalid(key, "must be true or false");
    spec.new_session = value.get<bool>();
  } else if (key == "permission_mode") {
    if (!value.is_string() || value.get<std::string>().empty()
        || !from_string(value.get<std::string>(), spec.permissions))
      return invalid(key, "must be one of default, acceptEdits, plan, "
                          "bypassPermissions");
  } else if (key == "max_turns") {
    if (!value.is_number_integer() || value.get<int64_t>() < 1
        || value.get<int64_t>() > task_limits::max_turns)
      return invalid(key, "must be an integer from 1 to "
                            + std::to_string(task_limits::max_turns));
    spec.max_turns = value.get<uint32_t>();
  } else if (key == "budget_usd") {
    if (!value.is_number() || value.get<double>() < 0
        || value.get<double>() > task_limits::max_budget_usd)
      return invalid(key, "must be a number of USD from 0 to "
                            + std::to_string(
                              static_cast<int64_t>(task_limits::max_budget_usd)));
    spec.budget_usd = value.get<double>();
  } else if (key == "workspace") {
    if (!value.is_string())
      return invalid(key, "must be a string");
    spec.workspace = value.get<std::string>();
  } else if (key == "priority") {
    if (!value.is_number_integer())
      return invalid(key, "must be an integer");
    auto p = value.get<int64_t>();
    if (p < task_limits::min_priority || p > task_limits::max_priority)
      return invalid(key, "must be between "
                            + std::to_string(task_limits::min_priority)
                            + " and "
                            + std::to_string(task_limits::max_priority));
    spec.priority = static_cast<int32_t>(p);
  } else if (key == "timeout_ms" || key == "run_at_ms" || key == "delay_ms") {
    if (!value.is_number_integer() || value.get<int64_t>() < 0)
      return invalid(key, "must be a non-negative integer");
    auto ms = value.get<int64_t>();
    if (key == "timeout_ms")
      spec.timeout_ms = ms;
    else if (key == "run_at_ms")
      spec.run_at_ms = std::max(spec.run_at_ms, ms);
    else if (ms > task_limits::max_delay_ms)
      return invalid(key, "must be at most "
                            + std::to_string(task_limits::max_delay_ms));
    else if (ms > 0)
      spec.run_at_ms = std::max(spec.run_at_ms, now_ms() + ms);
  } else if (key == "retry") {
    if (auto err = parse_retry(value, spec.retry))
      return err;
  } else if (key == "depends_on") {
    if (!value.is_array())
      return invalid(key, "must be an array of task ids");
    for (auto& dep : value) {
      if (!dep.is_number_unsigned() || dep.get<uint64_t>() == 0)
        return invalid(key, "must be an array of task ids");
      spec.depends_on.push_back(dep.get<uint64_t>());
    }
  } else {
    return invalid(key, "unknown field");
  }
  return {};
}

/// Reads an array of non-empty strings.
caf::error parse_names(const json& value, const std::string& field,
                       std::vector<std::string>& out) {
  if (!value.is_array())
    return invalid(field, "must be an array of strings");
  for (auto& item : value) {
    if (!item.is_string() || item.get<std::string>().empty())
      return invalid(field, "must be an array of non-empty strings");
    out.push_back(item.get<std::string>());
  }
  return {};
}

/// Reads the fields of a task from a JSON object. Inside a workflow, `id`
/// and `depends_on` name tasks of the workflow (`wtask` is set); otherwise
/// `depends_on` holds task ids. Errors name the field with `prefix`.
caf::error parse_task_fields(const json& j, const std::string& prefix,
                             task_spec& spec, workflow_task_spec* wtask) {
  if (!j.is_object())
    return invalid(prefix.empty() ? "body" : prefix.substr(0, prefix.size() - 1),
                   "must be a JSON object");
  for (auto& [key, value] : j.items()) {
    auto err = [&]() -> caf::error {
      if (wtask != nullptr && key == "id") {
        if (!value.is_string())
          return invalid(key, "must be a string");
        wtask->key = value.get<std::string>();
        return {};
      }
      if (wtask != nullptr && key == "depends_on")
        return parse_names(value, key, wtask->depends_on);
      if (key == "pool" || key == "required_agent") {
        if (!value.is_string())
          return invalid(key, "must be a string");
        (key == "pool" ? spec.pool : spec.required_agent)
          = value.get<std::string>();
        return {};
      }
      if (key == "capabilities")
        return parse_names(value, key, spec.capabilities);
      if (key == "excluded_agents")
        return parse_names(value, key, spec.excluded_agents);
      if (key == "locks")
        return parse_names(value, key, spec.locks);
      if (key == "allowed_tools")
        return parse_names(value, key, spec.allowed_tools);
      if (key == "same_agent_as") {
        if (!value.is_number_unsigned() || value.get<uint64_t>() == 0)
          return invalid(key, "must be a task id");
        spec.same_agent_as = value.get<uint64_t>();
        return {};
      }
      return parse_task_field(key, value, spec);
    }();
    if (err)
      return make_error(errc::invalid_argument, prefix + error_message(err));
  }
  return {};
}

} // namespace

caf::expected<task_spec> parse_task_spec(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  task_spec spec;
  if (auto err = parse_task_fields(*parsed, "", spec, nullptr))
    return err;
  return spec;
}

caf::expected<workflow_spec> parse_workflow_spec(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  auto& j = *parsed;
  workflow_spec spec;
  bool has_tasks = false;
  for (auto& [key, value] : j.items()) {
    if (key == "name") {
      if (!value.is_string())
        return invalid(key, "must be a string");
      spec.name = value.get<std::string>();
    } else if (key == "failure_policy") {
      if (!value.is_string() || !from_string(value.get<std::string>(), spec.policy))
        return invalid(key, "must be \"fail_fast\" or \"continue\"");
    } else if (key == "budget_usd") {
      if (!value.is_number() || value.get<double>() < 0
          || value.get<double>() > task_limits::max_budget_usd)
        return invalid(key, "must be a number of USD from 0 (the node's "
                            "per_workflow_usd) to "
                              + std::to_string(static_cast<int64_t>(
                                task_limits::max_budget_usd)));
      spec.budget_usd = value.get<double>();
    } else if (key == "tasks") {
      if (!value.is_array())
        return invalid(key, "must be an array of tasks");
      has_tasks = true;
      for (size_t i = 0; i < value.size(); ++i) {
        workflow_task_spec t;
        auto prefix = "tasks[" + std::to_string(i) + "].";
        if (auto err = parse_task_fields(value[i], prefix, t.spec, &t))
          return err;
        if (t.key.empty())
          return invalid(prefix + "id", "required: a name unique in the workflow");
        spec.tasks.push_back(std::move(t));
      }
    } else {
      return invalid(key, "unknown field");
    }
  }
  if (!has_tasks)
    return invalid("tasks", "required: an array of tasks");
  return spec;
}


json to_json(const task_info& x) {
  json spec;
  persistence::to_json(spec, x.spec);
  json result{{"id", x.id},
              {"status", to_string(x.status)},
              {"spec", std::move(spec)},
              {"attempts", x.attempts},
              {"agent", x.agent},
              {"pid", x.pid},
              {"exit_code", x.exit_code},
              {"signal", x.signal},
              {"reason", x.reason},
              {"submitted_ms", x.submitted_ms},
              {"started_ms", x.started_ms},
              {"finished_ms", x.finished_ms},
              {"not_before_ms", x.not_before_ms},
              {"dead", x.dead}};
  if (!x.report.empty())
    persistence::to_json(result["report"], x.report);
  if (x.cost_usd != 0)
    result["cost_usd"] = x.cost_usd;
  if (!x.progress->tokens.empty())
    result["tokens"] = to_json(x.progress->tokens);
  if (x.status == task_status::parked)
    result["parked_until_ms"] = x.parked_until_ms;
  if (!x.progress->continue_session.empty())
    result["continue_session"] = x.progress->continue_session;
  if (x.session != 0)
    result["session"] = x.session;
  if (!x.changes.empty())
    persistence::to_json(result["changes"], x.changes);
  if (!x.waiting.empty())
    result["waiting"] = x.waiting;
  return result;
}

json to_json(const session_info& x) {
  return json{{"id", x.id},
              {"provider", x.provider},
              {"pool", x.pool},
              {"state", to_string(x.state)},
              {"cli_session_id", x.cli_session_id},
              {"current_task", x.current_task},
              {"tasks", x.tasks},
              {"turns", x.turns},
              {"cost_usd", x.cost_usd},
              {"tokens", to_json(x.tokens)},
              {"created_ms", x.created_ms},
              {"last_active_ms", x.last_active_ms},
              {"resume_key", x.resume_key},
              {"workspace", x.workspace}};
}

caf::expected<session_info> session_from_json(const json& j) {
  try {
    session_info x;
    x.id = j.at("id").get<session_id>();
    x.provider = j.at("provider").get<std::string>();
    x.pool = j.at("pool").get<std::string>();
    auto state = j.at("state").get<std::string>();
    for (auto s : {session_state::idle, session_state::busy,
                   session_state::paused, session_state::closed})
      if (to_string(s) == state)
        x.state = s;
    x.cli_session_id = j.at("cli_session_id").get<std::string>();
    x.current_task = j.at("current_task").get<task_id>();
    x.tasks = j.at("tasks").get<std::vector<task_id>>();
    x.turns = j.at("turns").get<uint32_t>();
    x.cost_usd = j.at("cost_usd").get<double>();
    if (auto t = j.find("tokens"); t != j.end())
      x.tokens = tokens_from_json(*t);
    x.created_ms = j.at("created_ms").get<int64_t>();
    x.last_active_ms = j.at("last_active_ms").get<int64_t>();
    x.resume_key = j.at("resume_key").get<std::string>();
    x.workspace = j.value("workspace", std::string{});
    return x;
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument,
                      std::string{"malformed session: "} + ex.what());
  }
}

caf::expected<session_command_spec> parse_session_open(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  session_command_spec cmd;
  cmd.what = "open";
  cmd.provider = "claude";
  for (auto& [key, value] : parsed->items()) {
    if (key != "provider" && key != "pool" && key != "resume_key")
      return invalid(key, "unknown field");
    if (!value.is_string())
      return invalid(key, "must be a string");
    (key == "provider" ? cmd.provider
     : key == "pool"   ? cmd.pool
                       : cmd.resume_key)
      = value.get<std::string>();
  }
  return cmd;
}

json to_json(const workflow_info& x) {
  auto tasks = json::array();
  for (auto& t : x.tasks)
    tasks.push_back(json{{"id", t.key},
                         {"task", t.id},
                         {"status", to_string(t.status)},
                         {"depends_on", t.depends_on},
                         {"reason", t.reason},
                         {"started_ms", t.started_ms},
                         {"finished_ms", t.finished_ms}});
  return json{{"id", x.id},
              {"name", x.name},
              {"failure_policy", to_string(x.policy)},
              {"status", to_string(x.status)},
              {"reason", x.reason},
              {"progress", x.progress},
              {"critical_path", x.critical_path},
              {"critical_path_ms", x.critical_path_ms},
              {"submitted_ms", x.submitted_ms},
              {"finished_ms", x.finished_ms},
              {"cost_usd", x.cost.usd},
              {"tokens", to_json(x.cost.tokens)},
              {"budget_usd", x.budget_usd},
              {"tasks", std::move(tasks)}};
}

caf::expected<workflow_info> workflow_from_json(const json& j) {
  try {
    workflow_info x;
    x.id = j.at("id").get<workflow_id>();
    x.name = j.at("name").get<std::string>();
    if (!from_string(j.at("failure_policy").get<std::string>(), x.policy)
        || !from_string(j.at("status").get<std::string>(), x.status))
      return make_error(errc::invalid_argument, "workflow: unknown enum value");
    x.reason = j.at("reason").get<std::string>();
    x.progress = j.at("progress").get<double>();
    x.critical_path = j.at("critical_path").get<std::vector<std::string>>();
    x.critical_path_ms = j.at("critical_path_ms").get<int64_t>();
    x.submitted_ms = j.at("submitted_ms").get<int64_t>();
    x.finished_ms = j.at("finished_ms").get<int64_t>();
    x.cost.usd = j.value("cost_usd", 0.0);
    if (auto t = j.find("tokens"); t != j.end())
      x.cost.tokens = tokens_from_json(*t);
    x.budget_usd = j.value("budget_usd", 0.0);
    for (auto& t : j.at("tasks")) {
      workflow_task_view v;
      v.key = t.at("id").get<std::string>();
      v.id = t.at("task").get<task_id>();
      if (!from_string(t.at("status").get<std::string>(), v.status))
        return make_error(errc::invalid_argument, "workflow: unknown task status");
      v.depends_on = t.at("depends_on").get<std::vector<std::string>>();
      v.reason = t.at("reason").get<std::string>();
      v.started_ms = t.at("started_ms").get<int64_t>();
      v.finished_ms = t.at("finished_ms").get<int64_t>();
      x.tasks.push_back(std::move(v));
    }
    return x;
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument,
                      std::string{"malformed workflow: "} + ex.what());
  }
}

json to_json(const token_counts& x) {
  return json{{"input", x.input},
              {"output", x.output},
              {"cache_read", x.cache_read},
              {"cache_creation", x.cache_creation}};
}

token_counts tokens_from_json(const json& j) {
  token_counts x;
  if (!j.is_object())
    return x;
  x.input = j.value("input", uint64_t{0});
  x.output = j.value("output", uint64_t{0});
  x.cache_read = j.value("cache_read", uint64_t{0});
  x.cache_creation = j.value("cache_creation", uint64_t{0});
  return x;
}

json to_json(const cost_figures& x) {
  return json{{"usd", x.usd}, {"tokens", to_json(x.tokens)}};
}

cost_figures figures_from_json(const json& j) {
  cost_figures x;
  if (!j.is_object())
    return x;
  x.usd = j.value("usd", 0.0);
  if (auto t = j.find("tokens"); t != j.end())
    x.tokens = tokens_from_json(*t);
  return x;
}

json to_json(const limit_hold& x) {
  return json{{"provider", x.provider},
              {"account", x.account.empty() ? "default" : x.account},
              {"until_ms", x.until_ms},
              {"task", x.task},
              {"reason", x.reason}};
}

json to_json(const cost_report& x) {
  auto days = json::array();
  for (auto& d : x.days) {
    auto pools = json::object();
    for (auto& [name, figures] : d.pools)
      pools[name] = to_json(figures);
    auto day = to_json(d.node);
    day["day"] = format_day(d.day);
    day["pools"] = std::move(pools);
    days.push_back(std::move(day));
  }
  auto pools = json::object();
  for (auto& [name, figures] : x.pools)
    pools[name] = to_json(figures);
  return json{{"days", std::move(days)},
              {"total", to_json(x.total)},
              {"pools", std::move(pools)}};
}

caf::expected<cost_report> cost_report_from_json(const json& j) {
  try {
    cost_report x;
    for (auto& d : j.at("days")) {
      cost_day day;
      day.day = parse_day(d.at("day").get<std::string>()).value_or(0);
      day.node = figures_from_json(d);
      for (auto& [name, figures] : d.at("pools").items())
        day.pools.emplace(name, figures_from_json(figures));
      x.days.push_back(std::move(day));
    }
    x.total = figures_from_json(j.at("total"));
    for (auto& [name, figures] : j.at("pools").items())
      x.pools.emplace(name, figures_from_json(figures));
    return x;
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument,
                      std::string{"malformed costs: "} + ex.what());
  }
}

json to_json(const scheduler_status& x) {
  auto pool_usd = json::object();
  auto pool_tokens = json::object();
  for (auto& [name, figures] : x.pool_cost_today) {
    pool_usd[name] = figures.usd;
    pool_tokens[name] = to_json(figures.tokens);
  }
  auto holds = json::array();
  for (auto& h : x.holds)
    holds.push_back(to_json(h));
  return json{{"phase", to_string(x.phase)},
              {"tasks", x.counts},
              {"agents", x.agents},
              {"idle_agents", x.idle_agents},
              {"finished_last_minute", x.finished_last_minute},
              {"wait_ms", {{"p50", x.wait_p50_ms}, {"p99", x.wait_p99_ms}}},
              {"run_ms", {{"p50", x.run_p50_ms}, {"p99", x.run_p99_ms}}},
              {"cost_usd", {{"today", x.cost_today.usd},
                            {"total", x.cost_total.usd},
                            {"pools_today", std::move(pool_usd)}}},
              {"tokens", {{"today", to_json(x.cost_today.tokens)},
                          {"total", to_json(x.cost_total.tokens)},
                          {"pools_today", std::move(pool_tokens)}}},
              {"holds", std::move(holds)}};
}

caf::expected<task_info> task_from_json(const json& j) {
  try {
    task_info x;
    x.id = j.at("id").get<task_id>();
    if (!from_string(j.at("status").get<std::string>(), x.status))
      return make_error(errc::invalid_argument, "status: unknown value");
    auto& spec = j.at("spec");
    x.spec.provider = spec.at("provider").get<std::string>();
    x.spec.argv = spec.at("argv").get<std::vector<std::string>>();
    x.spec.prompt = spec.at("prompt").get<std::string>();
    x.spec.workspace = spec.at("workspace").get<std::string>();
    x.spec.priority = spec.at("priority").get<int32_t>();
    x.attempts = j.at("attempts").get<uint32_t>();
    x.agent = j.at("agent").get<std::string>();
    x.pid = j.at("pid").get<int64_t>();
    x.exit_code = j.at("exit_code").get<int32_t>();
    x.signal = j.at("signal").get<int32_t>();
    x.reason = j.at("reason").get<std::string>();
    x.submitted_ms = j.at("submitted_ms").get<int64_t>();
    x.started_ms = j.at("started_ms").get<int64_t>();
    x.finished_ms = j.at("finished_ms").get<int64_t>();
    x.not_before_ms = j.value("not_before_ms", int64_t{0});
    x.dead = j.value("dead", false);
    x.spec.timeout_ms = spec.value("timeout_ms", int64_t{0});
    x.spec.run_at_ms = spec.value("run_at_ms", int64_t{0});
    x.spec.depends_on = spec.value("depends_on", std::vector<uint64_t>{});
    x.spec.workflow = spec.value("workflow", uint64_t{0});
    x.spec.key = spec.value("key", std::string{});
    x.spec.pool = spec.value("pool", std::string{});
    x.spec.capabilities
      = spec.value("capabilities", std::vector<std::string>{});
    x.spec.required_agent = spec.value("required_agent", std::string{});
    x.spec.same_agent_as = spec.value("same_agent_as", uint64_t{0});
    x.spec.excluded_agents
      = spec.value("excluded_agents", std::vector<std::string>{});
    x.spec.locks = spec.value("locks", std::vector<std::string>{});
    x.spec.env = spec.value("env", std::map<std::string, std::string>{});
    x.spec.resume_key = spec.value("resume_key", std::string{});
    x.spec.resume_session = spec.value("resume_session", std::string{});
    x.spec.new_session = spec.value("new_session", false);
    x.spec.model = spec.value("model", std::string{});
    from_string(spec.value("permission_mode", std::string{}),
                x.spec.permissions);
    x.spec.allowed_tools
      = spec.value("allowed_tools", std::vector<std::string>{});
    x.spec.max_turns = spec.value("max_turns", uint32_t{0});
    x.spec.budget_usd = spec.value("budget_usd", 0.0);
    if (auto r = j.find("report"); r != j.end() && r->is_object())
      persistence::from_json(*r, x.report.mut());
    x.cost_usd = j.value("cost_usd", 0.0);
    prompt_progress progress;
    if (auto t = j.find("tokens"); t != j.end())
      progress.tokens = tokens_from_json(*t);
    progress.continue_session = j.value("continue_session", std::string{});
    x.progress = std::move(progress);
    x.parked_until_ms = j.value("parked_until_ms", int64_t{0});
    x.session = j.value("session", uint64_t{0});
    x.waiting = j.value("waiting", std::string{});
    if (auto r = j.find("changes"); r != j.end() && r->is_object())
      persistence::from_json(*r, x.changes.mut());
    if (auto r = spec.find("retry"); r != spec.end() && r->is_object()) {
      x.spec.retry.max_attempts = r->value("max_attempts", 1u);
      x.spec.retry.base_delay_ms = r->value("base_delay_ms", int64_t{1000});
      x.spec.retry.factor = r->value("factor", 2.0);
      x.spec.retry.max_delay_ms = r->value("max_delay_ms", int64_t{300'000});
      x.spec.retry.jitter = r->value("jitter", 0.1);
    }
    return x;
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument,
                      std::string{"malformed task: "} + ex.what());
  }
}

std::string error_body(const caf::error& err, const std::string& rendered) {
  json j;
  auto code = error_code(err);
  if (code != errc::none) {
    j["error"] = to_string(code);
    auto msg = error_message(err);
    j["message"] = msg;
    if (code == errc::invalid_argument || code == errc::unknown_provider) {
      if (auto colon = msg.find(": "); colon != std::string::npos)
        j["field"] = msg.substr(0, colon);
    }
  } else if (err == caf::sec::request_timeout) {
    j["error"] = "timeout";
    j["message"] = "the node did not answer in time";
  } else {
    j["error"] = "internal";
    j["message"] = rendered;
  }
  return j.dump();
}

unsigned http_status(const caf::error& err) {
  switch (error_code(err)) {
    case errc::invalid_argument:
    case errc::unknown_provider:
      return 400;
    case errc::no_such_task:
      return 404;
    case errc::illegal_transition:
      return 409;
    case errc::shutting_down:
      return 503;
    default:
      break;
  }
  if (err == caf::sec::request_timeout)
    return 504;
  return 500;
}

// -- locks --------------------------------------------------------------------

namespace {

/// Reads a required non-empty string field.
caf::error parse_name(const json& value, const std::string& key,
                      std::string& out) {
  if (!value.is_string() || value.get<std::string>().empty())
    return invalid(key, "must be a non-empty string");
  out = value.get<std::string>();
  return {};
}

const char* mode_name(bool exclusive) {
  return exclusive ? "exclusive" : "shared";
}

} // namespace

caf::expected<lock_spec> parse_lock_spec(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  auto& j = *parsed;
  lock_spec spec;
  spec.timeout_ms = default_lock_timeout_ms;
  for (auto& [key, value] : j.items()) {
    if (key == "owner" || key == "resource") {
      if (auto err = parse_name(value, key,
                                key == "owner" ? spec.owner : spec.resource))
        return err;
    } else if (key == "mode") {
      if (!value.is_string()
          || (value != "exclusive" && value != "shared"))
        return invalid(key, "must be \"exclusive\" or \"shared\"");
      spec.exclusive = value == "exclusive";
    } else if (key == "priority") {
      if (!value.is_number_integer() || value.get<int64_t>() < task_limits::min_priority
          || value.get<int64_t>() > task_limits::max_priority)
        return invalid(key, "must be an integer from "
                              + std::to_string(task_limits::min_priority)
                              + " to "
                              + std::to_string(task_limits::max_priority));
      spec.priority = value.get<int32_t>();
    } else if (key == "timeout_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0
          || value.get<int64_t>() > max_lock_wait_ms)
        return invalid(key, "must be an integer from 0 to "
                              + std::to_string(max_lock_wait_ms));
      spec.timeout_ms = value.get<int64_t>();
    } else {
      return invalid(key, "unknown field");
    }
  }
  if (spec.owner.empty())
    return invalid("owner", "required: a non-empty string");
  if (spec.resource.empty())
    return invalid("resource", "required: a non-empty string");
  return spec;
}

caf::expected<lock_release_spec> parse_lock_release(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  auto& j = *parsed;
  lock_release_spec spec;
  for (auto& [key, value] : j.items()) {
    if (key == "owner" || key == "resource") {
      if (auto err = parse_name(value, key,
                                key == "owner" ? spec.owner : spec.resource))
        return err;
    } else {
      return invalid(key, "unknown field");
    }
  }
  if (spec.owner.empty())
    return invalid("owner", "required: a non-empty string");
  if (spec.resource.empty())
    return invalid("resource", "required: a non-empty string");
  return spec;
}

caf::expected<workspace_info> parse_workspace_add(const std::string& body) {
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  workspace_info info;
  for (auto& [key, value] : parsed->items()) {
    if (key == "path" || key == "name" || key == "base") {
      std::string str;
      if (auto err = parse_name(value, key, str))
        return err;
      (key == "path" ? info.root : key == "name" ? info.name : info.base)
        = std::move(str);
    } else if (key == "isolation") {
      if (!value.is_string()
          || !from_string(value.get<std::string>(), info.isolation))
        return invalid(key, "must be \"shared\" or \"worktree\"");
    } else if (key == "conflict_policy") {
      if (!value.is_string()
          || !from_string(value.get<std::string>(), info.policy))
        return invalid(key, "must be \"warn\" or \"lock\"");
    } else if (key == "ignore") {
      if (!value.is_array())
        return invalid(key, "must be an array of patterns");
      for (auto& item : value) {
        std::string str;
        if (auto err = parse_name(item, key, str))
          return err;
        info.ignore.push_back(std::move(str));
      }
    } else {
      return invalid(key, "unknown field");
    }
  }
  if (info.root.empty())
    return invalid("path", "required: the workspace's absolute directory");
  return info;
}

caf::expected<prune_spec> parse_prune_spec(const std::string& body) {
  prune_spec spec;
  if (body.empty())
    return spec;
  auto parsed = parse_object(body);
  if (!parsed)
    return parsed.error();
  for (auto& [key, value] : parsed->items()) {
    if (key == "workspace") {
      if (auto err = parse_name(value, key, spec.workspace))
        return err;
    } else if (key == "delete_branches") {
      if (!value.is_boolean())
        return invalid(key, "must be true or false");
      spec.delete_branches = value.get<bool>();
    } else if (key == "force") {
      if (!value.is_boolean())
        return invalid(key, "must be true or false");
      spec.force = value.get<bool>();
    } else {
      return invalid(key, "unknown field");
    }
  }
  return spec;
}

json to_json(const workspace_info& x) {
  json result;
  persistence::to_json(result, x);
  persistence::to_json(result["worktrees"], x.worktrees);
  result["running"] = x.running;
  result["watched"] = x.watched;
  result["conflicts"] = x.conflicts;
  return result;
}

json to_json(const lock_grant& x) {
  return json{{"request", x.request},
              {"owner", x.owner},
              {"resource", x.resource},
              {"mode", mode_name(x.exclusive)},
              {"waited_ms", x.waited_ms}};
}

json to_json(const lock_holder_view& x) {
  return json{{"owner", x.owner},
              {"resource", x.resource},
              {"mode", mode_name(x.exclusive)}};
}

json to_json(const lock_waiter_view& x) {
  return json{{"request", x.request},
              {"owner", x.owner},
              {"resource", x.resource},
              {"mode", mode_name(x.exclusive)},
              {"priority", x.priority},
              {"waited_ms", x.waited_ms},
              {"expires_in_ms", x.expires_in_ms}};
}

json to_json(const agent_listing& x) {
  auto agents = json::array();
  for (auto& a : x.agents)
    agents.push_back(json{{"name", a.profile.name},
                          {"pool", a.profile.pool},
                          {"provider", a.profile.provider},
                          {"capabilities", a.profile.capabilities},
                          {"load", a.tasks.size()},
                          {"max_load", a.profile.max_load},
                          {"weight", a.profile.weight},
                          {"tasks", a.tasks}});
  auto breakers = json::array();
  for (auto& b : x.breakers)
    breakers.push_back(json{{"provider", b.provider},
                            {"state", b.state},
                            {"failures", b.failures},
                            {"retry_at_ms", b.retry_at_ms}});
  auto costs = json::object();
  for (auto& c : x.costs)
    costs[c.pool] = json{{"today_usd", c.today.usd},
                         {"total_usd", c.total.usd},
                         {"today_tokens", to_json(c.today.tokens)},
                         {"total_tokens", to_json(c.total.tokens)}};
  return json{{"agents", std::move(agents)},
              {"breakers", std::move(breakers)},
              {"cost_usd", std::move(costs)}};
}

json to_json(const lock_listing& x) {
  auto holders = json::array();
  for (auto& h : x.holders)
    holders.push_back(to_json(h));
  auto waiters = json::array();
  for (auto& w : x.waiters)
    waiters.push_back(to_json(w));
  return json{{"holders", std::move(holders)}, {"waiters", std::move(waiters)}};
}

std::string lock_refusal_reason(const caf::error& err) {
  if (error_code(err) != errc::illegal_transition)
    return {};
  auto msg = error_message(err);
  for (const char* reason : {"deadlock", "timeout", "cancelled"})
    if (msg.rfind(std::string{reason} + ": ", 0) == 0)
      return reason;
  return {};
}

} // namespace cw::runtime
