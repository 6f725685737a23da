#include "actors/claude/stream_json.hpp"

#include <simdjson.h>

namespace cw::actors {

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Everything below returns simdjson error codes and never uses simdjson's
// throwing accessors: the parser must not throw on any input.

/// One content block of a message, before we know which item it becomes.
struct content_block {
  std::string type;
  std::string text;
  std::string thinking;
  std::string id;
  std::string name;
  std::string input_json;
  std::string tool_use_id;
  std::string content;
  bool is_error = false;
};

/// The `message` object of an `assistant` or `user` line.
struct message_fields {
  std::string id;
  std::string model;
  token_usage usage;
  std::vector<content_block> blocks;
};

/// Every top-level field we read, collected in one pass in document order
/// (the fields of a line do not come in a fixed order).
struct line_fields {
  std::string type;
  std::string subtype;
  std::string session_id;
  std::string parent_tool_use_id;
  std::string model;
  std::string cwd;
  std::string permission_mode;
  std::vector<std::string> tools;
  std::vector<mcp_server_status> mcp_servers;
  message_fields message;
  bool has_message = false;
  std::string result;
  std::vector<std::string> errors;
  std::vector<std::string> permission_denials;
  bool is_error = false;
  double total_cost_usd = -1;
  double cost_usd = -1;
  token_usage usage;
  double num_turns = 0;
  double duration_ms = 0;
  double duration_api_ms = 0;
  std::string rl_status;
  std::string rl_type;
  double rl_resets_at = 0;
};

error_code read_string(od::value v, std::string& out) {
  std::string_view sv;
  auto err = v.get_string().get(sv);
  if (!err)
    out.assign(sv.data(), sv.size());
  return err;
}

/// Reads a string, leaving `out` alone for null or other types.
error_code read_opt_string(od::value v, std::string& out) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::string)
    return simdjson::SUCCESS;
  return read_string(v, out);
}

/// Reads a number as a double, leaving `out` alone for null or other types.
error_code read_number(od::value v, double& out) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::number)
    return simdjson::SUCCESS;
  return v.get_double().get(out);
}

error_code read_bool(od::value v, bool& out) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::boolean)
    return simdjson::SUCCESS;
  return v.get_bool().get(out);
}

uint64_t to_count(double x) {
  return x > 0 ? static_cast<uint64_t>(x) : 0;
}

/// Iterates the fields of `v` if it is an object, calling `f(key, value)`.
template <class F>
error_code for_each_field(od::value v, F f) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::object)
    return simdjson::SUCCESS;
  od::object obj;
  if (auto err = v.get_object().get(obj))
    return err;
  for (auto field_result : obj) {
    od::field field;
    if (auto err = std::move(field_result).get(field))
      return err;
    std::string_view key;
    if (auto err = field.unescaped_key().get(key))
      return err;
    if (auto err = f(key, field.value()))
      return err;
  }
  return simdjson::SUCCESS;
}

/// Iterates the elements of `v` if it is an array, calling `f(value)`.
template <class F>
error_code for_each_element(od::value v, F f) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::array)
    return simdjson::SUCCESS;
  od::array arr;
  if (auto err = v.get_array().get(arr))
    return err;
  for (auto element_result : arr) {
    od::value element;
    if (auto err = std::move(element_result).get(element))
      return err;
    if (auto err = f(element))
      return err;
  }
  return simdjson::SUCCESS;
}

error_code read_usage(od::value v, token_usage& out) {
  return for_each_field(v, [&](std::string_view key, od::value x) {
    double n = 0;
    auto err = read_number(x, n);
    if (key == "input_tokens")
      out.input_tokens = to_count(n);
    else if (key == "output_tokens")
      out.output_tokens = to_count(n);
    else if (key == "cache_creation_input_tokens")
      out.cache_creation_input_tokens = to_count(n);
    else if (key == "cache_read_input_tokens")
      out.cache_read_input_tokens = to_count(n);
    return err;
  });
}

