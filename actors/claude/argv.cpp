#include "actors/claude/argv.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

namespace {

/// Returns whether the CLI's option parser would read `value` as a flag.
bool looks_like_flag(const std::string& value) {
  return !value.empty() && value.front() == '-';
}

} // namespace

caf::expected<std::vector<std::string>>
make_claude_argv(const claude_options& opts) {
  if (opts.binary.empty())
    return make_error(errc::invalid_argument, "claude: no binary given");
  if (opts.prompt.empty())
    return make_error(errc::invalid_argument, "claude: the prompt is empty");
  // A prompt starting with '-' would be parsed as an option; such prompts
  // should reach the CLI on stdin instead.
  if (looks_like_flag(opts.prompt))
    return make_error(errc::invalid_argument,
                      "claude: the prompt starts with '-'");
  for (auto* value : {&opts.resume_session, &opts.mcp_config, &opts.model,
                      &opts.permission_mode})
    if (looks_like_flag(*value))
      return make_error(errc::invalid_argument,
                        "claude: option value '" + *value
                          + "' starts with '-'");
  std::vector<std::string> argv{opts.binary,    "-p",
                                opts.prompt,    "--output-format",
                                "stream-json",  "--verbose"};
  auto add = [&](const char* flag, const std::string& value) {
    if (value.empty())
      return;
    argv.emplace_back(flag);
    argv.push_back(value);
  };
  add("--resume", opts.resume_session);
  add("--mcp-config", opts.mcp_config);
  add("--model", opts.model);
  add("--permission-mode", opts.permission_mode);
  if (opts.max_turns > 0)
    add("--max-turns", std::to_string(opts.max_turns));
  std::string tools;
  for (auto& tool : opts.allowed_tools) {
    if (tool.empty())
      continue;
    if (looks_like_flag(tool))
      return make_error(errc::invalid_argument,
                        "claude: tool '" + tool + "' starts with '-'");
    tools += (tools.empty() ? "" : ",") + tool;
  }
  add("--allowedTools", tools);
  return argv;
}

} // namespace cw::actors
