#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/expected.hpp"

namespace cw::actors {

/// How to run one task with the `claude` CLI.
struct claude_options {
  /// Path or name of the executable.
  std::string binary = "claude";
  std::string prompt;
  /// The CLI session id to continue (`--resume`); empty for a new session.
  std::string resume_session;
  /// MCP configuration file (`--mcp-config`), e.g. one pointing at `cw mcp`.
  std::string mcp_config;
  /// Model alias or id (`--model`); empty for the CLI's default.
  std::string model;
  /// Tools allowed without prompting (`--allowedTools`), e.g. `Read`,
  /// `Bash(git log:*)`.
  std::vector<std::string> allowed_tools;
  /// `default`, `acceptEdits`, `plan` or `bypassPermissions`
  /// (`--permission-mode`); empty for the CLI's default.
  std::string permission_mode;
  /// Limit on agentic turns (`--max-turns`); 0 for the CLI's default.
  uint32_t max_turns = 0;
};

/// Returns the argv for `opts`: `binary -p PROMPT --output-format stream-json
/// --verbose`, then `--resume`, `--mcp-config`, `--model`,
/// `--permission-mode`, `--max-turns` and, last, `--allowedTools` with the
/// tools joined by commas (the flag takes a variadic list, so nothing may
/// follow it that it could swallow). Errors: `invalid_argument` for an empty
/// binary or prompt, or a value that the CLI would read as a flag.
caf::expected<std::vector<std::string>>
make_claude_argv(const claude_options& opts);

} // namespace cw::actors
