#define CAF_SUITE actors.claude_stream
#include "caf/test/unit_test.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <typeinfo>

#include "actors/claude/argv.hpp"
#include "actors/claude/claude_provider.hpp"
#include "actors/claude/claude_result.hpp"
#include "actors/claude/pricing.hpp"
#include "actors/claude/stream_json.hpp"
#include "actors/claude/usage_limit.hpp"
#include "messages/errc.hpp"

#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

/// Returns the path of a file under `tests/fixtures/claude/`.
std::string fixture_path(const std::string& name) {
  return std::string{CW_FIXTURES_DIR} + "/claude/" + name;
}

std::string read_fixture(const std::string& name) {
  std::ifstream in{fixture_path(name), std::ios::binary};
  if (!in.good())
    CAF_FAIL("cannot open fixture " << fixture_path(name));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Returns the lines of a fixture, split as a reader of the pipe would:
/// in small chunks, with an unterminated last line returned by `finish`.
std::vector<std::string> fixture_lines(const std::string& name) {
  auto bytes = read_fixture(name);
  line_splitter splitter;
  std::vector<std::string> lines;
  constexpr size_t chunk = 37;
  for (size_t pos = 0; pos < bytes.size(); pos += chunk)
    for (auto& line : splitter.feed(std::string_view{bytes}.substr(pos, chunk)))
      lines.push_back(std::move(line));
  for (auto& line : splitter.finish())
    lines.push_back(std::move(line));
  return lines;
}

std::vector<stream_item> parse_fixture(const std::string& name) {
  stream_parser parser;
  std::vector<stream_item> items;
  for (auto& line : fixture_lines(name))
    for (auto& item : parser.parse(line))
      items.push_back(std::move(item));
  return items;
}

claude_result fold_fixture(const std::string& name, int64_t now_ms = 0) {
  stream_accumulator acc{now_ms};
  for (auto& line : fixture_lines(name))
    acc.add_line(line);
  return acc.result();
}

template <class T>
size_t count_of(const std::vector<stream_item>& items) {
  size_t n = 0;
  for (auto& item : items)
    if (std::holds_alternative<T>(item))
      ++n;
  return n;
}

template <class T>
T only(const std::vector<stream_item>& items) {
  CAF_REQUIRE_EQUAL(items.size(), 1u);
  CAF_REQUIRE(std::holds_alternative<T>(items.front()));
  return std::get<T>(items.front());
}

constexpr auto session = "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35";

/// Checks the tool counts, turns and API time of the run of subagent.jsonl,
/// as its fold or a task's report has them.
template <class Run>
void check_subagent_counts(const Run& x) {
  CAF_CHECK_EQUAL(x.tool_uses, 3u);
  CAF_CHECK_EQUAL(x.tool_calls,
                  (std::map<std::string, uint32_t>{{"Glob", 1},
                                                   {"Task", 1},
                                                   {"Write", 1}}));
  CAF_CHECK_EQUAL(x.tool_errors, 1u);
  CAF_CHECK_EQUAL(x.permission_denials, 1u);
  CAF_CHECK_EQUAL(x.turns, 4u);
  CAF_CHECK_EQUAL(x.duration_api_ms, 13975);
}

} // namespace

// -- parsing the canned streams -----------------------------------------------

CAF_TEST(a successful run parses as init then text then result) {
  auto items = parse_fixture("success.jsonl");
  CAF_REQUIRE_EQUAL(items.size(), 3u);
  CAF_REQUIRE(std::holds_alternative<system_init>(items[0]));
  CAF_REQUIRE(std::holds_alternative<assistant_text>(items[1]));
  CAF_REQUIRE(std::holds_alternative<final_result>(items[2]));
  auto& init = std::get<system_init>(items[0]);
  CAF_CHECK_EQUAL(init.session_id, session);
  CAF_CHECK_EQUAL(init.model, "claude-sonnet-4-20250514");
  CAF_CHECK_EQUAL(init.cwd, "/tmp/cw-work");
  CAF_CHECK_EQUAL(init.permission_mode, "default");
  CAF_CHECK_EQUAL(init.tools.size(), 11u);
  CAF_CHECK_EQUAL(init.tools.back(), "mcp__cw__task_status");
  CAF_REQUIRE_EQUAL(init.mcp_servers.size(), 1u);
  CAF_CHECK_EQUAL(init.mcp_servers[0].name, "cw");
  CAF_CHECK_EQUAL(init.mcp_servers[0].status, "connected");
  auto& text = std::get<assistant_text>(items[1]);
  CAF_CHECK_EQUAL(text.text, "The answer is 4.");
  CAF_CHECK_EQUAL(text.message_id, "msg_01A7kPq3sVnJ2xYb8cTd4EfG");
  CAF_CHECK_EQUAL(text.usage.cache_read_input_tokens, 13120u);
  auto& result = std::get<final_result>(items[2]);
  CAF_CHECK_EQUAL(result.subtype, "success");
  CAF_CHECK(!result.is_error);
  CAF_CHECK_EQUAL(result.result, "The answer is 4.");
  CAF_CHECK_EQUAL(result.num_turns, 1u);
  CAF_CHECK_EQUAL(result.duration_ms, 2417);
  CAF_CHECK_EQUAL(result.duration_api_ms, 3105);
  CAF_CHECK_EQUAL(result.cost_usd, 0.0104931);
}

CAF_TEST(tool use and tool results carry ids names inputs and errors) {
  auto items = parse_fixture("tool_use.jsonl");
  CAF_CHECK_EQUAL(count_of<tool_use>(items), 2u);
  CAF_CHECK_EQUAL(count_of<tool_result>(items), 2u);
  CAF_CHECK_EQUAL(count_of<malformed_line>(items), 0u);
  const tool_use* bash = nullptr;
  std::vector<const tool_result*> results;
  for (auto& item : items) {
    if (auto x = std::get_if<tool_use>(&item); x && x->name == "Bash")
      bash = x;
    if (auto x = std::get_if<tool_result>(&item))
      results.push_back(x);
  }
  CAF_REQUIRE(bash != nullptr);
  CAF_CHECK_EQUAL(bash->id, "toolu_01HfXk8q2JrVn4Ye6Tb9Pm3S");
  CAF_CHECK_EQUAL(bash->input_json,
                  R"({"command":"ls -la","description":"List files in the )"
                  R"(working directory"})");
  CAF_REQUIRE_EQUAL(results.size(), 2u);
  CAF_CHECK_EQUAL(results[0]->tool_use_id, bash->id);
  CAF_CHECK(!results[0]->is_error);
  CAF_CHECK_EQUAL(results[0]->content.substr(0, 8), "total 8\n");
  CAF_CHECK(results[1]->is_error);
  CAF_CHECK_EQUAL(results[1]->content,
                  "<tool_use_error>File does not exist.</tool_use_error>");
}

