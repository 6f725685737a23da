#define CAF_SUITE persistence.event_codec
#include "caf/test/unit_test.hpp"

#include <random>

#include <nlohmann/json.hpp>

#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

using namespace cw;
using namespace cw::persistence;

namespace {

task_event round_trip(const task_event& ev) {
  auto row = encode(ev, 1234, "node-a");
  CAF_CHECK_EQUAL(row.time_ms, 1234);
  CAF_CHECK_EQUAL(row.node, "node-a");
  CAF_CHECK_EQUAL(row.entity, "task/" + std::to_string(subject(ev)));
  auto back = decode(row);
  CAF_REQUIRE(back);
  return *back;
}

} // namespace

CAF_TEST(every task event round trips) {
  task_spec spec;
  spec.argv = {"make", "-j2", "with \"quotes\""};
  spec.workspace = "/src";
  spec.priority = 7;
  auto sub = std::get<task_submitted>(round_trip(task_submitted{3, spec}));
  CAF_CHECK_EQUAL(sub.id, 3u);
  CAF_CHECK_EQUAL(sub.spec.argv, spec.argv);
  CAF_CHECK_EQUAL(sub.spec.workspace, "/src");
  CAF_CHECK_EQUAL(sub.spec.priority, 7);
  auto as = std::get<task_assigned>(round_trip(task_assigned{3, "agent-2", 4, ""}));
  CAF_CHECK_EQUAL(as.agent, "agent-2");
  CAF_CHECK_EQUAL(as.attempt, 4u);
  auto st = std::get<task_started>(round_trip(task_started{3, 4242, {}}));
  CAF_CHECK_EQUAL(st.pid, 4242);
  CAF_CHECK_EQUAL(st.process.shim_pid, 0);
  // The shim's pid and start time survive, so a restart finds the process.
  auto shimmed = std::get<task_started>(
    round_trip(task_started{3, 4242, process_ref{4242, 4241, 987654321, 77}}));
  CAF_CHECK_EQUAL(shimmed.process.pid, 4242);
  CAF_CHECK_EQUAL(shimmed.process.shim_pid, 4241);
  CAF_CHECK_EQUAL(shimmed.process.shim_start, 987654321u);
  CAF_CHECK_EQUAL(shimmed.process.log_offset, 77u);
  auto fin = std::get<task_finished>(round_trip(
    task_finished{3, task_outcome{task_status::failed, 2, 0, "exit code 2"}}));
  CAF_CHECK(fin.outcome.status == task_status::failed);
  CAF_CHECK_EQUAL(fin.outcome.exit_code, 2);
  CAF_CHECK_EQUAL(fin.outcome.reason, "exit code 2");
  auto rq = std::get<task_requeued>(round_trip(task_requeued{3, "node died"}));
  CAF_CHECK_EQUAL(rq.reason, "node died");
}

CAF_TEST(prompt-driven fields and parking round trip) {
  task_spec spec;
  spec.provider = "claude";
  spec.prompt = "fix the bug";
  spec.workspace = "/src";
  spec.resume_key = "bug-42";
  spec.model = "opus";
  spec.max_turns = 12;
  spec.budget_usd = 1.5;
  spec.new_session = true;
  auto sub = std::get<task_submitted>(round_trip(task_submitted{3, spec}));
  CAF_CHECK_EQUAL(sub.spec.resume_key, "bug-42");
  CAF_CHECK(sub.spec.new_session);
  CAF_CHECK_EQUAL(sub.spec.model, "opus");
  CAF_CHECK_EQUAL(sub.spec.max_turns, 12u);
  CAF_CHECK_EQUAL(sub.spec.budget_usd, 1.5);
  run_report rep;
  rep.session = "9f3c";
  rep.model = "claude-sonnet-4";
  rep.subtype = "success";
  rep.text = "done \"quoted\" ünïcode";
  rep.cost_usd = 0.0104931;
  rep.input_tokens = 4;
  rep.output_tokens = 9;
  rep.cache_read_tokens = 13120;
  rep.cache_creation_tokens = 1520;
  rep.turns = 3;
  rep.tool_uses = 2;
  rep.malformed_lines = 1;
  rep.unknown_lines = 5;
  rep.duration_ms = 2417;
  rep.limit = "usage_limit";
  rep.limit_reset_ms = 1750708800000;
  auto fin = std::get<task_finished>(round_trip(
    task_finished{3, task_outcome{task_status::failed, 1, 0, "limit", rep}}));
  auto& r = fin.outcome.report;
  CAF_CHECK_EQUAL(r.session, "9f3c");
  CAF_CHECK_EQUAL(r.model, "claude-sonnet-4");
  CAF_CHECK_EQUAL(r.text, rep.text);
  CAF_CHECK_EQUAL(r.cost_usd, 0.0104931);
  CAF_CHECK_EQUAL(r.cache_read_tokens, 13120u);
  CAF_CHECK_EQUAL(r.cache_creation_tokens, 1520u);
  CAF_CHECK_EQUAL(r.turns, 3u);
  CAF_CHECK_EQUAL(r.tool_uses, 2u);
  CAF_CHECK_EQUAL(r.malformed_lines, 1u);
  CAF_CHECK_EQUAL(r.unknown_lines, 5u);
  CAF_CHECK_EQUAL(r.duration_ms, 2417);
  CAF_CHECK_EQUAL(r.limit, "usage_limit");
  CAF_CHECK_EQUAL(r.limit_reset_ms, 1750708800000);
  // A command task's outcome carries no report.
  auto plain = encode(task_finished{3, task_outcome{task_status::completed, 0, 0, ""}},
                      0, "n");
  CAF_CHECK_EQUAL(plain.payload.find("report"), std::string::npos);
  auto parked = std::get<task_parked>(
    round_trip(task_parked{3, "usage_limit: resets at 5", 5000, "9f3c"}));
  CAF_CHECK_EQUAL(parked.reason, "usage_limit: resets at 5");
  CAF_CHECK_EQUAL(parked.until_ms, 5000);
  CAF_CHECK_EQUAL(parked.session, "9f3c");
  CAF_CHECK(parked.report.empty());
  CAF_CHECK_EQUAL(encode(task_parked{3, "", 0, ""}, 0, "n").type, "task.parked");
  // A limited run that spent money before the limit keeps its report.
  auto spent = std::get<task_parked>(
    round_trip(task_parked{3, "usage_limit: resets at 5", 5000, "9f3c", rep}));
  CAF_CHECK_EQUAL(spent.report.cost_usd, 0.0104931);
  CAF_CHECK_EQUAL(spent.report.limit, "usage_limit");
}

