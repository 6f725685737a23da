#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "actors/claude/stream_json.hpp"
#include "actors/claude/usage_limit.hpp"

namespace cw::actors {

/// What one `claude -p` run amounts to: the fold of its stream.
struct claude_result {
  /// The CLI session id, to pass to `--resume` next time.
  std::string session_id;
  std::string model;
  /// The final text: the result line's, else the last assistant text.
  std::string text;
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
  /// The result line's usage; before it, the sum over assistant messages.
  token_usage usage;
  uint32_t turns = 0;
  int64_t duration_ms = 0;
  int64_t duration_api_ms = 0;
  uint32_t tool_uses = 0;
  /// Tool results that reported an error.
  uint32_t tool_errors = 0;
  uint32_t lines = 0;
  uint32_t malformed_lines = 0;
  uint32_t unknown_lines = 0;
  /// What the run said about usage or rate limits.
  usage_limit limit;

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

  /// Scans one stderr line for limit reports.
  void add_stderr(std::string_view line);

  /// Returns the fold so far.
  const claude_result& result() const noexcept {
    return result_;
  }

private:
  void add_usage(const std::string& message_id, const std::string& model,
                 const token_usage& usage);
  void note_limit(std::string_view text);

  stream_parser parser_;
  claude_result result_;
  std::string last_message_id_;
  /// The usage and estimated cost counted for `last_message_id_`.
  token_usage last_usage_;
  double last_cost_usd_ = 0;
  int64_t now_ms_;
  int32_t utc_offset_minutes_;
};

} // namespace cw::actors