CAF_TEST(tool result content given as text blocks is joined) {
  auto items = parse_fixture("max_turns.jsonl");
  const tool_result* result = nullptr;
  for (auto& item : items)
    if (auto x = std::get_if<tool_result>(&item))
      result = x;
  CAF_REQUIRE(result != nullptr);
  CAF_CHECK_EQUAL(result->content, "src/main.cpp");
  auto two = parse_line(
    R"({"type":"user","message":{"role":"user","content":[)"
    R"({"type":"tool_result","tool_use_id":"t1","content":[)"
    R"({"type":"text","text":"a"},)"
    R"({"type":"image","source":{}},{"type":"text","text":"b"}]}]}})");
  CAF_CHECK_EQUAL(only<tool_result>(two).content, "a\nb");
}

CAF_TEST(one message line with several blocks yields one item per block) {
  auto items = parse_line(
    R"({"type":"assistant","message":{"id":"m1","content":[)"
    R"({"type":"thinking","thinking":"hm","signature":"c2ln"},)"
    R"({"type":"redacted_thinking","data":"x"},)"
    R"({"type":"text","text":"Let me look."},)"
    R"({"type":"tool_use","id":"t1","name":"Read",)"
    R"("input":{"file_path":"/a"}}]},)"
    R"("session_id":"s"})");
  CAF_REQUIRE_EQUAL(items.size(), 3u);
  CAF_REQUIRE(std::holds_alternative<assistant_thinking>(items[0]));
  CAF_CHECK_EQUAL(std::get<assistant_thinking>(items[0]).text, "hm");
  CAF_CHECK_EQUAL(std::get<assistant_thinking>(items[0]).message_id, "m1");
  CAF_CHECK(std::holds_alternative<assistant_text>(items[1]));
  CAF_REQUIRE(std::holds_alternative<tool_use>(items[2]));
  CAF_CHECK_EQUAL(std::get<tool_use>(items[2]).input_json,
                  R"({"file_path":"/a"})");
}

CAF_TEST(a sub agent run parses with thinking prompts and parent tool ids) {
  auto items = parse_fixture("subagent.jsonl");
  CAF_CHECK_EQUAL(count_of<malformed_line>(items), 0u);
  CAF_CHECK_EQUAL(count_of<unknown_line>(items), 0u);
  CAF_CHECK_EQUAL(count_of<assistant_thinking>(items), 1u);
  CAF_CHECK_EQUAL(count_of<user_text>(items), 1u);
  CAF_CHECK_EQUAL(count_of<tool_use>(items), 3u);
  CAF_CHECK_EQUAL(count_of<tool_result>(items), 3u);
  constexpr auto task = "toolu_01TkQw3eRt5yUi7oPa9sDf2G";
  std::vector<std::string> nested;
  for (auto& item : items)
    std::visit(
      [&](const auto& x) {
        if constexpr (requires { x.parent_tool_use_id; })
          if (!x.parent_tool_use_id.empty()) {
            CAF_CHECK_EQUAL(x.parent_tool_use_id, task);
            nested.push_back(typeid(x).name());
          }
      },
      item);
  // The sub-agent's prompt, its Glob call and result, and its answer.
  CAF_CHECK_EQUAL(nested.size(), 4u);
  for (auto& item : items) {
    if (auto x = std::get_if<assistant_thinking>(&item)) {
      CAF_CHECK(x->parent_tool_use_id.empty());
      CAF_CHECK_EQUAL(x->text.substr(0, 22), "The user wants to know");
      CAF_CHECK_EQUAL(x->usage.output_tokens, 12u);
    }
    if (auto x = std::get_if<user_text>(&item))
      CAF_CHECK_EQUAL(x->text, "List the CMake files under /tmp/cw-work and "
                               "say which one defines the tests.");
    if (auto x = std::get_if<tool_use>(&item); x && x->name == "Glob")
      CAF_CHECK_EQUAL(x->model, "claude-haiku-4-5-20251001");
  }
}

CAF_TEST(an error result carries its errors and permission denials) {
  auto r = only<final_result>(parse_line(
    R"({"type":"result","subtype":"error_during_execution","is_error":true,)"
    R"("errors":["first",7,"second",""],"permission_denials":[)"
    R"({"tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"rm"}},)"
    R"({"tool_use_id":"t2"},{"tool_name":"Bash"}],"duration_api_ms":42})"));
  CAF_CHECK(r.is_error);
  CAF_CHECK_EQUAL(r.errors, (std::vector<std::string>{"first", "second"}));
  CAF_CHECK_EQUAL(r.permission_denials,
                  (std::vector<std::string>{"Bash", "?", "Bash"}));
  CAF_CHECK_EQUAL(r.duration_api_ms, 42);
  auto items = parse_fixture("error.jsonl");
  CAF_REQUIRE(std::holds_alternative<final_result>(items.back()));
  auto& e = std::get<final_result>(items.back());
  CAF_REQUIRE_EQUAL(e.errors.size(), 1u);
  CAF_CHECK_EQUAL(e.errors[0].substr(0, 15), "API Error: 500 ");
  CAF_CHECK(e.permission_denials.empty());
}

// -- malformed, cut-off and unknown lines -------------------------------------

CAF_TEST(a stream cut off mid line ends in one malformed item) {
  auto lines = fixture_lines("cutoff.jsonl");
  CAF_REQUIRE_EQUAL(lines.size(), 3u);
  auto items = parse_fixture("cutoff.jsonl");
  CAF_REQUIRE_EQUAL(items.size(), 3u);
  CAF_REQUIRE(std::holds_alternative<malformed_line>(items[2]));
  auto& bad = std::get<malformed_line>(items[2]);
  CAF_CHECK(!bad.error.empty());
  CAF_CHECK_EQUAL(bad.excerpt.substr(0, 22), R"({"type":"assistant","m)");
  CAF_CHECK_EQUAL(bad.excerpt.size(), 80u);
}