CAF_TEST(types carry names and versions) {
  auto row = encode(task_started{1, 2, {}}, 0, "n");
  CAF_CHECK_EQUAL(row.type, "task.started");
  CAF_CHECK_EQUAL(row.version, 2u);
}

CAF_TEST(unknown types versions and payloads are corrupt rows) {
  auto row = encode(task_started{1, 2, {}}, 0, "n");
  row.seq = 17;
  auto bad_type = row;
  bad_type.type = "task.teleported";
  auto res = decode(bad_type);
  CAF_REQUIRE(!res);
  CAF_CHECK(res.error() == errc::journal_corrupt);
  CAF_CHECK(error_message(res.error()).find("seq 17") != std::string::npos);
  auto bad_version = row;
  bad_version.version = 9;
  CAF_CHECK(!decode(bad_version));
  auto bad_payload = row;
  bad_payload.payload = "{not json";
  CAF_CHECK(!decode(bad_payload));
  auto missing_field = row;
  missing_field.payload = R"({"id":1})";
  CAF_CHECK(!decode(missing_field));
}

namespace {

using json = nlohmann::json;

// The payloads as the codec wrote them with nlohmann before the hand-written
// encoder: the journal format the fast path must reproduce byte for byte.
json reference_spec(const task_spec& x) {
  json retry{{"max_attempts", x.retry.max_attempts},
             {"base_delay_ms", x.retry.base_delay_ms},
             {"factor", x.retry.factor},
             {"max_delay_ms", x.retry.max_delay_ms},
             {"jitter", x.retry.jitter}};
  json j{{"provider", x.provider},     {"argv", x.argv},
         {"prompt", x.prompt},         {"workspace", x.workspace},
         {"priority", x.priority},     {"retry", std::move(retry)},
         {"timeout_ms", x.timeout_ms}, {"run_at_ms", x.run_at_ms},
         {"depends_on", x.depends_on}};
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
  return j;
}

std::string reference_payload(const task_event& ev) {
  if (auto x = std::get_if<task_submitted>(&ev))
    return json{{"id", x->id}, {"spec", reference_spec(x->spec)}}.dump();
  if (auto x = std::get_if<task_assigned>(&ev))
    return json{{"id", x->id},
                {"agent", x->agent},
                {"attempt", x->attempt},
                {"reason", x->reason}}
      .dump();
  if (auto x = std::get_if<task_started>(&ev)) {
    auto j = json{{"id", x->id}, {"pid", x->pid}};
    if (x->process.shim_pid != 0) {
      j["shim_pid"] = x->process.shim_pid;
      j["shim_start"] = x->process.shim_start;
      j["log_offset"] = x->process.log_offset;
    }
    return j.dump();
  }
  auto& f = std::get<task_finished>(ev);
  json outcome{{"status", to_string(f.outcome.status)},
               {"exit_code", f.outcome.exit_code},
               {"signal", f.outcome.signal},
               {"reason", f.outcome.reason}};
  return json{{"id", f.id}, {"outcome", std::move(outcome)}}.dump();
}

struct random_events {
  std::mt19937_64 rng{20261123};

