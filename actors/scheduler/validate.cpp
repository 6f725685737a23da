#include "actors/scheduler/validate.hpp"

#include <filesystem>
#include <system_error>

#include "messages/errc.hpp"

namespace cw::actors {

caf::error validate(task_spec& spec, const std::string& default_workspace) {
  auto invalid = [](std::string msg) {
    return make_error(errc::invalid_argument, std::move(msg));
  };
  if (spec.provider != "command")
    return make_error(errc::unknown_provider,
                      "provider: unknown provider '" + spec.provider
                        + "' (known: command)");
  if (spec.argv.empty() || spec.argv.front().empty())
    return invalid("argv: the command provider needs a program to run");
  if (spec.argv.size() > task_limits::max_argv)
    return invalid("argv: more than " + std::to_string(task_limits::max_argv)
                   + " arguments");
  if (spec.prompt.size() > task_limits::max_prompt_bytes)
    return invalid("prompt: longer than "
                   + std::to_string(task_limits::max_prompt_bytes) + " bytes");
  if (spec.priority < task_limits::min_priority
      || spec.priority > task_limits::max_priority)
    return invalid("priority: must be between "
                   + std::to_string(task_limits::min_priority) + " and "
                   + std::to_string(task_limits::max_priority));
  if (spec.workspace.empty())
    spec.workspace = default_workspace;
  std::filesystem::path ws{spec.workspace};
  if (!ws.is_absolute())
    return invalid("workspace: must be an absolute path, got '"
                   + spec.workspace + "'");
  std::error_code ec;
  if (!std::filesystem::is_directory(ws, ec))
    return invalid("workspace: '" + spec.workspace + "' is not a directory");
  return {};
}

} // namespace cw::actors