CAF_TEST(the fold of a cut off stream is incomplete and failed) {
  auto r = fold_fixture("cutoff.jsonl");
  CAF_CHECK(!r.complete);
  CAF_CHECK(r.failed());
  CAF_CHECK_EQUAL(r.session_id, session);
  CAF_CHECK_EQUAL(r.text, "Working on it.");
  CAF_CHECK_EQUAL(r.malformed_lines, 1u);
  CAF_CHECK_EQUAL(r.lines, 3u);
  // Without a result line the tokens are the assistant messages' sum.
  CAF_CHECK_EQUAL(r.usage.output_tokens, 4u);
  CAF_CHECK_EQUAL(r.turns, 1u);
}

CAF_TEST(every proper prefix of a valid line is malformed) {
  stream_parser parser;
  size_t prefixes = 0;
  for (auto name : {"success.jsonl", "tool_use.jsonl", "session_limit.jsonl"}) {
    for (auto& line : fixture_lines(name)) {
      for (size_t n = 1; n < line.size(); ++n) {
        auto items = parser.parse(std::string_view{line}.substr(0, n));
        ++prefixes;
        if (items.size() != 1
            || !std::holds_alternative<malformed_line>(items[0]))
          CAF_FAIL("prefix of " << n << " bytes of a line in " << name
                                << " was not malformed");
      }
    }
  }
  CAF_CHECK_GREATER(prefixes, 5000u);
}

CAF_TEST(garbage lines are counted and do not stop the stream) {
  auto items = parse_fixture("garbage.jsonl");
  CAF_CHECK_EQUAL(count_of<malformed_line>(items), 3u);
  CAF_CHECK_EQUAL(count_of<unknown_line>(items), 1u);
  CAF_CHECK_EQUAL(count_of<rate_limit_event>(items), 1u);
  auto r = fold_fixture("garbage.jsonl");
  CAF_CHECK(r.complete);
  CAF_CHECK(!r.failed());
  CAF_CHECK_EQUAL(r.text, "Still here.");
  CAF_CHECK_EQUAL(r.malformed_lines, 3u);
  CAF_CHECK_EQUAL(r.unknown_lines, 1u);
  // The blank line is not a protocol line.
  CAF_CHECK_EQUAL(r.lines, 8u);
  // An `allowed` rate-limit status is not a limit.
  CAF_CHECK(!r.limit.limited);
}

CAF_TEST(odd but well formed lines are unknown not malformed) {
  CAF_CHECK_EQUAL(
    only<unknown_line>(
      parse_line(R"({"type":"system","subtype":"compact_boundary"})"))
      .type,
    "system");
  CAF_CHECK_EQUAL(only<unknown_line>(parse_line(
                                       R"({"type":"user","message":)"
                                       R"({"role":"user","content":"hi"}})"))
                    .type,
                  "user");
  CAF_CHECK_EQUAL(only<unknown_line>(parse_line("{}")).type, "");
  CAF_CHECK_EQUAL(only<unknown_line>(parse_line(R"({"type":5})")).type, "");
  CAF_CHECK_EQUAL(only<unknown_line>(parse_line(R"({"type":"stream_event"})"))
                    .type,
                  "stream_event");
}

CAF_TEST(lines that are not one JSON object are malformed) {
  size_t malformed = 0;
  for (auto line : {"{not json", "[1,2,3]", "\"text\"", "42", "null",
                    R"({"type":"result"} trailing)", R"({"type":"result"}})",
                    R"({"type":"result",})", "\xff\xfe{}", "(node:1) Warning",
                    R"({"type":"result","result":"\xc3\x28"})"}) {
    auto items = parse_line(line);
    if (items.size() == 1 && std::holds_alternative<malformed_line>(items[0]))
      ++malformed;
    else
      CAF_ERROR("not malformed: " << line);
  }
  CAF_CHECK_EQUAL(malformed, 11u);
}

CAF_TEST(blank lines and carriage returns are tolerated) {
  CAF_CHECK(parse_line("").empty());
  CAF_CHECK(parse_line("   ").empty());
  auto items = parse_line(
    "{\"type\":\"result\",\"subtype\":\"success\",\"result\":\"ok\"}\r");
  CAF_CHECK_EQUAL(only<final_result>(items).result, "ok");
}

CAF_TEST(the older cost_usd field is read when total_cost_usd is absent) {
  auto items = parse_line(R"({"type":"result","subtype":"success",)"
                          R"("cost_usd":0.25,"num_turns":2})");
  CAF_CHECK_EQUAL(only<final_result>(items).cost_usd, 0.25);
  items = parse_line(R"({"type":"result","subtype":"success",)"
                     R"("cost_usd":0.25,"total_cost_usd":0.5})");
  CAF_CHECK_EQUAL(only<final_result>(items).cost_usd, 0.5);
  items = parse_line(R"({"type":"result","total_cost_usd":null})");
  CAF_CHECK_EQUAL(only<final_result>(items).cost_usd, 0.0);
}

// -- the accumulated result ---------------------------------------------------

