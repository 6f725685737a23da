#include "actors/claude/claude_result.hpp"

#include "actors/claude/pricing.hpp"
#include "messages/overload.hpp"

namespace cw::actors {

stream_accumulator::stream_accumulator(int64_t now_ms,
                                       int32_t utc_offset_minutes)
  : now_ms_(now_ms), utc_offset_minutes_(utc_offset_minutes) {
  // nop
}

void stream_accumulator::add_line(std::string_view line) {
  auto items = parser_.parse(line);
  if (items.empty())
    return; // blank lines are not lines of the protocol
  ++result_.lines;
  for (auto& item : items)
    add(item);
}

void stream_accumulator::add(const stream_item& item) {
  auto& r = result_;
  auto learn_session = [&](const std::string& id) {
    if (!id.empty())
      r.session_id = id;
  };
  std::visit(
    overload{
      [&](const system_init& x) {
        learn_session(x.session_id);
        r.model = x.model;
        r.tools = x.tools;
        r.mcp_servers = x.mcp_servers;
        r.permission_mode = x.permission_mode;
      },
      [&](const assistant_text& x) {
        learn_session(x.session_id);
        auto main = x.parent_tool_use_id.empty();
        add_usage(x.message_id, x.model, x.usage, main);
        // A sub-agent's words are neither the answer nor the CLI's notices:
        // a limit it hits reaches the main conversation too.
        if (!main)
          return;
        if (x.model == synthetic_model)
          note_limit(x.text);
        else if (r.model.empty())
          r.model = x.model;
        if (!r.complete)
          r.text = x.text;
      },
      [&](const assistant_thinking& x) {
        learn_session(x.session_id);
        add_usage(x.message_id, x.model, x.usage,
                  x.parent_tool_use_id.empty());
      },
      [&](const tool_use& x) {
        learn_session(x.session_id);
        add_usage(x.message_id, x.model, x.usage,
                  x.parent_tool_use_id.empty());
        ++r.tool_uses;
        ++r.tool_calls[x.name.empty() ? "?" : x.name];
      },
      [&](const tool_result& x) {
        learn_session(x.session_id);
        if (x.is_error)
          ++r.tool_errors;
      },
      [&](const user_text& x) { learn_session(x.session_id); },
      [&](const final_result& x) {
        learn_session(x.session_id);
        r.complete = true;
        r.subtype = x.subtype;
        r.is_error = x.is_error;
        if (!x.result.empty())
          r.text = x.result;
        r.errors = x.errors;
        r.cost_usd = x.cost_usd;
        r.usage = x.usage;
        r.turns = x.num_turns;
        r.duration_ms = x.duration_ms;
        r.duration_api_ms = x.duration_api_ms;
        r.permission_denials = static_cast<uint32_t>(x.permission_denials.size());
        // Ordinary answers may talk about limits; only errors report them.
        if (x.is_error || x.subtype != "success") {
          note_limit(x.result);
          for (auto& error : x.errors)
            note_limit(error);
        }
      },
      [&](const rate_limit_event& x) {
        learn_session(x.session_id);
        if (x.status != "rejected")
          return;
        usage_limit found;
        found.limited = true;
        found.kind = limit_kind::usage_limit;
        if (x.resets_at_s > 0)
          found.reset_at_ms = x.resets_at_s * 1000;
        r.limit = merge(r.limit, found);
      },
      [&](const unknown_line&) { ++r.unknown_lines; },
      [&](const malformed_line&) { ++r.malformed_lines; },
    },
    item);
}

void stream_accumulator::add_stderr(std::string_view line) {
  note_limit(line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.remove_suffix(1);
  if (!line.empty())
    result_.last_stderr.assign(line.data(), line.size());
}

void stream_accumulator::add_usage(const std::string& message_id,
                                   const std::string& model,
                                   const token_usage& usage, bool main) {
  if (result_.complete)
    return;
  auto& u = result_.usage;
  // The CLI repeats a message's usage on every block line of that message,
  // growing as the message does: the last line of a message counts.
  auto [i, added] = counted_.try_emplace(message_id);
  auto& [last_usage, last_cost] = i->second;
  if (added) {
    if (main)
      ++result_.turns;
  } else {
    u.input_tokens -= last_usage.input_tokens;
    u.output_tokens -= last_usage.output_tokens;
    u.cache_creation_input_tokens -= last_usage.cache_creation_input_tokens;
    u.cache_read_input_tokens -= last_usage.cache_read_input_tokens;
    result_.estimated_cost_usd -= last_cost;
  }
  last_usage = usage;
  last_cost = estimate_cost_usd(model.empty() ? result_.model : model, usage);
  u.input_tokens += usage.input_tokens;
  u.output_tokens += usage.output_tokens;
  u.cache_creation_input_tokens += usage.cache_creation_input_tokens;
  u.cache_read_input_tokens += usage.cache_read_input_tokens;
  result_.estimated_cost_usd += last_cost;
}

void stream_accumulator::note_limit(std::string_view text) {
  result_.limit = merge(result_.limit,
                        detect_usage_limit(text, now_ms_, utc_offset_minutes_));
}

} // namespace cw::actors