  uint64_t pick(uint64_t n) {
    return rng() % n;
  }

  std::string text() {
    // Plain text, JSON escapes, control bytes, DEL and some UTF-8.
    static const std::vector<std::string> pieces{
      "a",  "Z",    "0",  " ",  "\"", "\\",       "/",  "\b",
      "\f", "\n",   "\r", "\t", "\x01", "\x1f",   "\x7f", "é",
      "→",  "make", "-j2", "{}", "[", "\xf0\x9f\x98\x80"};
    std::string result;
    auto n = pick(6);
    for (uint64_t i = 0; i < n; ++i)
      result += pieces[pick(pieces.size())];
    return result;
  }

  std::vector<std::string> texts() {
    std::vector<std::string> result(pick(4));
    for (auto& x : result)
      x = text();
    return result;
  }

  int64_t number() {
    switch (pick(4)) {
      case 0:
        return 0;
      case 1:
        return -static_cast<int64_t>(pick(1'000'000));
      case 2:
        return static_cast<int64_t>(rng() >> 1);
      default:
        return static_cast<int64_t>(pick(100'000));
    }
  }

  double real() {
    static const std::vector<double> xs{2.0, 0.1, 0.0, 1.5, 1e-7, 3.25e12,
                                        0.30000000000000004, 100.0};
    return xs[pick(xs.size())];
  }

  task_spec spec() {
    task_spec s;
    s.provider = text();
    s.argv = texts();
    s.prompt = text();
    s.workspace = text();
    s.priority = static_cast<int32_t>(number() % 1000);
    s.retry.max_attempts = static_cast<uint32_t>(pick(10));
    s.retry.base_delay_ms = number();
    s.retry.factor = real();
    s.retry.max_delay_ms = number();
    s.retry.jitter = real();
    s.timeout_ms = number();
    s.run_at_ms = number();
    for (auto n = pick(3); n > 0; --n)
      s.depends_on.push_back(rng());
    if (pick(2) == 0) {
      s.workflow = 1 + pick(1000);
      s.key = text();
    }
    if (pick(2) == 0)
      s.pool = text();
    if (pick(2) == 0)
      s.capabilities = texts();
    if (pick(2) == 0)
      s.required_agent = text();
    if (pick(2) == 0)
      s.same_agent_as = 1 + pick(1000);
    if (pick(2) == 0)
      s.excluded_agents = texts();
    // Names as validation admits them; values anything.
    if (pick(2) == 0)
      for (auto n = 1 + pick(3); n > 0; --n)
        s.env["V_" + std::to_string(pick(100))] = text();
    return s;
  }

  task_event next() {
    auto id = rng();
    switch (pick(4)) {
      case 0:
        return task_submitted{id, spec()};
      case 1:
        return task_assigned{id, text(), static_cast<uint32_t>(rng()), text()};
      case 2: {
        task_started ev{id, number(), {}};
        if (pick(2) == 0)
          ev.process = process_ref{ev.pid, number(), rng(), rng()};
        return ev;
      }
      default: {
        task_outcome out;
        out.status = pick(2) == 0 ? task_status::completed : task_status::failed;
        out.exit_code = static_cast<int32_t>(number() % 256);
        out.signal = static_cast<int32_t>(pick(32));
        out.reason = text();
        return task_finished{id, out};
      }
    }
  }
};

} // namespace

CAF_TEST(hot events encode byte for byte as nlohmann did) {
  random_events gen;
  for (int i = 0; i < 20'000; ++i) {
    auto ev = gen.next();
    auto expected = reference_payload(ev);
    auto row = encode(ev, 99, "node-a");
    if (row.payload != expected) {
      CAF_FAIL("event " << i << ": got " << row.payload << ", want "
                        << expected);
    }
    CAF_REQUIRE(decode(row));
  }
}

CAF_TEST(hot events keep their types and versions) {
  CAF_CHECK_EQUAL(encode(task_submitted{1, task_spec{}}, 0, "n").version, 3u);
  CAF_CHECK_EQUAL(encode(task_submitted{1, task_spec{}}, 0, "n").type,
                  "task.submitted");
  CAF_CHECK_EQUAL(encode(task_assigned{1, "a", 1, ""}, 0, "n").version, 2u);
  CAF_CHECK_EQUAL(encode(task_assigned{1, "a", 1, ""}, 0, "n").type,
                  "task.assigned");
  CAF_CHECK_EQUAL(encode(task_started{1, 2, {}}, 0, "n").version, 2u);
  CAF_CHECK_EQUAL(encode(task_finished{1, task_outcome{}}, 0, "n").type,
                  "task.finished");
  CAF_CHECK_EQUAL(encode(task_finished{1, task_outcome{}}, 0, "n").version, 1u);
}