CAF_TEST(the fold of a successful run has every result field) {
  auto r = fold_fixture("success.jsonl");
  CAF_CHECK(r.complete);
  CAF_CHECK(!r.failed());
  CAF_CHECK_EQUAL(r.session_id, session);
  CAF_CHECK_EQUAL(r.model, "claude-sonnet-4-20250514");
  CAF_CHECK_EQUAL(r.text, "The answer is 4.");
  CAF_CHECK_EQUAL(r.subtype, "success");
  CAF_CHECK_EQUAL(r.cost_usd, 0.0104931);
  CAF_CHECK_EQUAL(r.usage.input_tokens, 4u);
  CAF_CHECK_EQUAL(r.usage.output_tokens, 9u);
  CAF_CHECK_EQUAL(r.usage.cache_creation_input_tokens, 1520u);
  CAF_CHECK_EQUAL(r.usage.cache_read_input_tokens, 13120u);
  CAF_CHECK_EQUAL(r.turns, 1u);
  CAF_CHECK_EQUAL(r.duration_ms, 2417);
  CAF_CHECK_EQUAL(r.duration_api_ms, 3105);
  CAF_CHECK_EQUAL(r.tool_uses, 0u);
  CAF_CHECK(r.tool_calls.empty());
  CAF_CHECK_EQUAL(r.lines, 3u);
  CAF_CHECK_EQUAL(r.malformed_lines, 0u);
  CAF_CHECK_EQUAL(r.unknown_lines, 0u);
  CAF_CHECK(!r.limit.limited);
  // From the init line.
  CAF_REQUIRE_EQUAL(r.tools.size(), 11u);
  CAF_CHECK_EQUAL(r.tools.front(), "Task");
  CAF_REQUIRE_EQUAL(r.mcp_servers.size(), 1u);
  CAF_CHECK_EQUAL(r.mcp_servers[0].name, "cw");
  CAF_CHECK_EQUAL(r.mcp_servers[0].status, "connected");
  CAF_CHECK_EQUAL(r.permission_mode, "default");
  CAF_CHECK(!r.is_error);
  CAF_CHECK(r.errors.empty());
  CAF_CHECK_EQUAL(r.permission_denials, 0u);
  CAF_CHECK(r.last_stderr.empty());
}

CAF_TEST(the fold of a sub agent run has every result field) {
  auto r = fold_fixture("subagent.jsonl");
  CAF_CHECK(r.complete);
  CAF_CHECK(!r.failed());
  CAF_CHECK_EQUAL(r.model, "claude-sonnet-4-20250514");
  check_subagent_counts(r);
  CAF_CHECK_EQUAL(r.cost_usd, 0.0346672);
  CAF_CHECK_EQUAL(r.text.substr(0, 45),
                  "The tests are defined in tests/CMakeLists.txt");
}

CAF_TEST(a sub agent neither answers for the run nor takes its turns) {
  // The run up to the sub-agent's answer, without the rest.
  auto lines = fixture_lines("subagent.jsonl");
  CAF_REQUIRE_EQUAL(lines.size(), 12u);
  stream_accumulator acc;
  for (size_t i = 0; i < 7; ++i)
    acc.add_line(lines[i]);
  auto r = acc.result();
  // The main conversation said nothing yet; the sub-agent's words are not
  // its answer.
  CAF_CHECK_EQUAL(r.text, "");
  // One message of the main conversation (thinking, then the Task call).
  CAF_CHECK_EQUAL(r.turns, 1u);
  // Its last usage (118 output tokens) and the sub-agent's two messages
  // (71 and 46) count, at their models' prices.
  CAF_CHECK_EQUAL(r.usage.output_tokens, 118u + 71u + 46u);
  auto expected = (4 * 3.0 + 118 * 15.0 + 2310 * 3.75 + 14640 * 0.3
                   + 10 * 1.0 + 71 * 5.0 + 3841 * 1.25
                   + 8 * 1.0 + 46 * 5.0 + 152 * 1.25 + 3841 * 0.1)
                  / 1e6;
  CAF_CHECK_LESS(std::abs(r.estimated_cost_usd - expected), 1e-12);
  CAF_CHECK_EQUAL(r.tool_calls.size(), 2u);
  // The main conversation speaks again: that is the text, and a turn.
  for (size_t i = 7; i < 11; ++i)
    acc.add_line(lines[i]);
  CAF_CHECK_EQUAL(acc.result().turns, 3u);
  CAF_CHECK_EQUAL(acc.result().text.substr(0, 13), "The tests are");
  // A sub-agent's limit notice is not the run's: the main conversation
  // reports its own.
  stream_accumulator sub;
  sub.add_line(R"({"type":"assistant","parent_tool_use_id":"t1","message":)"
               R"({"id":"x","model":"<synthetic>","content":[{"type":"text",)"
               R"("text":"Claude AI usage limit reached|1750708800"}]}})");
  CAF_CHECK(!sub.result().limit.limited);
}

CAF_TEST(the fold of a tool run counts tool uses and failed tools) {
  auto r = fold_fixture("tool_use.jsonl");
  CAF_CHECK(!r.failed());
  CAF_CHECK_EQUAL(r.tool_uses, 2u);
  CAF_CHECK_EQUAL(r.tool_errors, 1u);
  CAF_CHECK_EQUAL(r.turns, 5u);
  CAF_CHECK_EQUAL(r.usage.output_tokens, 166u);
  CAF_CHECK_EQUAL(r.text, "The directory holds one file: README.md.");
}

CAF_TEST(error subtypes fail the run even without is_error) {
  auto r = fold_fixture("error.jsonl");
  CAF_CHECK(r.complete);
  CAF_CHECK(r.is_error);
  CAF_CHECK(r.failed());
  CAF_CHECK_EQUAL(r.subtype, "error_during_execution");
  // The result line has no text: the last assistant text stands.
  CAF_CHECK_EQUAL(r.text, "Let me run the tests.");
  CAF_CHECK_EQUAL(r.cost_usd, 0.0061204);
  CAF_REQUIRE_EQUAL(r.errors.size(), 1u);
  CAF_CHECK_EQUAL(r.errors[0].substr(0, 15), "API Error: 500 ");
  // An internal server error is no limit.
  CAF_CHECK(!r.limit.limited);
  auto m = fold_fixture("max_turns.jsonl");
  CAF_CHECK(!m.is_error);
  CAF_CHECK_EQUAL(m.subtype, "error_max_turns");
  CAF_CHECK(m.failed());
  CAF_CHECK_EQUAL(m.turns, 2u);
  CAF_CHECK(!m.limit.limited);
}

CAF_TEST(a usage limit result is failed and names the reset time) {
  auto r = fold_fixture("usage_limit.jsonl");
  CAF_CHECK(r.failed());
  CAF_CHECK(r.limit.limited);
  CAF_CHECK_EQUAL(to_string(r.limit.kind), "usage_limit");
  CAF_CHECK(r.limit.reset_at_ms == int64_t{1750708800000});
  // The synthetic notice does not count as the model.
  CAF_CHECK_EQUAL(r.model, "claude-sonnet-4-20250514");
}

