#define CAF_SUITE actors.claude_render
#include "caf/test/unit_test.hpp"

#include <fstream>
#include <random>
#include <sstream>

#include "actors/claude/render.hpp"

#include "tests/support/paths.hpp"

using namespace cw::actors;

namespace {

std::string read_fixture(const std::string& name) {
  auto path = std::string{CW_FIXTURES_DIR} + "/claude/" + name;
  std::ifstream in{path, std::ios::binary};
  if (!in.good())
    CAF_FAIL("cannot open fixture " << path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string render_fixture(const std::string& name,
                           const render_options& opts = {}) {
  return render_conversation(read_fixture(name), opts);
}

const char* fixtures[] = {"success.jsonl",     "tool_use.jsonl",
                          "error.jsonl",       "max_turns.jsonl",
                          "garbage.jsonl",     "cutoff.jsonl",
                          "usage_limit.jsonl", "session_limit.jsonl",
                          "subagent.jsonl"};

/// Checks that `text` holds `piece`, printing the text when it does not.
#define CHECK_HAS(text, piece)                                                 \
  do {                                                                         \
    if ((text).find(piece) == std::string::npos)                               \
      CAF_ERROR("missing " << std::string{piece} << " in:\n" << (text));       \
    else                                                                       \
      CAF_CHECK(true);                                                         \
  } while (false)

#define CHECK_LACKS(text, piece)                                               \
  do {                                                                         \
    if ((text).find(piece) != std::string::npos)                               \
      CAF_ERROR("unexpected " << std::string{piece} << " in:\n" << (text));    \
    else                                                                       \
      CAF_CHECK(true);                                                         \
  } while (false)

constexpr auto init_line
  = R"({"type":"system","subtype":"init","session_id":"s1","model":"m",)"
    R"("cwd":"/w","tools":["Bash","Read"]})";

} // namespace

// -- the canned streams -------------------------------------------------------

CAF_TEST(a successful run renders header text and result) {
  CAF_CHECK_EQUAL(
    render_fixture("success.jsonl"),
    "── session 9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35 · model "
    "claude-sonnet-4-20250514 · cwd /tmp/cw-work · tools: Task, Bash, Glob, "
    "Grep, LS, Read, Edit, Write, … (11 in all) · mcp: cw (connected)\n"
    "assistant: The answer is 4.\n"
    "── result success · 1 turn · $0.0105 · 4 in / 9 out tokens (cache 13,120 "
    "read / 1,520 written) · 2.4 s\n");
}

CAF_TEST(tool calls and their results are shown and results truncated) {
  render_options opts;
  opts.max_tool_result_lines = 2;
  auto out = render_fixture("tool_use.jsonl", opts);
  CHECK_HAS(out, "assistant: I'll list the files first.\n");
  CHECK_HAS(out, "  → Bash  {\"command\":\"ls -la\",\"description\":\"List "
                 "files in the working directory\"}\n");
  CHECK_HAS(out, "  ← ok: total 8\n"
                 "    drwxr-xr-x 2 cw cw 4096 Jun 14 10:00 .\n"
                 "    … 1 more line\n");
  CHECK_HAS(out, "  → Read  {\"file_path\":\"/tmp/cw-work/missing.md\"}\n");
  CHECK_HAS(out, "  ← error: <tool_use_error>File does not exist."
                 "</tool_use_error>\n");
  CHECK_HAS(out, "assistant: The directory holds one file: README.md.\n");
  CHECK_HAS(out, "── result success · 5 turns · $0.0388 · 21 in / 166 out "
                 "tokens (cache 58,770 read / 390 written) · 9.2 s\n");
  // The result text repeats the last assistant text, so it is not shown.
  CHECK_LACKS(out, "result: ");
  // Without a limit all three lines show.
  out = render_fixture("tool_use.jsonl");
  CHECK_HAS(out, "    -rw-r--r-- 1 cw cw   12 Jun 14 10:00 README.md\n");
  CHECK_LACKS(out, "more line");
  opts.max_tool_result_lines = 0;
  CHECK_HAS(render_fixture("tool_use.jsonl", opts), "  ← ok (3 lines)\n");
}

CAF_TEST(error results are marked) {
  auto out = render_fixture("error.jsonl");
  CHECK_HAS(out, "assistant: Let me run the tests.\n");
  // The errors, then the result line.
  CHECK_HAS(out, "error: API Error: 500 {\"type\":\"error\",\"error\":{\"type\":"
                 "\"api_error\",\"message\":\"Internal server error\"},"
                 "\"request_id\":\"req_011CUx7a9Fh2TLXdWbq3PRmn\"}\n"
                 "── result error_during_execution (is_error) · 1 turn · "
                 "$0.0061 · 4 in / 6 out tokens");
  CHECK_LACKS(out, "denied: ");
  out = render_fixture("max_turns.jsonl");
  CHECK_HAS(out, "  → Glob  {\"pattern\":\"**/*.cpp\"}\n"
                 "  ← ok: src/main.cpp\n");
  CHECK_HAS(out, "── result error_max_turns · 2 turns · $0.0123 · 8 in / 52 "
                 "out tokens (cache 29,280 read / 120 written) · 3.1 s\n");
}

CAF_TEST(garbage lines are shown as they are and unknown lines summarised) {
  auto out = render_fixture("garbage.jsonl");
  CHECK_HAS(out, "! (node:48213) Warning: Setting the "
                 "NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0' "
                 "makes TLS connections insecure.\n");
  CHECK_HAS(out, "! {not json at all\n");
  CHECK_HAS(out, "! [1,2,3]\n");
  CHECK_HAS(out, "── rate limit allowed · five_hour · resets 2026-02-18 05:00 "
                 "UTC\n");
  CHECK_HAS(out, "assistant: Still here.\n");
  CHECK_HAS(out, "── result success · 1 turn · $0.0021");
  CHECK_LACKS(out, "telemetry_ping\",");
  // The summary comes last.
  auto summary = "── 3 lines not JSON · 1 unknown line (telemetry_ping)\n";
  CAF_CHECK_EQUAL(out.substr(out.size() - std::string{summary}.size()),
                  summary);
}

CAF_TEST(a stream cut off mid line shows the cut line and no result) {
  auto out = render_fixture("cutoff.jsonl");
  CHECK_HAS(out, "assistant: Working on it.\n");
  CHECK_HAS(out, "! cut off: {\"type\":\"assistant\",\"message\":");
  CHECK_HAS(out, "\"text\":\"Now the second pa\n");
  CHECK_HAS(out, "── no result line: the run ended early or is still going · "
                 "1 line not JSON\n");
  CHECK_LACKS(out, "── result");
}

CAF_TEST(limit notices from the CLI are shown as notices) {
  auto out = render_fixture("usage_limit.jsonl");
  CHECK_HAS(out, "notice: Claude AI usage limit reached|1750708800\n");
  CHECK_HAS(out, "── result success (is_error) · 1 turn · $0.0000");
  CHECK_LACKS(out, "assistant:");
  CHECK_LACKS(out, "result: ");
  out = render_fixture("session_limit.jsonl");
  CHECK_HAS(out, "── rate limit rejected · five_hour · resets 2026-02-18 "
                 "05:00 UTC\n");
  CHECK_HAS(out, "notice: You've hit your session limit · resets 3:50pm "
                 "(UTC)\n");
}

CAF_TEST(a sub agent is marked and thinking and denials are shown) {
  CAF_CHECK_EQUAL(
    render_fixture("subagent.jsonl"),
    "── session 9f3c2a1e-5b7d-4e8a-a6c1-2d4f8e0b7c35 · model "
    "claude-sonnet-4-20250514 · cwd /tmp/cw-work · tools: Task, Bash, Glob, "
    "Grep, LS, Read, Edit, Write, … (11 in all) · mcp: cw (connected)\n"
    "thinking: The user wants to know where the tests are defined. An Explore "
    "agent can search the tree; then I'll note the answer in NOTES.md.\n"
    "  → Task  {\"description\":\"Find the build files\",\"prompt\":\"List "
    "the CMake files under /tmp/cw-work and say which one defines the "
    "tests.\",\"subagent_type\":\"Explore\"}\n"
    "  ┆ user: List the CMake files under /tmp/cw-work and say which one "
    "defines the tests.\n"
    "  ┆   → Glob  {\"pattern\":\"**/CMakeLists.txt\",\"path\":"
    "\"/tmp/cw-work\"}\n"
    "  ┆   ← ok: /tmp/cw-work/CMakeLists.txt\n"
    "  ┆     /tmp/cw-work/tests/CMakeLists.txt\n"
    "  ┆ assistant: Two CMake files: /tmp/cw-work/CMakeLists.txt and "
    "/tmp/cw-work/tests/CMakeLists.txt. The tests are defined in "
    "tests/CMakeLists.txt.\n"
    "  ← Task ok: Two CMake files: /tmp/cw-work/CMakeLists.txt and "
    "/tmp/cw-work/tests/CMakeLists.txt. The tests are defined in "
    "tests/CMakeLists.txt.\n"
    "  → Write  {\"file_path\":\"/tmp/cw-work/NOTES.md\",\"content\":\"# "
    "Notes\\n\\nThe tests are defined in tests/CMakeLists.txt.\\n\"}\n"
    "  ← error: Claude requested permissions to write to "
    "/tmp/cw-work/NOTES.md, but you haven't granted it yet.\n"
    "assistant: The tests are defined in tests/CMakeLists.txt. I could not "
    "write NOTES.md: permission to write was not granted.\n"
    "denied: Write\n"
    "── result success · 4 turns · $0.0347 · 15 in / 246 out tokens (cache "
    "48,800 read / 2,750 written) · 14.8 s\n");
}

CAF_TEST(long thinking and prompts are cut and empty thinking is not shown) {
  render_options opts;
  opts.max_thinking_bytes = 5;
  opts.max_prompt_bytes = 3;
  auto out = render_conversation(
    R"({"type":"assistant","message":{"id":"m","content":[)"
    R"({"type":"thinking","thinking":"","signature":"c2ln"},)"
    R"({"type":"thinking","thinking":"abcdefgh"}]}})"
    "\n"
    R"({"type":"user","parent_tool_use_id":"t1","message":{"content":[)"
    R"({"type":"text","text":"do this\nand that"}]}})"
    "\n",
    opts);
  CAF_CHECK_EQUAL(out, "thinking: abcde… (3 more bytes)\n"
                       "  ┆ user: do … (13 more bytes)\n"
                       "── no result line: the run ended early or is still "
                       "going\n");
}

CAF_TEST(permission denials are listed once per tool with a count) {
  auto out = render_conversation(
    R"({"type":"result","subtype":"error_during_execution","is_error":true,)"
    R"("num_turns":3,"errors":["first","second"],"permission_denials":[)"
    R"({"tool_name":"Bash","tool_use_id":"t1","tool_input":{}},)"
    R"({"tool_name":"Write","tool_use_id":"t2","tool_input":{}},)"
    R"({"tool_name":"Bash","tool_use_id":"t3","tool_input":{}}]})"
    "\n");
  CAF_CHECK_EQUAL(out, "error: first\n"
                       "error: second\n"
                       "denied: Bash ×2, Write\n"
                       "── result error_during_execution (is_error) · 3 "
                       "turns · $0.0000 · 0 in / 0 out tokens\n");
}

// -- robustness ---------------------------------------------------------------

CAF_TEST(every fixture renders without colour by default and ends cleanly) {
  for (auto name : fixtures) {
    auto out = render_fixture(name);
    CAF_CHECK(!out.empty());
    CAF_CHECK_EQUAL(out.back(), '\n');
    CHECK_LACKS(out, "\033");
    render_options opts;
    opts.colour = true;
    auto coloured = render_fixture(name, opts);
    CHECK_HAS(coloured, "\033[");
    CHECK_HAS(coloured, "\033[0m\n");
  }
  CAF_CHECK_EQUAL(render_conversation(""), "");
  CAF_CHECK_EQUAL(render_conversation("\n\n  \n"), "");
}

CAF_TEST(rendering never throws on prefixes or random bytes) {
  std::string all;
  for (auto name : fixtures)
    all += read_fixture(name);
  size_t rendered = 0;
  try {
    // Every prefix cut at a few bytes' step, so lines end everywhere.
    for (size_t n = 0; n <= all.size(); n += 13) {
      auto out = render_conversation(std::string_view{all}.substr(0, n));
      rendered += out.empty() ? 0 : 1;
    }
    std::mt19937 gen{42};
    std::uniform_int_distribution<int> byte{0, 255};
    for (int round = 0; round < 200; ++round) {
      auto line = all.substr(gen() % all.size(), gen() % 400);
      for (auto& c : line)
        if (gen() % 8 == 0)
          c = static_cast<char>(byte(gen));
      render_options opts;
      opts.colour = round % 2 == 0;
      opts.max_raw_line_bytes = gen() % 50;
      opts.max_tool_result_lines = gen() % 3;
      opts.max_tool_input_bytes = gen() % 20;
      opts.max_tool_result_line_bytes = gen() % 20;
      opts.max_tools = gen() % 3;
      render_conversation(line, opts);
      ++rendered;
    }
  } catch (const std::exception& ex) {
    CAF_FAIL("render_conversation threw: " << ex.what());
  }
  CAF_CHECK_GREATER(rendered, 1000u);
}

CAF_TEST(escape sequences cannot reach the terminal) {
  std::string log = "\033[2J\033]0;pwned\007 stderr\n";
  log += init_line;
  log += "\n";
  log += R"({"type":"assistant","message":{"content":[{"type":"text",)"
         R"("text":"a\u001b[31mred\u009b1m\r"}]}})";
  log += "\n";
  auto out = render_conversation(log);
  CHECK_LACKS(out, "\033");
  CHECK_LACKS(out, "\007");
  CHECK_LACKS(out, "\xc2\x9b");
  CHECK_HAS(out, "! ^[[2J^[]0;pwned^G stderr\n");
  CHECK_HAS(out, "assistant: a^[[31mred<9b>1m^M\n");
}

// -- layout -------------------------------------------------------------------

CAF_TEST(long lines are cut without splitting characters) {
  render_options opts;
  opts.max_raw_line_bytes = 4;
  // "é" is two bytes; four bytes would end inside the second one.
  auto out = render_conversation("abcé→xyz\n", opts);
  CAF_CHECK_EQUAL(out, "! abc… (8 more bytes)\n"
                       "── 1 line not JSON\n");
  opts.max_raw_line_bytes = 0;
  CAF_CHECK_EQUAL(render_conversation(std::string(3000, 'x'), opts),
                  "! cut off: " + std::string(3000, 'x') + "\n"
                    + "── 1 line not JSON\n");
}

CAF_TEST(results of parallel tool calls name their tool) {
  std::string log = init_line;
  log += "\n";
  log += R"({"type":"assistant","message":{"content":[)"
         R"({"type":"tool_use","id":"t1","name":"Bash","input":{}},)"
         R"({"type":"tool_use","id":"t2","name":"Read","input":{"f":1}}]}})";
  log += "\n";
  log += R"({"type":"user","message":{"content":[)"
         R"({"type":"tool_result","tool_use_id":"t1","content":""},)"
         R"({"type":"tool_result","tool_use_id":"t2","content":"no",)"
         R"("is_error":true}]}})";
  log += "\r\n";
  auto out = render_conversation(log);
  CHECK_HAS(out, "── session s1 · model m · cwd /w · tools: Bash, Read\n"
                 "  → Bash\n"
                 "  → Read  {\"f\":1}\n"
                 "  ← Bash ok (no output)\n"
                 "  ← Read error: no\n");
}

CAF_TEST(multi line text is indented under its label) {
  auto out = render_conversation(
    R"({"type":"assistant","message":{"content":[{"type":"text",)"
    R"("text":"one\ntwo\n\nthree\n\n"}]}})");
  CAF_CHECK_EQUAL(out, "assistant: one\n"
                       "  two\n"
                       "\n"
                       "  three\n"
                       "── no result line: the run ended early or is still "
                       "going\n");
}

CAF_TEST(a result text that differs from the last answer is shown) {
  std::string log
    = R"({"type":"assistant","message":{"content":[{"type":"text",)"
      R"("text":"working"}]}})";
  log += "\n";
  log += R"({"type":"result","subtype":"error_during_execution",)"
         R"("is_error":true,"result":"boom","num_turns":2,)"
         R"("total_cost_usd":12.5,"duration_ms":125000,)"
         R"("usage":{"input_tokens":1234567,"output_tokens":0}})";
  log += "\n{\"type\":\"x\"}\n{\"type\":\"x\"}\n{}\n";
  auto out = render_conversation(log);
  CAF_CHECK_EQUAL(out, "assistant: working\n"
                       "result: boom\n"
                       "── result error_during_execution (is_error) · 2 turns "
                       "· $12.50 · 1,234,567 in / 0 out tokens · 2 min 5 s\n"
                       "── 3 unknown lines (no type, x ×2)\n");
}
