#include "runtime/api_codec.hpp"

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

} // namespace

caf::expected<task_spec> parse_task_spec(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    return invalid("body", "malformed JSON");
  if (!j.is_object())
    return invalid("body", "must be a JSON object");
  task_spec spec;
  for (auto& [key, value] : j.items()) {
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
    } else if (key == "prompt") {
      if (!value.is_string())
        return invalid(key, "must be a string");
      spec.prompt = value.get<std::string>();
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
    } else {
      return invalid(key, "unknown field");
    }
  }
  return spec;
}

json to_json(const task_info& x) {
  json spec;
  persistence::to_json(spec, x.spec);
  return json{{"id", x.id},
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
              {"finished_ms", x.finished_ms}};
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
    case errc::shutting_down:
      return 503;
    default:
      break;
  }
  if (err == caf::sec::request_timeout)
    return 504;
  return 500;
}

} // namespace cw::runtime