CAF_TEST(a rejected rate limit event and a resets notice give the later reset) {
  // 2026-02-18T00:00Z; the event says 05:00Z, the text 3:50pm UTC.
  auto r = fold_fixture("session_limit.jsonl", int64_t{1771372800} * 1000);
  CAF_CHECK(r.limit.limited);
  CAF_CHECK(r.limit.reset_at_ms == int64_t{1771429800} * 1000);
  stream_accumulator acc;
  acc.add(rate_limit_event{"s", "rejected", "five_hour", 1771390800});
  CAF_CHECK(acc.result().limit.reset_at_ms == int64_t{1771390800} * 1000);
}

CAF_TEST(limits reported on stderr reach the result) {
  stream_accumulator acc;
  acc.add_stderr("Claude AI usage limit reached|1755615600");
  CAF_CHECK(acc.result().limit.limited);
  CAF_CHECK(acc.result().limit.reset_at_ms == int64_t{1755615600} * 1000);
  CAF_CHECK_EQUAL(acc.result().last_stderr,
                  "Claude AI usage limit reached|1755615600");
  // A blank line does not hide the one before it.
  acc.add_stderr(" \r");
  CAF_CHECK_EQUAL(acc.result().last_stderr,
                  "Claude AI usage limit reached|1755615600");
}

CAF_TEST(limits reported in the errors of an error result reach the result) {
  stream_accumulator acc;
  acc.add_line(R"({"type":"result","subtype":"error_during_execution",)"
               R"("is_error":true,"errors":["API Error: 429 {\"type\":)"
               R"(\"error\",\"error\":{\"type\":\"rate_limit_error\"}}"]})");
  CAF_CHECK(acc.result().limit.limited);
  CAF_CHECK_EQUAL(to_string(acc.result().limit.kind), "rate_limit");
}

CAF_TEST(ordinary answers that mention limits are not limits) {
  stream_accumulator acc;
  acc.add_line(R"({"type":"assistant","message":{"id":"m","model":"claude",)"
               R"("content":[{"type":"text","text":"You've hit your limit )"
               R"(· resets 3pm is a message the CLI prints."}]}})");
  acc.add_line(R"({"type":"result","subtype":"success","is_error":false,)"
               R"("result":"Handle rate_limit_error and 429 with back-off."})");
  CAF_CHECK(!acc.result().limit.limited);
}

// -- usage limit forms --------------------------------------------------------

namespace {

constexpr int64_t s = 1000;

} // namespace

CAF_TEST(the bar form carries unix seconds) {
  auto x = detect_usage_limit("Claude AI usage limit reached|1749924000", 0);
  CAF_CHECK(x.limited);
  CAF_CHECK(x.kind == limit_kind::usage_limit);
  CAF_CHECK(x.reset_at_ms == 1749924000 * s);
}

CAF_TEST(the resets form is the next such wall clock time) {
  // 2025-08-20T22:00Z → 1am UTC the next day.
  auto x = detect_usage_limit("5-hour limit reached ∙ resets 1am",
                              1755727200 * s);
  CAF_CHECK(x.limited);
  CAF_CHECK(x.reset_at_ms == 1755738000 * s);
  // Exactly at the reset time the next one is a day later.
  x = detect_usage_limit("5-hour limit reached ∙ resets 1am", 1755738000 * s);
  CAF_CHECK(x.reset_at_ms == (1755738000 + 86400) * s);
  // 03:00 in Rome (UTC+2) → 4:50am Rome = 02:50Z.
  x = detect_usage_limit("You've hit your limit · resets 4:50am (Europe/Rome)",
                         1776906000 * s, 120);
  CAF_CHECK(x.reset_at_ms == 1776912600 * s);
  // 21:00 on Dec 21 in Chicago (UTC-6) → 9am Dec 22 = 15:00Z.
  x = detect_usage_limit("Claude usage limit reached. Your limit will reset at "
                         "9am (America/Chicago).",
                         1766372400 * s, -360);
  CAF_CHECK(x.reset_at_ms == 1766415600 * s);
  // Upper case with a space before AM.
  x = detect_usage_limit("You've hit your limit for Claude messages. Limits "
                         "will reset at 9:30 AM.",
                         1771372800 * s);
  CAF_CHECK(x.reset_at_ms == (1771372800 + 9 * 3600 + 1800) * s);
  x = detect_usage_limit("You've hit your session limit · resets 3:50pm (UTC)",
                         1771372800 * s, 540);
  CAF_CHECK(x.reset_at_ms == 1771429800 * s);
}

CAF_TEST(the resets form with a date rolls over to next year) {
  // 2026-01-28T12:00Z, India (UTC+5:30) → Jan 30 11:30 IST = 06:00Z.
  auto x = detect_usage_limit(
    "You've hit your limit · resets Jan 30, 11:30am (Asia/Calcutta)",
    1769601600 * s, 330);
  CAF_CHECK(x.reset_at_ms == 1769752800 * s);
  // From 2026-02-10 "Jan 30" is next year's.
  x = detect_usage_limit("Opus weekly limit reached ∙ resets Jan 30, 11:30am",
                         1770717600 * s);
  CAF_CHECK(x.limited);
  CAF_CHECK(x.reset_at_ms == 1801308600 * s);
}

CAF_TEST(a limit without a readable time has no reset) {
  auto x = detect_usage_limit("Claude AI usage limit reached", 0);
  CAF_CHECK(x.limited);
  CAF_CHECK(!x.reset_at_ms);
  x = detect_usage_limit("You've hit your limit · resets in 5 hours", 0);
  CAF_CHECK(x.limited);
  CAF_CHECK(!x.reset_at_ms);
}

CAF_TEST(api rate limit and overload errors are transient limits) {
  auto x = detect_usage_limit(
    R"(API Error: 429 {"type":"error","error":{"type":"rate_limit_error",)"
    R"("message":"This request would exceed your account's rate limit. )"
    R"(Please try again later."},"request_id":"req_011CV2S4jxpPs7x8XWqHUiM7"})",
    0);
  CAF_CHECK(x.limited);
  CAF_CHECK_EQUAL(to_string(x.kind), "rate_limit");
  CAF_CHECK(!x.reset_at_ms);
  x = detect_usage_limit(
    R"(API Error: 529 {"type":"error","error":{"type":"overloaded_error",)"
    R"("message":"Overloaded"},"request_id":null})",
    0);
  CAF_CHECK_EQUAL(to_string(x.kind), "overloaded");
  x = detect_usage_limit(
    R"(API Error (529 {"type":"error","error":{"type":"overloaded_error",)"
    R"("message":"Overloaded"}}) · Retrying in 1 seconds… (attempt 1/10))",
    0);
  CAF_CHECK_EQUAL(to_string(x.kind), "overloaded");
  x = detect_usage_limit("API Error: 529 Overloaded. This is a server-side "
                         "issue, usually temporary",
                         0);
  CAF_CHECK_EQUAL(to_string(x.kind), "overloaded");
}