/// Reads tool_result content: a string, or an array of blocks whose `text`
/// fields are joined with newlines.
error_code read_tool_content(od::value v, std::string& out) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t == od::json_type::string)
    return read_string(v, out);
  return for_each_element(v, [&](od::value element) {
    return for_each_field(element, [&](std::string_view key, od::value x) {
      if (key != "text")
        return simdjson::SUCCESS;
      std::string text;
      auto err = read_opt_string(x, text);
      if (!out.empty())
        out += '\n';
      out += text;
      return err;
    });
  });
}

error_code read_raw_object(od::value v, std::string& out) {
  od::json_type t;
  if (auto err = v.type().get(t))
    return err;
  if (t != od::json_type::object)
    return simdjson::SUCCESS;
  od::object obj;
  if (auto err = v.get_object().get(obj))
    return err;
  std::string_view raw;
  auto err = obj.raw_json().get(raw);
  if (!err)
    out.assign(raw.data(), raw.size());
  return err;
}

error_code read_block(od::value v, content_block& out) {
  return for_each_field(v, [&](std::string_view key, od::value x) {
    if (key == "type")
      return read_opt_string(x, out.type);
    if (key == "text")
      return read_opt_string(x, out.text);
    if (key == "thinking")
      return read_opt_string(x, out.thinking);
    if (key == "id")
      return read_opt_string(x, out.id);
    if (key == "name")
      return read_opt_string(x, out.name);
    if (key == "input")
      return read_raw_object(x, out.input_json);
    if (key == "tool_use_id")
      return read_opt_string(x, out.tool_use_id);
    if (key == "content")
      return read_tool_content(x, out.content);
    if (key == "is_error")
      return read_bool(x, out.is_error);
    return simdjson::SUCCESS;
  });
}

error_code read_message(od::value v, message_fields& out) {
  return for_each_field(v, [&](std::string_view key, od::value x) {
    if (key == "id")
      return read_opt_string(x, out.id);
    if (key == "model")
      return read_opt_string(x, out.model);
    if (key == "usage")
      return read_usage(x, out.usage);
    if (key == "content")
      return for_each_element(x, [&](od::value element) {
        content_block block;
        auto err = read_block(element, block);
        out.blocks.push_back(std::move(block));
        return err;
      });
    return simdjson::SUCCESS;
  });
}

error_code read_rate_limit_info(od::value v, line_fields& out) {
  return for_each_field(v, [&](std::string_view key, od::value x) {
    if (key == "status")
      return read_opt_string(x, out.rl_status);
    if (key == "rateLimitType")
      return read_opt_string(x, out.rl_type);
    if (key == "resetsAt")
      return read_number(x, out.rl_resets_at);
    return simdjson::SUCCESS;
  });
}

/// Reads an array of strings, skipping elements of other types.
error_code read_strings(od::value v, std::vector<std::string>& out) {
  return for_each_element(v, [&](od::value element) {
    std::string text;
    auto err = read_opt_string(element, text);
    if (!err && !text.empty())
      out.push_back(std::move(text));
    return err;
  });
}

/// Reads `permission_denials`: objects naming the refused call's
/// `tool_name` (an entry without one counts as `?`).
error_code read_denials(od::value v, std::vector<std::string>& out) {
  return for_each_element(v, [&](od::value element) {
    std::string name;
    auto err = for_each_field(element, [&](std::string_view k, od::value y) {
      if (k == "tool_name")
        return read_opt_string(y, name);
      return simdjson::SUCCESS;
    });
    out.push_back(name.empty() ? "?" : std::move(name));
    return err;
  });
}

