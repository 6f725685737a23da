#pragma once

#include <map>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "actors/agent/process_provider.hpp"
#include "actors/claude/argv.hpp"

namespace cw::actors {

/// The `claude` provider: runs the Claude Code CLI headless (`claude -p
/// PROMPT --output-format stream-json --verbose`, `--resume` to continue a
/// session) and folds its stream into the attempt's `run_report`: session
/// id, cost, tokens, turns, tools, limits. A run without a successful
/// result fails, naming the result's subtype and its errors (else its
/// text), or, without a result line, what the CLI last said on stderr; a
/// run that hit a usage or rate limit reports it (the scheduler parks the
/// task).
class claude_provider final : public process_provider {
public:
  /// `defaults` holds the pool's binary, model, tools, permission mode, max
  /// turns and MCP config; a task's own model, max turns, permission mode
  /// (`permissions`) and allowed tools win.
  explicit claude_provider(claude_options defaults);

  caf::expected<std::vector<std::string>>
  argv(const task_spec& spec) const override;

  void conclude(const std::string& log_path, uint64_t log_offset,
                task_outcome& outcome) const override;

  /// Watches runs of a task with a budget (`spec.budget_usd`, the part its
  /// earlier attempts left): a run whose cost, estimated from the usage of
  /// its messages so far, reaches it is stopped with reason `budget: …`.
  std::unique_ptr<run_watcher> watch(const task_spec& spec) const override;

  const claude_options& defaults() const noexcept {
    return defaults_;
  }

private:
  claude_options defaults_;
};

/// Reads a pool's provider options (`[pools.NAME.options]`): `binary`,
/// `model`, `permission_mode`, `mcp_config`, `max_turns`, `allowed_tools`
/// (one tool a line). Checks that the binary exists (on PATH when it has no
/// slash). Errors: `invalid_argument` naming the option.
caf::expected<claude_options>
claude_options_from(const std::map<std::string, std::string>& options);

/// Returns the path of `binary` if it names an executable file (looked up on
/// PATH when it has no slash), else an empty string.
std::string find_executable(const std::string& binary);

/// Folds the output of one run (stream-json lines, stderr lines mixed in)
/// into `outcome`: its report, and a failure when the stream has no
/// successful result. `now_ms` and `utc_offset_minutes` read reset times.
void conclude_claude_run(std::string_view output, task_outcome& outcome,
                         int64_t now_ms, int32_t utc_offset_minutes);

} // namespace cw::actors
