#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/claude/stream_json.hpp"
#include "actors/claude/usage_limit.hpp"

namespace cw::actors {

/// What one `claude -p` run amounts to: the fold of its stream.
struct claude_result {
  /// The CLI session id, to pass to `--resume` next time.
  std::string session_id;
  std::string model;
  /// From the init line: the tools the CLI offered, its MCP servers and
  /// permission mode.
  std::vector<std::string> tools;
  std::vector<mcp_server_status> mcp_servers;
  std::string permission_mode;
  /// The final text: the result line's, else the last assistant text of the
  /// main conversation (a sub-agent's text is not the run's answer).
  std::string text;
  /// The result line's `errors` (error subtypes only).
  std::vector<std::string> errors;
  /// The result subtype (`success`, `error_max_turns`, …); empty until the
  /// result line.
  std::string subtype;
  /// The result line's `is_error`.
  bool is_error = false;
  /// Whether the result line arrived (false for a stream cut off).
  bool complete = false;
  /// The result line's `total_cost_usd`; 0 before it.
  double cost_usd = 0;
  /// The cost of the assistant messages so far at list prices (see
  /// pricing.hpp): what a run cut off or stopped early has spent.
  double estimated_cost_usd = 0;
  /// The result line's usage; before it, the sum over assistant messages
  /// (sub-agents' included).
  token_usage usage;
  /// The result line's `num_turns`; before it, the main conversation's
  /// assistant messages.
  uint32_t turns = 0;
  int64_t duration_ms = 0;
  int64_t duration_api_ms = 0;
  uint32_t tool_uses = 0;
  /// Tool calls per tool name (sub-agents' included).
  std::map<std::string, uint32_t> tool_calls;
  /// Tool results that reported an error.
  uint32_t tool_errors = 0;
  /// The result line's `permission_denials`: tool calls the CLI refused.
  uint32_t permission_denials = 0;
  uint32_t lines = 0;
  uint32_t malformed_lines = 0;
  uint32_t unknown_lines = 0;
  /// What the run said about usage or rate limits.
  usage_limit limit;
  /// The last stderr line (`add_stderr`): what the CLI said when it quit
  /// without a result, e.g. `Invalid API key · Please run /login`.
  std::string last_stderr;

  /// Returns whether the run failed: no result line, `is_error`, or a
  /// subtype other than `success` (`error_max_turns` arrives with
  /// `is_error: false`).
  bool failed() const noexcept {
    return !complete || is_error || subtype != "success";
  }
};

/// Folds the lines of one run (stdout and stderr) into a `claude_result`.
/// Owned by the agent actor that reads the run's output; not thread-safe.
class stream_accumulator {
public:
  /// Reset times such as `resets 3pm` are read relative to `now_ms` at UTC
  /// plus `utc_offset_minutes`.
  explicit stream_accumulator(int64_t now_ms = 0,
                              int32_t utc_offset_minutes = 0);

  /// Parses one stdout line and folds its items.
  void add_line(std::string_view line);

  /// Folds one parsed item.
  void add(const stream_item& item);

  /// Scans one stderr line for limit reports and keeps it as `last_stderr`
  /// unless it is blank.
  void add_stderr(std::string_view line);

  /// Returns the fold so far.
  const claude_result& result() const noexcept {
    return result_;
  }

private:
  /// Counts the usage of a message line; `main` is false for a sub-agent's
  /// message, which is no turn of the run.
  void add_usage(const std::string& message_id, const std::string& model,
                 const token_usage& usage, bool main);
  void note_limit(std::string_view text);

  stream_parser parser_;
  claude_result result_;
  /// The usage and estimated cost counted so far for each message id: the
  /// CLI repeats a message's usage on each of its block lines, and lines of
  /// a sub-agent's messages may come between them.
  std::unordered_map<std::string, std::pair<token_usage, double>> counted_;
  int64_t now_ms_;
  int32_t utc_offset_minutes_;
};

} // namespace cw::actors
