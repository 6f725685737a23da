#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cw::actors {

/// How `render_conversation` lays out a log.
struct render_options {
  /// Lines of a tool result to show; the rest is counted. 0 shows none.
  size_t max_tool_result_lines = 4;
  /// Bytes of each shown tool result line.
  size_t max_tool_result_line_bytes = 200;
  /// Bytes of a tool call's input JSON to show.
  size_t max_tool_input_bytes = 160;
  /// Bytes of a line that is not JSON (stderr, garbage) to show; 0 shows it
  /// whole.
  size_t max_raw_line_bytes = 1000;
  /// Bytes of a thinking block, and of a prompt given to a sub-agent, to
  /// show; 0 shows them whole.
  size_t max_thinking_bytes = 300;
  size_t max_prompt_bytes = 300;
  /// Tool names to list in the session header.
  size_t max_tools = 8;
  /// Whether to add ANSI colour escapes.
  bool colour = false;
};

/// Returns the raw log of a claude task (stream-json lines, possibly mixed
/// with stderr text and garbage, possibly cut off mid-line) as text for a
/// terminal, one item per line:
///
/// ```
/// ── session 9f3c… · model claude-sonnet-4 · cwd /tmp/x · tools: Bash, …
/// thinking: The user wants the files listed.
/// assistant: I'll look at the files.
///   → Bash  {"command":"ls"}
///   ← ok: a.txt
///   → Task  {"description":"Find the tests",…}
///   ┆ user: Find the tests.
///   ┆   → Glob  {"pattern":"**/*_test.cpp"}
///   ┆   ← ok: a_test.cpp
///   ┆ assistant: One test file: a_test.cpp.
///   ← ok: One test file: a_test.cpp.
/// denied: Write
/// ── result success · 3 turns · $0.0123 · 1,234 in / 567 out tokens · 4.2 s
/// ```
///
/// The lines of a sub-agent (messages with a `parent_tool_use_id`) are marked
/// `  ┆ `. An error result shows its `errors` after `error: `, and a result
/// with permission denials the refused tools after `denied: `.
///
/// Lines that are not JSON objects are shown as they are after `! ` (the
/// unterminated last line after `! cut off: `), so nothing is hidden.
/// Well-formed lines of unknown types are counted and summarised at the end.
/// Control characters in the log (terminal escapes included) are shown in
/// caret notation (`^[`), so the log cannot drive the terminal. Returns an
/// empty string for an empty log. Pure; never throws on any input.
std::string render_conversation(std::string_view log,
                                const render_options& opts = {});

} // namespace cw::actors
