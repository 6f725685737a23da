#include "actors/claude/render.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <unordered_map>
#include <vector>

#include "actors/claude/stream_json.hpp"
#include "actors/cost/ledger.hpp"
#include "messages/overload.hpp"

namespace cw::actors {

namespace {

constexpr std::string_view rule = "── ";

/// Returns `x` cut to at most `n` bytes without splitting a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view x, size_t n) {
  if (x.size() <= n)
    return x;
  while (n > 0 && (static_cast<unsigned char>(x[n]) & 0xC0) == 0x80)
    --n;
  return x.substr(0, n);
}

/// Appends `x` with control characters in caret notation: the log comes from
/// an agent and its tools, and an escape sequence must not reach the
/// terminal as one. C1 controls (U+0080–U+009F) count too, since some
/// terminals act on them.
void append_safe(std::string& out, std::string_view x) {
  for (size_t i = 0; i < x.size(); ++i) {
    auto c = static_cast<unsigned char>(x[i]);
    if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += '^';
      out += static_cast<char>(c + 0x40);
    } else if (c == 0x7F) {
      out += "^?";
    } else if (c == 0xC2 && i + 1 < x.size()
               && static_cast<unsigned char>(x[i + 1]) >= 0x80
               && static_cast<unsigned char>(x[i + 1]) <= 0x9F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<%02x>",
                    static_cast<unsigned char>(x[i + 1]));
      out += buf;
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
}

/// Appends `x` cut to `n` bytes (0: whole), noting how much was left out.
void append_cut(std::string& out, std::string_view x, size_t n) {
  if (n == 0 || x.size() <= n) {
    append_safe(out, x);
    return;
  }
  auto head = truncate_utf8(x, n);
  append_safe(out, head);
  out += "… (" + std::to_string(x.size() - head.size()) + " more bytes)";
}

/// Returns `n` with thousands separators: `1,234`.
std::string with_commas(uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

/// Returns `4.2 s` or `3 min 5 s`.
std::string format_duration(int64_t ms) {
  char buf[48];
  if (ms < 60'000)
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(ms) / 1000);
  else
    std::snprintf(buf, sizeof(buf), "%" PRId64 " min %" PRId64 " s",
                  ms / 60'000, ms % 60'000 / 1000);
  return buf;
}

/// Returns `2026-02-18 05:00 UTC`.
std::string format_utc(int64_t unix_s) {
  auto t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr)
    return std::to_string(unix_s);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string plural(uint64_t n, std::string_view noun) {
  auto out = with_commas(n) + " " + std::string{noun};
  if (n != 1)
    out += 's';
  return out;
}

/// Splits `x` into lines, dropping trailing blank ones.
std::vector<std::string_view> lines_of(std::string_view x) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    auto pos = x.find('\n', start);
    out.push_back(x.substr(start, pos == std::string_view::npos
                                    ? std::string_view::npos
                                    : pos - start));
    if (pos == std::string_view::npos)
      break;
    start = pos + 1;
  }
  while (!out.empty()
         && out.back().find_first_not_of(" \t\r") == std::string_view::npos)
    out.pop_back();
  return out;
}

/// ANSI escapes, or nothing when colour is off.
struct palette {
  bool on = false;

  std::string_view bold() const {
    return on ? "\033[1m" : "";
  }
  std::string_view dim() const {
    return on ? "\033[2m" : "";
  }
  std::string_view red() const {
    return on ? "\033[31m" : "";
  }
  std::string_view green() const {
    return on ? "\033[32m" : "";
  }
  std::string_view yellow() const {
    return on ? "\033[33m" : "";
  }
  std::string_view magenta() const {
    return on ? "\033[35m" : "";
  }
  std::string_view cyan() const {
    return on ? "\033[36m" : "";
  }
  std::string_view reset() const {
    return on ? "\033[0m" : "";
  }
};

/// Renders one log line after the other.
class renderer {
public:
  explicit renderer(const render_options& opts)
    : opts_(opts), p_{opts.colour} {
    // nop
  }

  void add_line(std::string_view line, bool unterminated) {
    auto items = parser_.parse(line);
    for (auto& item : items)
      std::visit(overload{[&](const malformed_line&) {
                            nested_ = false;
                            on_raw(line, unterminated);
                          },
                          [&](const auto& x) {
                            nested_ = is_nested(x);
                            on(x);
                          }},
                 item);
    nested_ = false;
  }

