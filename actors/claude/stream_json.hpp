#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cw::actors {

/// The model name the CLI gives messages it makes up itself, such as the
/// usage-limit notice.
constexpr std::string_view synthetic_model = "<synthetic>";


/// Token counts of one API call or of a whole run, as in the CLI's `usage`.
struct token_usage {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_creation_input_tokens = 0;
  uint64_t cache_read_input_tokens = 0;
};

/// One MCP server as listed by the init message.
struct mcp_server_status {
  std::string name;
  /// For example `"connected"` or `"failed"`.
  std::string status;
};

/// The first line of a run: `{"type":"system","subtype":"init",...}`.
struct system_init {
  std::string session_id;
  std::string model;
  std::string cwd;
  std::string permission_mode;
  std::vector<std::string> tools;
  std::vector<mcp_server_status> mcp_servers;
};

/// The words of an `assistant` message block and where they come from.
struct assistant_words {
  std::string session_id;
  /// The API message id; several lines may share one when the CLI streams
  /// the blocks of one message separately.
  std::string message_id;
  std::string model;
  std::string text;
  token_usage usage;
  /// The `Task` tool call whose sub-agent wrote the message; empty for the
  /// main conversation's own messages.
  std::string parent_tool_use_id;
};

/// A text block of an `assistant` message.
struct assistant_text : assistant_words {};

/// A `thinking` block of an `assistant` message (extended thinking). The
/// text may be empty: some models send only a signature.
struct assistant_thinking : assistant_words {};

/// A `tool_use` block of an `assistant` message.
struct tool_use {
  std::string session_id;
  std::string message_id;
  /// The tool call id (`toolu_…`) that the matching `tool_result` names.
  std::string id;
  std::string name;
  /// The tool input as raw JSON text.
  std::string input_json;
  token_usage usage;
  std::string parent_tool_use_id;
  /// The model of the message.
  std::string model;
};

/// A `tool_result` block of a `user` message.
struct tool_result {
  std::string session_id;
  std::string tool_use_id;
  bool is_error = false;
  /// The content; an array of text blocks is joined with newlines.
  std::string content;
  std::string parent_tool_use_id;
};

/// A `text` block of a `user` message: the prompt the CLI gives a
/// sub-agent (`parent_tool_use_id` set), or a prompt it echoes.
struct user_text {
  std::string session_id;
  std::string text;
  std::string parent_tool_use_id;
};

/// The last line of a run: `{"type":"result",...}`.
struct final_result {
  std::string session_id;
  /// `success`, `error_max_turns`, `error_during_execution`, …
  std::string subtype;
  bool is_error = false;
  /// The final text; absent on most error subtypes.
  std::string result;
  /// `total_cost_usd`, or the older `cost_usd`.
  double cost_usd = 0;
  token_usage usage;
  uint32_t num_turns = 0;
  int64_t duration_ms = 0;
  int64_t duration_api_ms = 0;
  /// What went wrong, on error subtypes (`errors`), e.g. `No conversation
  /// found with session ID: …`.
  std::vector<std::string> errors;
  /// The tool names of `permission_denials`: calls the CLI refused.
  std::vector<std::string> permission_denials;
};

/// A `{"type":"rate_limit_event",...}` line: the plan's limit status.
struct rate_limit_event {
  std::string session_id;
  /// `allowed`, `allowed_warning` or `rejected`.
  std::string status;
  /// `five_hour`, `seven_day`, …
  std::string limit_type;
  /// Unix seconds of the reset, or 0 when not given.
  int64_t resets_at_s = 0;
};

/// A well-formed JSON object of a type or subtype the parser does not model
/// (or a message with no content blocks).
struct unknown_line {
  std::string type;
};

/// A line that is not a JSON object: garbage, or a line cut off mid-way.
struct malformed_line {
  /// The parser's reason.
  std::string error;
  /// The first bytes of the line, for logs.
  std::string excerpt;
};

/// One typed item of the stream.
using stream_item
  = std::variant<system_init, assistant_text, assistant_thinking, tool_use,
                 tool_result, user_text, final_result, rate_limit_event,
                 unknown_line, malformed_line>;

/// Parses `claude -p … --output-format stream-json --verbose` output one line
/// at a time. Never throws: anything it cannot read becomes a
/// `malformed_line`. Keeps its buffers between calls, so reuse one instance
/// per stream. Not thread-safe.
class stream_parser {
public:
  stream_parser();
  ~stream_parser();
  stream_parser(stream_parser&&) noexcept;
  stream_parser& operator=(stream_parser&&) noexcept;

  /// Returns the items of one line (without its newline; a trailing `\r` is
  /// ignored): none for a blank line, else at least one. An `assistant`
  /// message yields one item per text, thinking or tool_use block, a `user`
  /// message one per tool_result or text block (other blocks are skipped).
  std::vector<stream_item> parse(std::string_view line);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Returns the items of `line`, using a parser made for this call.
std::vector<stream_item> parse_line(std::string_view line);

/// Splits a byte stream into lines. Feed chunks as they arrive; a line that
/// never gets its newline is returned by `finish`.
class line_splitter {
public:
  /// Appends `chunk` and returns the lines it completed.
  std::vector<std::string> feed(std::string_view chunk);

  /// Returns the unterminated rest of the stream, if any, and clears it.
  std::vector<std::string> finish();

private:
  std::string pending_;
};

} // namespace cw::actors
