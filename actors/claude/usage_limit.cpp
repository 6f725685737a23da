#include "actors/claude/usage_limit.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace cw::actors {

std::string to_string(limit_kind x) {
  switch (x) {
    case limit_kind::none:
      return "none";
    case limit_kind::usage_limit:
      return "usage_limit";
    case limit_kind::rate_limit:
      return "rate_limit";
    case limit_kind::overloaded:
      return "overloaded";
  }
  return "unknown";
}

namespace {

constexpr int64_t ms_per_minute = 60'000;

void skip_spaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && s[pos] == ' ')
    ++pos;
}

/// Reads an optional `Jan 30, ` or `Sep 15 at ` at `pos`; returns the month
/// (1-12) or 0.
int read_month_day(std::string_view s, size_t& pos, int64_t& day) {
  static constexpr std::array<std::string_view, 12> months
    = {"jan", "feb", "mar", "apr", "may", "jun",
       "jul", "aug", "sep", "oct", "nov", "dec"};
  for (size_t i = 0; i < months.size(); ++i) {
    if (s.substr(pos, 3) != months[i])
      continue;
    auto p = pos + 3;
    while (p < s.size() && s[p] >= 'a' && s[p] <= 'z')
      ++p; // a spelled-out month
    skip_spaces(s, p);
    if (!read_int(s, p, day) || day < 1 || day > 31)
      return 0;
    if (p < s.size() && s[p] == ',')
      ++p;
    skip_spaces(s, p);
    skip(s, p, "at ");
    skip_spaces(s, p);
    pos = p;
    return static_cast<int>(i + 1);
  }
  return 0;
}

/// Reads `3pm`, `4:50am`, `9:30 am` or `15:00` at `pos`, advancing it, into
/// minutes after midnight; returns false if there is no time there.
bool read_time_of_day(std::string_view s, size_t& pos, int64_t& minutes) {
  int64_t hour = 0;
  int64_t minute = 0;
  auto p = pos;
  if (!read_int(s, p, hour))
    return false;
  bool has_minutes = false;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!read_int(s, p, minute) || minute > 59)
      return false;
    has_minutes = true;
  }
  auto end = p;
  skip_spaces(s, p);
  auto suffix = s.substr(p, 2);
  if (suffix == "am" || suffix == "pm") {
    if (hour < 1 || hour > 12)
      return false;
    hour = hour % 12 + (suffix == "pm" ? 12 : 0);
    end = p + 2;
  } else if (!has_minutes || hour > 23) {
    // A bare number is not a time ("resets in 5 hours").
    return false;
  }
  minutes = hour * 60 + minute;
  pos = end;
  return true;
}

/// Returns the zone named in parentheses at `pos` of `original`, if any and
/// resolvable.
std::optional<time_zone> named_zone(std::string_view original, size_t pos) {
  skip_spaces(original, pos);
  if (pos >= original.size() || original[pos] != '(')
    return std::nullopt;
  auto close = original.find(')', pos);
  if (close == std::string_view::npos || close - pos > 130)
    return std::nullopt;
  return load_time_zone(original.substr(pos + 1, close - pos - 1));
}

/// Returns the first instant after `now_ms` at which `zone`'s wall clock
/// reads `minutes` after midnight on day `month`/`day` (`month` 0: any day).
std::optional<int64_t> next_wall_clock(const time_zone& zone, int month,
                                       int64_t day, int64_t minutes,
                                       int64_t now_ms) {
  auto now_s = floor_div(now_ms, 1000);
  auto today = floor_div(now_s + zone.offset_at(now_s), seconds_per_day);
  std::vector<int64_t> days;
  if (month == 0) {
    for (int64_t d = today - 1; d <= today + 2; ++d)
      days.push_back(d);
  } else {
    auto year = year_of(today);
    for (auto y = year - 1; y <= year + 1; ++y)
      days.push_back(days_from_civil(y, month, day));
  }
  std::optional<int64_t> best;
  for (auto d : days)
    for (auto t : zone.to_utc(d * seconds_per_day + minutes * 60))
      if (t * 1000 > now_ms && (!best || t * 1000 < *best))
        best = t * 1000;
  return best;
}

/// Finds `resets <when>` or `reset at <when>` in lower-cased `s` and returns
/// the next such moment after `now_ms`. `original` is `s` before
/// lower-casing (zone names are case-sensitive file names).
std::optional<int64_t> reset_time(std::string_view original,
                                  std::string_view s, int64_t now_ms,
                                  int32_t utc_offset_minutes) {
  size_t pos = std::string_view::npos;
  for (std::string_view marker : {"resets at ", "reset at ", "resets "}) {
    auto i = s.find(marker);
    if (i != std::string_view::npos) {
      pos = i + marker.size();
      break;
    }
  }
  if (pos == std::string_view::npos)
    return std::nullopt;
  int64_t day = 0;
  auto month = read_month_day(s, pos, day);
  int64_t minutes = 0;
  if (!read_time_of_day(s, pos, minutes))
    return std::nullopt;
  // An unknown zone, or none, is read as the node's: the best guess left.
  auto zone = named_zone(original, pos);
  if (!zone)
    zone = time_zone::fixed(static_cast<int32_t>(std::clamp<int64_t>(
      int64_t{utc_offset_minutes} * 60, -max_utc_offset, max_utc_offset)));
  return next_wall_clock(*zone, month, day, minutes, now_ms);
}