  std::string finish() {
    std::vector<std::string> notes;
    if (run_open_)
      notes.emplace_back("no result line: the run ended early or is still "
                         "going");
    if (raw_lines_ > 0)
      notes.push_back(plural(raw_lines_, "line") + " not JSON");
    if (!unknown_.empty()) {
      uint64_t n = 0;
      std::string types;
      for (auto& [type, count] : unknown_) {
        n += count;
        if (!types.empty())
          types += ", ";
        types += type.empty() ? "no type" : type;
        if (count > 1)
          types += " ×" + std::to_string(count);
      }
      notes.push_back(plural(n, "unknown line") + " (" + types + ")");
    }
    if (!notes.empty()) {
      std::string text;
      for (auto& note : notes) {
        if (!text.empty())
          text += " · ";
        text += note;
      }
      rule_line(p_.dim(), text);
    }
    return std::move(out_);
  }

private:
  /// Returns whether `x` is a sub-agent's.
  template <class T>
  static bool is_nested(const T& x) {
    if constexpr (requires { x.parent_tool_use_id; })
      return !x.parent_tool_use_id.empty();
    else
      return false;
  }

  void on(const system_init& x) {
    run_open_ = true;
    std::string text = "session " + (x.session_id.empty() ? "?" : x.session_id);
    if (!x.model.empty())
      text += " · model " + x.model;
    if (!x.cwd.empty())
      text += " · cwd " + x.cwd;
    if (!x.permission_mode.empty() && x.permission_mode != "default")
      text += " · mode " + x.permission_mode;
    if (!x.tools.empty()) {
      text += " · tools: ";
      auto shown = std::min(x.tools.size(), opts_.max_tools);
      for (size_t i = 0; i < shown; ++i) {
        if (i > 0)
          text += ", ";
        text += x.tools[i];
      }
      if (shown < x.tools.size())
        text += (shown > 0 ? ", … (" : "… (")
                + std::to_string(x.tools.size()) + " in all)";
    }
    if (!x.mcp_servers.empty()) {
      text += " · mcp:";
      for (auto& server : x.mcp_servers)
        text += " " + server.name + " (" + server.status + ")";
    }
    rule_line(p_.bold(), text);
  }

  void on(const assistant_text& x) {
    run_open_ = true;
    last_tool_use_.clear();
    if (x.model == synthetic_model)
      block(p_.magenta(), "notice: ", x.text);
    else
      block(p_.bold(), "assistant: ", x.text);
    // The result repeats the main conversation's last text, never a
    // sub-agent's.
    if (!nested_)
      last_text_ = x.text;
  }

  void on(const assistant_thinking& x) {
    run_open_ = true;
    // Some models send only a signature: nothing to show.
    if (x.text.find_first_not_of(" \t\r\n") == std::string::npos)
      return;
    last_tool_use_.clear();
    block(p_.dim(), "thinking: ", cut(x.text, opts_.max_thinking_bytes));
  }

  void on(const user_text& x) {
    run_open_ = true;
    last_tool_use_.clear();
    block(p_.dim(), "user: ", cut(x.text, opts_.max_prompt_bytes));
  }

  void on(const tool_use& x) {
    run_open_ = true;
    if (!x.id.empty())
      tool_names_[x.id] = x.name;
    last_tool_use_ = x.id;
    begin(p_.cyan());
    out_ += "  → ";
    append_safe(out_, x.name.empty() ? "?" : x.name);
    if (!x.input_json.empty() && x.input_json != "{}") {
      out_ += "  ";
      append_cut(out_, x.input_json, opts_.max_tool_input_bytes);
    }
    end();
  }

  void on(const tool_result& x) {
    std::string head = "  ← ";
    // Name the tool unless its call is the line just above.
    if (x.tool_use_id != last_tool_use_ || x.tool_use_id.empty())
      if (auto i = tool_names_.find(x.tool_use_id); i != tool_names_.end())
        head += i->second + " ";
    last_tool_use_.clear();
    auto colour = x.is_error ? p_.red() : p_.green();
    head += x.is_error ? "error" : "ok";
    auto lines = lines_of(x.content);
    begin(colour);
    append_safe(out_, head);
    if (lines.empty()) {
      out_ += " (no output)";
      end();
      return;
    }
    auto shown = std::min(lines.size(), opts_.max_tool_result_lines);
    if (shown == 0) {
      out_ += " (" + plural(lines.size(), "line") + ")";
      end();
      return;
    }
    out_ += ": ";
    for (size_t i = 0; i < shown; ++i) {
      if (i > 0) {
        end();
        begin(colour);
        out_ += "    ";
      }
      append_cut(out_, lines[i], opts_.max_tool_result_line_bytes);
    }
    end();
    if (shown < lines.size()) {
      begin(p_.dim());
      out_ += "    … " + plural(lines.size() - shown, "more line");
      end();
    }
  }