CAF_TEST(ordinary text is not a limit) {
  size_t limits = 0;
  for (auto text : {"The answer is 4.", "", "resets 3pm", "Error: ENOENT",
                    "exit code 429"})
    if (detect_usage_limit(text, 0).limited) {
      ++limits;
      CAF_ERROR("taken for a limit: " << text);
    }
  CAF_CHECK_EQUAL(limits, 0u);
}

CAF_TEST(merge prefers usage limits then reset times then later resets) {
  usage_limit none;
  usage_limit rate{true, limit_kind::rate_limit, std::nullopt};
  usage_limit plain{true, limit_kind::usage_limit, std::nullopt};
  usage_limit early{true, limit_kind::usage_limit, 10};
  usage_limit late{true, limit_kind::usage_limit, 20};
  CAF_CHECK(merge(none, rate).kind == limit_kind::rate_limit);
  CAF_CHECK(merge(rate, none).kind == limit_kind::rate_limit);
  CAF_CHECK(merge(rate, plain).kind == limit_kind::usage_limit);
  CAF_CHECK(merge(plain, early).reset_at_ms == int64_t{10});
  CAF_CHECK(merge(late, early).reset_at_ms == int64_t{20});
  CAF_CHECK(merge(early, late).reset_at_ms == int64_t{20});
  CAF_CHECK(!merge(none, none).limited);
}

// -- argv ---------------------------------------------------------------------

CAF_TEST(a minimal argv is print mode with verbose stream json) {
  claude_options opts;
  opts.prompt = "fix the build";
  auto argv = make_claude_argv(opts);
  CAF_REQUIRE(argv);
  CAF_CHECK_EQUAL(*argv,
                  (std::vector<std::string>{"claude", "-p", "fix the build",
                                            "--output-format", "stream-json",
                                            "--verbose"}));
}

CAF_TEST(every option maps to its flag and allowed tools come last) {
  claude_options opts;
  opts.binary = "/usr/local/bin/claude";
  opts.prompt = "continue";
  opts.resume_session = session;
  opts.mcp_config = "/var/lib/cw/mcp.json";
  opts.model = "sonnet";
  opts.allowed_tools = {"Read", "Bash(git log:*)", "", "mcp__cw__task_status"};
  opts.permission_mode = "acceptEdits";
  opts.max_turns = 12;
  auto argv = make_claude_argv(opts);
  CAF_REQUIRE(argv);
  CAF_CHECK_EQUAL(*argv,
                  (std::vector<std::string>{
                    "/usr/local/bin/claude", "-p", "continue",
                    "--output-format", "stream-json", "--verbose", "--resume",
                    session, "--mcp-config", "/var/lib/cw/mcp.json", "--model",
                    "sonnet", "--permission-mode", "acceptEdits",
                    "--max-turns", "12", "--allowedTools",
                    "Read,Bash(git log:*),mcp__cw__task_status"}));
}

CAF_TEST(argv refuses values the cli would misread) {
  claude_options opts;
  auto argv = make_claude_argv(opts);
  CAF_REQUIRE(!argv);
  CAF_CHECK(error_code(argv.error()) == errc::invalid_argument);
  CAF_CHECK_EQUAL(error_message(argv.error()), "claude: the prompt is empty");
  opts.prompt = "-rf everything";
  CAF_CHECK(!make_claude_argv(opts));
  opts.prompt = "ok";
  opts.resume_session = "--dangerously-skip-permissions";
  CAF_CHECK(!make_claude_argv(opts));
  opts.resume_session.clear();
  opts.allowed_tools = {"--verbose"};
  CAF_CHECK(!make_claude_argv(opts));
  opts.allowed_tools.clear();
  opts.binary.clear();
  CAF_CHECK(!make_claude_argv(opts));
}

// -- the claude provider's reading of a finished run ------------------------

CAF_TEST(a finished run becomes the report of the attempt and decides its outcome) {
  auto conclude = [](const std::string& fixture, task_outcome outcome) {
    conclude_claude_run(read_fixture(fixture), outcome, 1'750'000'000'000, 0);
    return outcome;
  };
  auto ok = conclude("success.jsonl", {task_status::completed, 0, 0, ""});
  CAF_CHECK(ok.status == task_status::completed);
  CAF_CHECK_EQUAL(ok.report.session, "9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35");
  CAF_CHECK_EQUAL(ok.report.subtype, "success");
  CAF_CHECK_EQUAL(ok.report.text, "The answer is 4.");
  CAF_CHECK_EQUAL(ok.report.cost_usd, 0.0104931);
  CAF_CHECK(ok.report.limit.empty());
  // The CLI exits 0 after hitting the turn limit: the result decides.
  auto turns = conclude("max_turns.jsonl", {task_status::completed, 0, 0, ""});
  CAF_CHECK(turns.status == task_status::failed);
  CAF_CHECK_EQUAL(turns.reason, "claude: error_max_turns");
  auto cut = conclude("cutoff.jsonl", {task_status::failed, -1, 9,
                                       "killed by signal 9"});
  // A line cut off is no message of the CLI: nothing follows the reason.
  CAF_CHECK_EQUAL(cut.reason, "claude: the stream ended without a result "
                              "(killed by signal 9)");
  CAF_CHECK_EQUAL(cut.report.malformed_lines, 1u);
  auto limit = conclude("usage_limit.jsonl", {task_status::failed, 1, 0,
                                              "exit code 1"});
  CAF_CHECK(limit.status == task_status::failed);
  CAF_CHECK_EQUAL(limit.report.limit, "usage_limit");
  CAF_CHECK_EQUAL(limit.report.limit_reset_ms, 1'750'708'800'000);
  // Garbage is counted, not fatal.
  auto garbage = conclude("garbage.jsonl", {task_status::completed, 0, 0, ""});
  CAF_CHECK(garbage.status == task_status::completed);
  CAF_CHECK_GREATER(garbage.report.malformed_lines, 0u);
  // Nothing at all: a failed attempt, never a crash.
  task_outcome empty{task_status::completed, 0, 0, ""};
  conclude_claude_run("", empty, 0, 0);
  CAF_CHECK(empty.status == task_status::failed);
}

