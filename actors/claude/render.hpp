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
/// assistant: I'll look at the files.
///   → Bash  {"command":"ls"}
///   ← ok: a.txt
/// ── result success · 3 turns · $0.0123 · 1,234 in / 567 out tokens · 4.2 s
/// ```
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
