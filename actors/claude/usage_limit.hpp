#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/claude/time_zone.hpp"

namespace cw::actors {

/// Why a provider refuses work for now.
enum class limit_kind : uint8_t {
  /// Not limited.
  none,
  /// The plan's usage limit (5-hour, session or weekly); lifts at a reset
  /// time the CLI usually names.
  usage_limit,
  /// An API rate limit (HTTP 429, `rate_limit_error`); retry after a back-off.
  rate_limit,
  /// The API is overloaded (HTTP 529, `overloaded_error`); retry after a
  /// back-off.
  overloaded,
};

/// Returns `"none"`, `"usage_limit"`, `"rate_limit"` or `"overloaded"`.
std::string to_string(limit_kind x);

/// What a line of output says about usage or rate limits.
struct usage_limit {
  /// Whether the provider refuses work for now.
  bool limited = false;
  limit_kind kind = limit_kind::none;
  /// When the limit lifts (Unix milliseconds), if the text says.
  std::optional<int64_t> reset_at_ms;
};

/// Returns what `text` (a result text, an error line or a stderr line) says
/// about limits. Recognises:
/// - `Claude AI usage limit reached|1750708800` (Unix seconds after the bar);
/// - `5-hour limit reached ∙ resets 1am`, `You've hit your limit · resets
///   4:50am (Europe/Rome)`, `… resets Jan 30, 11:30am (Asia/Calcutta)`,
///   `You've hit your weekly limit · resets Sep 15 at 7pm`, `You're out of
///   extra usage · resets 9pm`, `Your limit will reset at 9am
///   (America/Chicago).`: the next such wall-clock time after `now_ms`;
/// - `You have reached your specified API usage limits. You will regain
///   access on 2026-01-01 at 00:00 UTC.` (the API spending limit);
/// - 429 / `rate_limit_error` / `Rate limit reached` and 529 /
///   `overloaded_error` API errors.
///
/// A zone named in parentheses after the time is resolved with
/// `load_time_zone`, daylight saving time included. Without one, or if it
/// cannot be resolved, wall-clock times are read at UTC plus
/// `utc_offset_minutes` (the node's zone). Reads no clock; reads the named
/// zone's file under /usr/share/zoneinfo.
usage_limit detect_usage_limit(std::string_view text, int64_t now_ms,
                               int32_t utc_offset_minutes = 0);

/// Returns the stronger of two findings: a limit beats none, a usage limit
/// beats a rate limit or overload, one with a reset time beats one without,
/// and of two reset times the later wins.
usage_limit merge(const usage_limit& a, const usage_limit& b);

} // namespace cw::actors
