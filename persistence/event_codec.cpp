#include "persistence/event_codec.hpp"

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"

namespace cw::persistence {

using json = nlohmann::json;

void to_json(json& j, const task_spec& x) {
  j = json{{"provider", x.provider},   {"argv", x.argv},
           {"prompt", x.prompt},       {"workspace", x.workspace},
           {"priority", x.priority}};
}

void to_json(json& j, const task_outcome& x) {
  j = json{{"status", to_string(x.status)},
           {"exit_code", x.exit_code},
           {"signal", x.signal},
           {"reason", x.reason}};
}

namespace {

void from_json(const json& j, task_spec& x) {
  x.provider = j.value("provider", std::string{"command"});
  x.argv = j.value("argv", std::vector<std::string>{});
  x.prompt = j.value("prompt", std::string{});
  x.workspace = j.value("workspace", std::string{});
  x.priority = j.value("priority", int32_t{0});
}

void from_json(const json& j, task_outcome& x) {
  if (!from_string(j.at("status").get<std::string>(), x.status))
    throw std::invalid_argument("unknown status");
  x.exit_code = j.value("exit_code", -1);
  x.signal = j.value("signal", 0);
  x.reason = j.value("reason", std::string{});
}

/// Type name and current version of each event.
struct encoder {
  json& payload;
  uint32_t& version;
  std::string operator()(const task_submitted& x) {
    json spec;
    to_json(spec, x.spec);
    payload = json{{"id", x.id}, {"spec", std::move(spec)}};
    return "task.submitted";
  }
  std::string operator()(const task_assigned& x) {
    payload = json{{"id", x.id},
                   {"agent", x.agent},
                   {"attempt", x.attempt},
                   {"reason", x.reason}};
    version = 2;
    return "task.assigned";
  }
  std::string operator()(const task_started& x) {
    payload = json{{"id", x.id}, {"pid", x.pid}};
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
};

} // namespace

event encode(const task_event& x, int64_t time_ms, const std::string& node) {
  json payload;
  event result;
  result.version = 1;
  result.type = std::visit(encoder{payload, result.version}, x);
  result.time_ms = time_ms;
  result.node = node;
  result.entity = "task/" + std::to_string(subject(x));
  result.payload = payload.dump();
  return result;
}

caf::expected<task_event> decode(const event& x) {
  auto fail = [&](const std::string& why) {
    return make_error(errc::journal_corrupt,
                      "cannot decode " + x.type + "@" + std::to_string(x.version)
                        + " at seq " + std::to_string(x.seq) + ": " + why);
  };
  // Every type is at version 1 except task.assigned (2); older versions are
  // upcast here, so folds only ever see current events.
  auto max_version = x.type == "task.assigned" ? 2u : 1u;
  if (x.version < 1 || x.version > max_version)
    return fail("unknown version");
  try {
    auto j = json::parse(x.payload);
    auto id = j.at("id").get<task_id>();
    if (x.type == "task.submitted") {
      task_submitted ev{id, {}};
      from_json(j.at("spec"), ev.spec);
      return task_event{std::move(ev)};
    }
    if (x.type == "task.assigned")
      return task_event{task_assigned{
        id, j.at("agent").get<std::string>(), j.at("attempt").get<uint32_t>(),
        x.version >= 2 ? j.at("reason").get<std::string>() : std::string{}}};
    if (x.type == "task.started")
      return task_event{task_started{id, j.at("pid").get<int64_t>()}};
    if (x.type == "task.finished") {
      task_finished ev{id, {}};
      from_json(j.at("outcome"), ev.outcome);
      return task_event{std::move(ev)};
    }
    if (x.type == "task.requeued")
      return task_event{task_requeued{id, j.at("reason").get<std::string>()}};
  } catch (const std::exception& ex) {
    return fail(ex.what());
  }
  return fail("unknown type");
}

} // namespace cw::persistence