error_code read_top_level(std::string_view key, od::value x, line_fields& out) {
  if (key == "type")
    return read_opt_string(x, out.type);
  if (key == "subtype")
    return read_opt_string(x, out.subtype);
  if (key == "session_id")
    return read_opt_string(x, out.session_id);
  if (key == "parent_tool_use_id")
    return read_opt_string(x, out.parent_tool_use_id);
  if (key == "model")
    return read_opt_string(x, out.model);
  if (key == "cwd")
    return read_opt_string(x, out.cwd);
  if (key == "permissionMode")
    return read_opt_string(x, out.permission_mode);
  if (key == "tools")
    return for_each_element(x, [&](od::value element) {
      std::string name;
      auto err = read_opt_string(element, name);
      out.tools.push_back(std::move(name));
      return err;
    });
  if (key == "mcp_servers")
    return for_each_element(x, [&](od::value element) {
      mcp_server_status server;
      auto err = for_each_field(element, [&](std::string_view k, od::value y) {
        if (k == "name")
          return read_opt_string(y, server.name);
        if (k == "status")
          return read_opt_string(y, server.status);
        return simdjson::SUCCESS;
      });
      out.mcp_servers.push_back(std::move(server));
      return err;
    });
  if (key == "message") {
    out.has_message = true;
    return read_message(x, out.message);
  }
  if (key == "result")
    return read_opt_string(x, out.result);
  if (key == "errors")
    return read_strings(x, out.errors);
  if (key == "permission_denials")
    return read_denials(x, out.permission_denials);
  if (key == "is_error")
    return read_bool(x, out.is_error);
  if (key == "total_cost_usd")
    return read_number(x, out.total_cost_usd);
  if (key == "cost_usd")
    return read_number(x, out.cost_usd);
  if (key == "usage")
    return read_usage(x, out.usage);
  if (key == "num_turns")
    return read_number(x, out.num_turns);
  if (key == "duration_ms")
    return read_number(x, out.duration_ms);
  if (key == "duration_api_ms")
    return read_number(x, out.duration_api_ms);
  if (key == "rate_limit_info")
    return read_rate_limit_info(x, out);
  return simdjson::SUCCESS;
}

std::string excerpt_of(std::string_view line) {
  constexpr size_t max_excerpt = 80;
  return std::string{line.substr(0, max_excerpt)};
}

malformed_line malformed(std::string error, std::string_view line) {
  return malformed_line{std::move(error), excerpt_of(line)};
}

/// Turns the collected fields into items.
std::vector<stream_item> to_items(line_fields& f) {
  std::vector<stream_item> items;
  if (f.type == "system" && f.subtype == "init") {
    system_init x;
    x.session_id = f.session_id;
    x.model = f.model;
    x.cwd = f.cwd;
    x.permission_mode = f.permission_mode;
    x.tools = std::move(f.tools);
    x.mcp_servers = std::move(f.mcp_servers);
    items.emplace_back(std::move(x));
  } else if (f.type == "result") {
    final_result r;
    r.session_id = f.session_id;
    r.subtype = f.subtype;
    r.is_error = f.is_error;
    r.result = std::move(f.result);
    r.cost_usd = f.total_cost_usd >= 0 ? f.total_cost_usd
                                       : std::max(f.cost_usd, 0.0);
    r.usage = f.usage;
    r.num_turns = static_cast<uint32_t>(to_count(f.num_turns));
    r.duration_ms = static_cast<int64_t>(f.duration_ms);
    r.duration_api_ms = static_cast<int64_t>(f.duration_api_ms);
    r.errors = std::move(f.errors);
    r.permission_denials = std::move(f.permission_denials);
    items.emplace_back(std::move(r));
  } else if (f.type == "rate_limit_event") {
    items.emplace_back(rate_limit_event{f.session_id, f.rl_status, f.rl_type,
                                        static_cast<int64_t>(f.rl_resets_at)});
  } else if ((f.type == "assistant" || f.type == "user") && f.has_message) {
    auto& m = f.message;
    auto assistant = f.type == "assistant";
    for (auto& b : m.blocks) {
      // Text and thinking blocks carry the same fields but for the text.
      auto words = [&](auto x, std::string& text) {
        x.session_id = f.session_id;
        x.message_id = m.id;
        x.model = m.model;
        x.text = std::move(text);
        x.usage = m.usage;
        x.parent_tool_use_id = f.parent_tool_use_id;
        items.emplace_back(std::move(x));
      };
      if (assistant && b.type == "text") {
        words(assistant_text{}, b.text);
      } else if (assistant && b.type == "thinking") {
        words(assistant_thinking{}, b.thinking);
      } else if (assistant && b.type == "tool_use") {
        tool_use x;
        x.session_id = f.session_id;
        x.message_id = m.id;
        x.id = std::move(b.id);
        x.name = std::move(b.name);
        x.input_json = b.input_json.empty() ? "{}" : std::move(b.input_json);
        x.usage = m.usage;
        x.parent_tool_use_id = f.parent_tool_use_id;
        x.model = m.model;
        items.emplace_back(std::move(x));
      } else if (b.type == "tool_result") {
        tool_result x;
        x.session_id = f.session_id;
        x.tool_use_id = std::move(b.tool_use_id);
        x.is_error = b.is_error;
        x.content = std::move(b.content);
        x.parent_tool_use_id = f.parent_tool_use_id;
        items.emplace_back(std::move(x));
      } else if (!assistant && b.type == "text") {
        user_text x;
        x.session_id = f.session_id;
        x.text = std::move(b.text);
        x.parent_tool_use_id = f.parent_tool_use_id;
        items.emplace_back(std::move(x));
      }
    }
  }
  if (items.empty())
    items.emplace_back(unknown_line{f.type});
  return items;
}

} // namespace