CAF_TEST(a finished run reports every field of the report) {
  task_outcome ok{task_status::completed, 0, 0, ""};
  conclude_claude_run(read_fixture("subagent.jsonl"), ok, 0, 0);
  CAF_CHECK(ok.status == task_status::completed);
  auto& rep = ok.report;
  CAF_REQUIRE_EQUAL(rep.tools.size(), 11u);
  CAF_CHECK_EQUAL(rep.tools.back(), "mcp__cw__task_status");
  CAF_CHECK_EQUAL(rep.mcp_servers,
                  (std::vector<std::string>{"cw (connected)"}));
  CAF_CHECK_EQUAL(rep.permission_mode, "default");
  CAF_CHECK(!rep.is_error);
  CAF_CHECK_EQUAL(rep.errors, "");
  check_subagent_counts(rep);
  CAF_CHECK_EQUAL(rep.duration_ms, 14820);
  task_outcome failed{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(read_fixture("error.jsonl"), failed, 0, 0);
  CAF_CHECK(failed.report.is_error);
  CAF_CHECK_EQUAL(failed.report.errors.substr(0, 15), "API Error: 500 ");
  CAF_CHECK_EQUAL(failed.report.permission_mode, "default");
  // Errors are joined, and cut like the text.
  task_outcome many{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(
    R"({"type":"result","subtype":"error_during_execution","is_error":true,)"
    R"("errors":["one","two"]})" "\n",
    many, 0, 0);
  CAF_CHECK_EQUAL(many.report.errors, "one; two");
  task_outcome long_one{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(R"({"type":"result","subtype":"error_during_execution",)"
                      R"("errors":[")"
                        + std::string(run_report::max_text_bytes + 10, 'e')
                        + "\"]}\n",
                      long_one, 0, 0);
  CAF_CHECK_EQUAL(long_one.report.errors.size(),
                  run_report::max_text_bytes + std::string{"…"}.size());
}

CAF_TEST(an error result fails naming its errors rather than the last text) {
  task_outcome outcome{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(read_fixture("error.jsonl"), outcome, 0, 0);
  CAF_CHECK(outcome.status == task_status::failed);
  CAF_CHECK_EQUAL(outcome.reason,
                  "claude: error_during_execution: API Error: 500 "
                  R"({"type":"error","error":{"type":"api_error",)"
                  R"("message":"Internal server error"},)"
                  R"("request_id":"req_011CUx7a9Fh2TLXdWbq3PRmn"} (exit code 1))");
  // The CLI's answer to an unknown --resume: stderr, then an error result
  // without an init line.
  task_outcome resume{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(
    "No conversation found with session ID: 5d1c0b7e\n"
    R"({"type":"result","subtype":"error_during_execution","duration_ms":0,)"
    R"("duration_api_ms":0,"is_error":true,"num_turns":0,)"
    R"("session_id":"27934753-425a-4182-892c-6b1c15050c3f",)"
    R"("total_cost_usd":0,"usage":{},"modelUsage":{},)"
    R"("permission_denials":[],"uuid":"u1","errors":["No conversation )"
    R"(found with session ID: 5d1c0b7e"]})" "\n",
    resume, 0, 0);
  CAF_CHECK_EQUAL(resume.reason, "claude: error_during_execution: No "
                                 "conversation found with session ID: "
                                 "5d1c0b7e (exit code 1)");
  // Without errors the text stands, on one line.
  task_outcome text{task_status::failed, 1, 0, ""};
  conclude_claude_run(R"({"type":"result","subtype":"error_during_execution",)"
                      R"("is_error":true,"result":"two\nlines"})" "\n",
                      text, 0, 0);
  CAF_CHECK_EQUAL(text.reason, "claude: error_during_execution: two lines");
}

