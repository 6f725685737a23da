#include "actors/claude/claude_provider.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/claude/claude_result.hpp"
#include "actors/claude/stream_json.hpp"
#include "actors/cost/ledger.hpp"
#include "messages/errc.hpp"

namespace cw::actors {

namespace {

/// Returns the node's offset from UTC now, in minutes.
int32_t local_utc_offset_minutes() {
  auto t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  return static_cast<int32_t>(local.tm_gmtoff / 60);
}

int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Returns at most `n` bytes of `text`, cut at a UTF-8 boundary.
std::string excerpt(const std::string& text, size_t n) {
  if (text.size() <= n)
    return text;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
    --n;
  return text.substr(0, n) + "…";
}

/// Returns `xs` joined by `; `.
std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += "; ";
    out += x;
  }
  return out;
}

/// Returns at most 200 bytes of `text` for a failure's reason, on one line:
/// line breaks and tabs become spaces, other control characters (terminal
/// escapes) `?`, for the reason reaches terminals.
std::string reason_excerpt(const std::string& text) {
  auto out = excerpt(text, 200);
  for (auto& c : out)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
      c = '?';
  return out;
}

/// Stops a run whose estimated cost reaches its budget (the task's budget
/// left, as the scheduler hands it over in `task_spec::budget_usd`).
class budget_watcher final : public run_watcher {
public:
  explicit budget_watcher(double budget_usd) : budget_usd_(budget_usd) {
    // nop
  }

  std::string feed(std::string_view bytes) override {
    for (auto& line : lines_.feed(bytes))
      acc_.add_line(line);
    auto spent = acc_.result().estimated_cost_usd;
    if (acc_.result().complete || spent < budget_usd_)
      return {};
    return "budget: the run spent about " + format_usd(spent) + " of its "
           + format_usd(budget_usd_);
  }

private:
  double budget_usd_;
  line_splitter lines_;
  stream_accumulator acc_;
};

} // namespace

claude_provider::claude_provider(claude_options defaults)
  : defaults_(std::move(defaults)) {
  // nop
}

caf::expected<std::vector<std::string>>
claude_provider::argv(const task_spec& spec) const {
  auto opts = defaults_;
  opts.prompt = spec.prompt;
  opts.resume_session = spec.resume_session;
  if (!spec.model.empty())
    opts.model = spec.model;
  if (spec.max_turns != 0)
    opts.max_turns = spec.max_turns;
  if (spec.permissions != permission_mode::unset)
    opts.permission_mode = to_string(spec.permissions);
  if (!spec.allowed_tools.empty())
    opts.allowed_tools = spec.allowed_tools;
  return make_claude_argv(opts);
}

std::unique_ptr<run_watcher>
claude_provider::watch(const task_spec& spec) const {
  if (spec.budget_usd <= 0)
    return nullptr;
  return std::make_unique<budget_watcher>(spec.budget_usd);
}

void claude_provider::conclude(const std::string& log_path,
                               uint64_t log_offset,
                               task_outcome& outcome) const {
  std::ifstream in{log_path, std::ios::binary};
  std::string output;
  if (in) {
    in.seekg(static_cast<std::streamoff>(log_offset));
    std::ostringstream buf;
    buf << in.rdbuf();
    output = std::move(buf).str();
  }
  conclude_claude_run(output, outcome, system_ms(), local_utc_offset_minutes());
}