  void on(const final_result& x) {
    run_open_ = false;
    last_tool_use_.clear();
    if (!x.result.empty() && x.result != last_text_)
      block(x.is_error ? p_.red() : p_.bold(), "result: ", x.result);
    last_text_.clear();
    for (auto& error : x.errors)
      block(p_.red(), "error: ", error);
    if (!x.permission_denials.empty()) {
      // In the order first refused, with a count for repeats: `Bash ×2`.
      std::vector<std::pair<std::string, size_t>> denied;
      for (auto& name : x.permission_denials) {
        auto i = std::find_if(denied.begin(), denied.end(),
                              [&](auto& d) { return d.first == name; });
        if (i == denied.end())
          denied.emplace_back(name, 1);
        else
          ++i->second;
      }
      std::string text;
      for (auto& [name, count] : denied) {
        if (!text.empty())
          text += ", ";
        text += name;
        if (count > 1)
          text += " ×" + std::to_string(count);
      }
      block(p_.yellow(), "denied: ", text);
    }
    std::string text = "result " + (x.subtype.empty() ? "?" : x.subtype);
    if (x.is_error)
      text += " (is_error)";
    text += " · " + plural(x.num_turns, "turn");
    text += " · " + format_usd(x.cost_usd);
    text += " · " + with_commas(x.usage.input_tokens) + " in / "
            + with_commas(x.usage.output_tokens) + " out tokens";
    if (x.usage.cache_read_input_tokens > 0
        || x.usage.cache_creation_input_tokens > 0)
      text += " (cache " + with_commas(x.usage.cache_read_input_tokens)
              + " read / " + with_commas(x.usage.cache_creation_input_tokens)
              + " written)";
    if (x.duration_ms > 0)
      text += " · " + format_duration(x.duration_ms);
    auto failed = x.is_error || x.subtype != "success";
    rule_line(failed ? p_.red() : p_.bold(), text);
  }

  void on(const rate_limit_event& x) {
    std::string text = "rate limit " + (x.status.empty() ? "?" : x.status);
    if (!x.limit_type.empty())
      text += " · " + x.limit_type;
    if (x.resets_at_s > 0)
      text += " · resets " + format_utc(x.resets_at_s);
    rule_line(x.status == "rejected" ? p_.red() : p_.dim(), text);
  }

  void on(const unknown_line& x) {
    ++unknown_[x.type];
  }

  void on_raw(std::string_view line, bool unterminated) {
    ++raw_lines_;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    begin(p_.yellow());
    out_ += unterminated ? "! cut off: " : "! ";
    append_cut(out_, line, opts_.max_raw_line_bytes);
    end();
  }

  /// Writes `── text`.
  void rule_line(std::string_view colour, std::string_view text) {
    begin(colour);
    out_ += rule;
    append_safe(out_, text);
    end();
  }

  /// Writes `label` and the lines of `text`, the later ones indented.
  void block(std::string_view colour, std::string_view label,
             std::string_view text) {
    auto lines = lines_of(text);
    if (lines.empty())
      lines.emplace_back();
    for (size_t i = 0; i < lines.size(); ++i) {
      begin(colour);
      if (i == 0)
        out_ += label;
      else if (!lines[i].empty())
        out_ += "  ";
      append_safe(out_, lines[i]);
      end();
    }
  }

  /// Returns `x` cut to `n` bytes (0: whole), noting how much was left out.
  static std::string cut(std::string_view x, size_t n) {
    if (n == 0 || x.size() <= n)
      return std::string{x};
    auto head = truncate_utf8(x, n);
    return std::string{head} + "… (" + std::to_string(x.size() - head.size())
           + " more bytes)";
  }

  void begin(std::string_view colour) {
    out_ += colour;
    if (nested_)
      out_ += "  ┆ ";
  }

  void end() {
    if (p_.on)
      out_ += p_.reset();
    out_ += '\n';
  }

  const render_options& opts_;
  palette p_;
  stream_parser parser_;
  std::string out_;
  std::unordered_map<std::string, std::string> tool_names_;
  std::map<std::string, uint64_t> unknown_;
  std::string last_tool_use_;
  std::string last_text_;
  uint64_t raw_lines_ = 0;
  bool run_open_ = false;
  /// Whether the item being rendered is a sub-agent's.
  bool nested_ = false;
};

} // namespace

std::string render_conversation(std::string_view log,
                                const render_options& opts) {
  renderer r{opts};
  size_t start = 0;
  while (start < log.size()) {
    auto pos = log.find('\n', start);
    if (pos == std::string_view::npos) {
      r.add_line(log.substr(start), true);
      break;
    }
    r.add_line(log.substr(start, pos - start), false);
    start = pos + 1;
  }
  return r.finish();
}

} // namespace cw::actors