struct stream_parser::impl {
  od::parser parser;
  std::string buffer;
};

stream_parser::stream_parser() : impl_(std::make_unique<impl>()) {
  // nop
}

stream_parser::~stream_parser() = default;

stream_parser::stream_parser(stream_parser&&) noexcept = default;

stream_parser& stream_parser::operator=(stream_parser&&) noexcept = default;

std::vector<stream_item> stream_parser::parse(std::string_view line) {
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos)
    return {};
  std::vector<stream_item> items;
  try {
    // simdjson reads up to SIMDJSON_PADDING bytes past the end of the input.
    auto& buf = impl_->buffer;
    buf.assign(line.data(), line.size());
    buf.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
    simdjson::padded_string_view input{buf.data(), line.size(), buf.size()};
    od::document doc;
    if (auto err = impl_->parser.iterate(input).get(doc)) {
      items.emplace_back(malformed(simdjson::error_message(err), line));
      return items;
    }
    od::object obj;
    if (auto err = doc.get_object().get(obj)) {
      items.emplace_back(malformed(std::string{"not a JSON object: "}
                                     + simdjson::error_message(err),
                                   line));
      return items;
    }
    line_fields fields;
    for (auto field_result : obj) {
      od::field field;
      auto err = std::move(field_result).get(field);
      std::string_view key;
      if (!err)
        err = field.unescaped_key().get(key);
      if (!err)
        err = read_top_level(key, field.value(), fields);
      if (err) {
        items.emplace_back(malformed(simdjson::error_message(err), line));
        return items;
      }
    }
    // Iterating the object to its end checked nesting; this checks that
    // nothing but whitespace follows it.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      items.emplace_back(malformed("trailing content after the object", line));
      return items;
    }
    return to_items(fields);
  } catch (const std::exception& ex) {
    items.clear();
    items.emplace_back(malformed(ex.what(), line));
  } catch (...) {
    items.clear();
    items.emplace_back(malformed("unknown parser failure", line));
  }
  return items;
}

std::vector<stream_item> parse_line(std::string_view line) {
  stream_parser parser;
  return parser.parse(line);
}

std::vector<std::string> line_splitter::feed(std::string_view chunk) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (auto pos = chunk.find('\n'); pos != std::string_view::npos;
       pos = chunk.find('\n', start)) {
    pending_.append(chunk.substr(start, pos - start));
    lines.push_back(std::move(pending_));
    pending_.clear();
    start = pos + 1;
  }
  pending_.append(chunk.substr(start));
  return lines;
}

std::vector<std::string> line_splitter::finish() {
  std::vector<std::string> lines;
  if (!pending_.empty()) {
    lines.push_back(std::move(pending_));
    pending_.clear();
  }
  return lines;
}

} // namespace cw::actors