void conclude_claude_run(std::string_view output, task_outcome& outcome,
                         int64_t now_ms, int32_t utc_offset_minutes) {
  stream_accumulator acc{now_ms, utc_offset_minutes};
  line_splitter lines;
  auto add = [&](const std::string& line) {
    acc.add_line(line);
    // The shim writes stderr into the same log: a line that is no JSON
    // object may be the CLI's own error message.
    if (!line.empty() && line.front() != '{')
      acc.add_stderr(line);
  };
  for (auto& line : lines.feed(output))
    add(line);
  for (auto& line : lines.finish())
    add(line);
  const auto& r = acc.result();
  auto& rep = outcome.report;
  rep.session = r.session_id;
  rep.model = r.model;
  rep.tools = r.tools;
  rep.mcp_servers.clear();
  for (auto& server : r.mcp_servers)
    rep.mcp_servers.push_back(server.name + " (" + server.status + ")");
  rep.permission_mode = r.permission_mode;
  rep.subtype = r.subtype;
  rep.is_error = r.is_error;
  rep.text = excerpt(r.text, run_report::max_text_bytes);
  auto errors = join(r.errors);
  rep.errors = excerpt(errors, run_report::max_text_bytes);
  // A run without its result line still spent money: estimate it.
  rep.cost_usd = r.complete ? r.cost_usd : r.estimated_cost_usd;
  rep.input_tokens = r.usage.input_tokens;
  rep.output_tokens = r.usage.output_tokens;
  rep.cache_read_tokens = r.usage.cache_read_input_tokens;
  rep.cache_creation_tokens = r.usage.cache_creation_input_tokens;
  rep.turns = r.turns;
  rep.tool_uses = r.tool_uses;
  rep.tool_calls = r.tool_calls;
  rep.tool_errors = r.tool_errors;
  rep.permission_denials = r.permission_denials;
  rep.malformed_lines = r.malformed_lines;
  rep.unknown_lines = r.unknown_lines;
  rep.duration_ms = r.duration_ms;
  rep.duration_api_ms = r.duration_api_ms;
  if (r.limit.limited) {
    rep.limit = to_string(r.limit.kind);
    rep.limit_reset_ms = r.limit.reset_at_ms.value_or(0);
  }
  if (!r.failed() && outcome.status == task_status::completed)
    return;
  // The exit code alone does not decide: the CLI exits 0 after some errors
  // and a stream may end without its result.
  std::string why;
  if (!r.complete) {
    // What the CLI said on stderr before it quit tells why, e.g. `No
    // conversation found with session ID: …` or `Invalid API key`.
    why = "claude: the stream ended without a result";
    if (!outcome.reason.empty())
      why += " (" + outcome.reason + ")";
    if (!r.last_stderr.empty())
      why += ": " + reason_excerpt(r.last_stderr);
  } else {
    // An error result's `errors` say what went wrong; its text, or the last
    // assistant text, is at best what the run was doing.
    const auto& detail = errors.empty() ? r.text : errors;
    why = "claude: " + (r.subtype.empty() ? std::string{"error"} : r.subtype)
          + (detail.empty() ? "" : ": " + reason_excerpt(detail));
    if (!outcome.reason.empty())
      why += " (" + outcome.reason + ")";
  }
  outcome.status = task_status::failed;
  outcome.reason = std::move(why);
}

namespace {

/// Whether `path` is a regular file (or a link to one) we may execute: a
/// directory passes `access(X_OK)` too.
bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)
         && ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string find_executable(const std::string& binary) {
  if (binary.empty())
    return {};
  if (binary.find('/') != std::string::npos)
    return is_executable_file(binary) ? binary : std::string{};
  auto path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    auto colon = dirs.find(':');
    auto dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{}
                                           : dirs.substr(colon + 1);
    if (dir.empty())
      continue;
    auto candidate = std::string{dir} + "/" + binary;
    if (is_executable_file(candidate))
      return candidate;
  }
  return {};
}

caf::expected<claude_options>
claude_options_from(const std::map<std::string, std::string>& options) {
  claude_options result;
  for (auto& [key, value] : options) {
    if (key == "binary") {
      result.binary = value;
    } else if (key == "model") {
      result.model = value;
    } else if (key == "permission_mode") {
      if (value != "default" && value != "acceptEdits" && value != "plan"
          && value != "bypassPermissions")
        return make_error(errc::invalid_argument,
                          "claude option permission_mode: '" + value
                            + "' is not one of default, acceptEdits, plan, "
                              "bypassPermissions");
      result.permission_mode = value;
    } else if (key == "mcp_config") {
      result.mcp_config = value;
    } else if (key == "max_turns") {
      char* end = nullptr;
      auto n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 10'000)
        return make_error(errc::invalid_argument,
                          "claude option max_turns: '" + value
                            + "' is not an integer from 1 to 10000");
      result.max_turns = static_cast<uint32_t>(n);
    } else if (key == "allowed_tools") {
      std::string_view rest = value;
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        auto tool = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{}
                                            : rest.substr(nl + 1);
        if (!tool.empty())
          result.allowed_tools.emplace_back(tool);
      }
    } else {
      return make_error(errc::invalid_argument,
                        "claude option " + key
                          + " is unknown (known: allowed_tools, binary, "
                            "max_turns, mcp_config, model, permission_mode)");
    }
  }
  if (find_executable(result.binary).empty())
    return make_error(errc::invalid_argument,
                      "claude option binary: '" + result.binary
                        + "' is not an executable"
                        + (result.binary.find('/') == std::string::npos
                             ? " on PATH"
                             : ""));
  return result;
}

} // namespace cw::actors