CAF_TEST(a run without a result names the last line the CLI wrote to stderr) {
  auto init = fixture_lines("success.jsonl").front();
  task_outcome key{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(init + "\n(node:1) Warning: something\nInvalid API key "
                               "· Please run /login\n",
                      key, 0, 0);
  CAF_CHECK_EQUAL(key.reason, "claude: the stream ended without a result "
                              "(exit code 1): Invalid API key · Please run "
                              "/login");
  // At most 200 bytes of it, control characters defused.
  task_outcome long_line{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run("\x1b[31m" + std::string(300, 'x') + "\n", long_line, 0,
                      0);
  CAF_CHECK_EQUAL(long_line.reason,
                  "claude: the stream ended without a result (exit code 1): "
                  "?[31m"
                    + std::string(195, 'x') + "…");
  // Nothing on stderr: the reason as before.
  task_outcome quiet{task_status::failed, 1, 0, "exit code 1"};
  conclude_claude_run(init + "\n", quiet, 0, 0);
  CAF_CHECK_EQUAL(quiet.reason, "claude: the stream ended without a result "
                                "(exit code 1)");
}

CAF_TEST(the argv of a task takes the pool's options and the task's own) {
  claude_options pool;
  pool.binary = "/usr/bin/claude";
  pool.model = "sonnet";
  pool.max_turns = 5;
  pool.permission_mode = "acceptEdits";
  pool.allowed_tools = {"Read", "Bash(git log:*)"};
  claude_provider provider{pool};
  task_spec spec;
  spec.prompt = "fix it";
  spec.resume_session = "sess-1";
  spec.model = "opus";
  auto argv = provider.argv(spec);
  CAF_REQUIRE(argv);
  CAF_CHECK_EQUAL(*argv, (std::vector<std::string>{
                           "/usr/bin/claude", "-p", "fix it", "--output-format",
                           "stream-json", "--verbose", "--resume", "sess-1",
                           "--model", "opus", "--permission-mode",
                           "acceptEdits", "--max-turns", "5",
                           "--allowedTools", "Read,Bash(git log:*)"}));
  // The task's permission mode and allowed tools replace the pool's.
  spec.permissions = permission_mode::plan;
  spec.allowed_tools = {"Edit", "Bash(make:*)"};
  spec.max_turns = 9;
  argv = provider.argv(spec);
  CAF_REQUIRE(argv);
  CAF_CHECK_EQUAL(*argv, (std::vector<std::string>{
                           "/usr/bin/claude", "-p", "fix it", "--output-format",
                           "stream-json", "--verbose", "--resume", "sess-1",
                           "--model", "opus", "--permission-mode", "plan",
                           "--max-turns", "9", "--allowedTools",
                           "Edit,Bash(make:*)"}));
  spec.permissions = permission_mode::bypass_permissions;
  argv = provider.argv(spec);
  CAF_REQUIRE(argv);
  CAF_REQUIRE_GREATER(argv->size(), 11u);
  CAF_CHECK_EQUAL(argv->at(11), "bypassPermissions");
  // A tool the CLI would read as a flag fails the task's argv too.
  spec.allowed_tools = {"--verbose"};
  CAF_CHECK(!provider.argv(spec));
  // Pool options are checked by name and value.
  auto unknown = claude_options_from({{"modle", "opus"}});
  CAF_REQUIRE(!unknown);
  CAF_CHECK(error_message(unknown.error()).find("claude option modle is unknown")
            != std::string::npos);
  auto missing = claude_options_from({{"binary", "/nonexistent/claude"}});
  CAF_REQUIRE(!missing);
  CAF_CHECK(error_message(missing.error()).find("'/nonexistent/claude' is not "
                                                "an executable")
            != std::string::npos);
  auto found = claude_options_from({{"binary", "/bin/sh"},
                                    {"allowed_tools", "Read\nEdit"},
                                    {"max_turns", "7"}});
  CAF_REQUIRE(found);
  CAF_CHECK_EQUAL(found->allowed_tools, (std::vector<std::string>{"Read", "Edit"}));
  CAF_CHECK_EQUAL(found->max_turns, 7u);
  CAF_CHECK(!claude_options_from({{"binary", "/bin/sh"}, {"max_turns", "0"}}));
  CAF_CHECK(!claude_options_from({{"binary", "/bin/sh"},
                                  {"permission_mode", "yolo"}}));
}

CAF_TEST(list prices follow the model family and unknown models cost the most) {
  CAF_CHECK_EQUAL(prices_of("claude-sonnet-4-20250514").input, 3.0);
  CAF_CHECK_EQUAL(prices_of("claude-sonnet-4-20250514").output, 15.0);
  CAF_CHECK_EQUAL(prices_of("claude-opus-4-1-20250805").output, 75.0);
  CAF_CHECK_EQUAL(prices_of("claude-opus-4-5-20251101").output, 25.0);
  CAF_CHECK_EQUAL(prices_of("claude-3-5-haiku-20241022").input, 0.8);
  CAF_CHECK_EQUAL(prices_of("claude-haiku-4-5").input, 1.0);
  CAF_CHECK_EQUAL(prices_of("some-new-model").input, 15.0);
  auto sonnet = prices_of("sonnet");
  CAF_CHECK_EQUAL(sonnet.cache_write, 3.75);
  CAF_CHECK_EQUAL(sonnet.cache_read, 3.0 * 0.1);
}

CAF_TEST(a run without its result is charged the last usage of each message) {
  // The first two lines of tool_use.jsonl are one message whose usage grows
  // from 3 to 85 output tokens: 4 input, 85 output and 14640 cache reads on
  // sonnet.
  std::istringstream lines{read_fixture("tool_use.jsonl")};
  std::string init;
  std::string text;
  std::string tool;
  std::getline(lines, init);
  std::getline(lines, text);
  std::getline(lines, tool);
  task_outcome outcome{task_status::failed, -1, 9, "killed by signal 9"};
  conclude_claude_run(init + "\n" + text + "\n" + tool + "\n", outcome, 0, 0);
  auto expected = (4 * 3.0 + 85 * 15.0 + 14640 * 0.3) / 1e6;
  CAF_CHECK_LESS(std::abs(outcome.report.cost_usd - expected), 1e-12);
  CAF_CHECK_EQUAL(outcome.report.output_tokens, 85u);
  CAF_CHECK_EQUAL(outcome.report.turns, 1u);
}

CAF_TEST(a watched run is stopped once its estimated cost reaches the budget) {
  claude_provider provider{claude_options{}};
  task_spec spec;
  spec.prompt = "list the files";
  CAF_CHECK(provider.watch(spec) == nullptr);
  spec.budget_usd = 0.005;
  auto watcher = provider.watch(spec);
  CAF_REQUIRE(watcher != nullptr);
  auto stream = read_fixture("tool_use.jsonl");
  // The init line, then the first message line cut in two: nothing spent.
  auto first_end = stream.find('\n') + 1;
  auto second_end = stream.find('\n', first_end) + 1;
  CAF_CHECK_EQUAL(watcher->feed(stream.substr(0, first_end + 50)), "");
  // The rest of that line: 4 input, 3 output, 14640 cache reads ≈ $0.0044.
  CAF_CHECK_EQUAL(watcher->feed(stream.substr(first_end + 50,
                                              second_end - first_end - 50)),
                  "");
  // The same message grown to 85 output tokens: $0.0057, over $0.005.
  auto third_end = stream.find('\n', second_end) + 1;
  CAF_CHECK_EQUAL(watcher->feed(stream.substr(second_end,
                                              third_end - second_end)),
                  "budget: the run spent about $0.0057 of its $0.0050");
}

CAF_TEST(the claude binary must be an executable file not a directory) {
  test::temp_dir dir;
  auto folder = dir.file("claude-dir");
  std::filesystem::create_directories(folder);
  auto plain = dir.file("claude-plain");
  std::ofstream{plain} << "#!/bin/sh\n";
  auto runnable = dir.file("claude-runnable");
  std::ofstream{runnable} << "#!/bin/sh\n";
  std::filesystem::permissions(runnable, std::filesystem::perms::owner_all);
  CAF_CHECK_EQUAL(find_executable(runnable), runnable);
  CAF_CHECK_EQUAL(find_executable(folder), "");
  CAF_CHECK_EQUAL(find_executable(plain), "");
  CAF_CHECK_EQUAL(find_executable(dir.file("missing")), "");
}