/// Reads the Unix seconds after `limit reached|`.
std::optional<int64_t> bar_reset(std::string_view s) {
  auto i = s.find("limit reached|");
  if (i == std::string_view::npos)
    return std::nullopt;
  auto pos = i + std::string_view{"limit reached|"}.size();
  int64_t seconds = 0;
  if (!read_int(s, pos, seconds))
    return std::nullopt;
  return seconds * 1000;
}

/// Reads the API spending limit's `regain access on 2026-01-01 at 00:00 UTC`.
std::optional<int64_t> regain_access(std::string_view s) {
  auto i = s.find("regain access on ");
  if (i == std::string_view::npos)
    return std::nullopt;
  auto pos = i + std::string_view{"regain access on "}.size();
  int64_t y = 0;
  int64_t m = 0;
  int64_t d = 0;
  int64_t hour = 0;
  int64_t minute = 0;
  if (!read_int(s, pos, y) || y < 1970 || y > 9999 || !skip(s, pos, "-")
      || !read_int(s, pos, m) || m < 1 || m > 12 || !skip(s, pos, "-")
      || !read_int(s, pos, d) || d < 1 || d > days_in_month(y, m))
    return std::nullopt;
  auto day_ms = days_from_civil(y, m, d) * seconds_per_day * 1000;
  skip_spaces(s, pos);
  if (!skip(s, pos, "at "))
    return day_ms;
  skip_spaces(s, pos);
  // The API names UTC.
  if (!read_int(s, pos, hour) || hour > 23 || !skip(s, pos, ":")
      || !read_int(s, pos, minute) || minute > 59)
    return day_ms;
  return day_ms + (hour * 60 + minute) * ms_per_minute;
}

/// Whether `s` has `hit your limit`, `hit your weekly limit`, `hit your Opus
/// limit` and the like.
bool hit_your_limit(std::string_view s) {
  constexpr std::string_view prefix = "hit your ";
  for (auto i = s.find(prefix); i != std::string_view::npos;
       i = s.find(prefix, i + 1))
    if (contains(s.substr(i + prefix.size(), 24), "limit"))
      return true;
  return false;
}

bool says_usage_limit(std::string_view s) {
  return contains(s, "usage limit reached") || contains(s, "limit reached|")
         || contains(s, "limit reached ∙") || contains(s, "limit reached ·")
         || contains(s, "hour limit reached") || contains(s, "weekly limit")
         || hit_your_limit(s) || contains(s, "your limit will reset")
         || contains(s, "limits will reset")
         || contains(s, "out of extra usage")
         || contains(s, "reached your specified api usage limits");
}

bool says_rate_limit(std::string_view s) {
  return contains(s, "rate_limit_error") || contains(s, "rate limit exceeded")
         || contains(s, "exceed your account's rate limit")
         || contains(s, "api error: rate limit reached")
         || contains(s, "server is temporarily limiting requests")
         || contains(s, "api error: 429") || contains(s, "error: 429")
         || contains(s, "error (429");
}

bool says_overloaded(std::string_view s) {
  return contains(s, "overloaded_error") || contains(s, "api error: 529")
         || contains(s, "error: 529") || contains(s, "error (529")
         || contains(s, "529 overloaded");
}

int rank(limit_kind k) {
  switch (k) {
    case limit_kind::none:
      return 0;
    case limit_kind::overloaded:
      return 1;
    case limit_kind::rate_limit:
      return 2;
    case limit_kind::usage_limit:
      return 3;
  }
  return 0;
}

} // namespace

// -- limits -------------------------------------------------------------------

usage_limit detect_usage_limit(std::string_view text, int64_t now_ms,
                               int32_t utc_offset_minutes) {
  auto s = lower(text);
  usage_limit result;
  if (says_usage_limit(s)) {
    result.limited = true;
    result.kind = limit_kind::usage_limit;
    result.reset_at_ms = bar_reset(s);
    if (!result.reset_at_ms)
      result.reset_at_ms = regain_access(s);
    if (!result.reset_at_ms)
      result.reset_at_ms = reset_time(text, s, now_ms, utc_offset_minutes);
  } else if (says_rate_limit(s)) {
    result.limited = true;
    result.kind = limit_kind::rate_limit;
  } else if (says_overloaded(s)) {
    result.limited = true;
    result.kind = limit_kind::overloaded;
  }
  return result;
}

usage_limit merge(const usage_limit& a, const usage_limit& b) {
  if (!a.limited || !b.limited)
    return a.limited ? a : b;
  if (rank(a.kind) != rank(b.kind))
    return rank(a.kind) > rank(b.kind) ? a : b;
  if (a.reset_at_ms.has_value() != b.reset_at_ms.has_value())
    return a.reset_at_ms ? a : b;
  if (a.reset_at_ms && *b.reset_at_ms > *a.reset_at_ms)
    return b;
  return a;
}

} // namespace cw::actors
