#include "actors/claude/usage_limit.hpp"

#include <array>

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
constexpr int64_t ms_per_day = 86'400'000;

/// Lower-cases ASCII letters only, so UTF-8 separators (`∙`, `·`) survive.
std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Reads digits at `pos`, advancing it; returns false if there are none.
bool read_int(std::string_view s, size_t& pos, int64_t& out) {
  auto start = pos;
  out = 0;
  // 18 digits cannot overflow int64_t.
  while (pos < s.size() && is_digit(s[pos]) && pos - start < 18)
    out = out * 10 + (s[pos++] - '0');
  return pos > start;
}

void skip_spaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && s[pos] == ' ')
    ++pos;
}

/// Returns days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/// Returns the year of a day count since 1970-01-01 (the inverse of
/// `days_from_civil`, year only).
int64_t year_of(int64_t days) {
  days += 719468;
  auto era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = days - era * 146097;
  auto yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  auto doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  auto mp = (5 * doy + 2) / 153;
  auto m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2 ? 1 : 0);
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

/// Reads an optional `Jan 30, ` at `pos`; returns the month (1-12) or 0.
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
    pos = p;
    return static_cast<int>(i + 1);
  }
  return 0;
}

/// Reads `3pm`, `4:50am`, `9:30 am` or `15:00` at `pos` into minutes after
/// midnight; returns false if there is no time there.
bool read_time_of_day(std::string_view s, size_t pos, int64_t& minutes) {
  int64_t hour = 0;
  int64_t minute = 0;
  if (!read_int(s, pos, hour))
    return false;
  bool has_minutes = false;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_int(s, pos, minute) || minute > 59)
      return false;
    has_minutes = true;
  }
  skip_spaces(s, pos);
  auto suffix = s.substr(pos, 2);
  if (suffix == "am" || suffix == "pm") {
    if (hour < 1 || hour > 12)
      return false;
    hour = hour % 12 + (suffix == "pm" ? 12 : 0);
  } else if (!has_minutes || hour > 23) {
    // A bare number is not a time ("resets in 5 hours").
    return false;
  }
  minutes = hour * 60 + minute;
  return true;
}

/// Finds `resets <when>` or `reset at <when>` in lower-cased `s` and returns
/// the next such moment after `now_ms`.
std::optional<int64_t> reset_time(std::string_view s, int64_t now_ms,
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
  auto rest = s.substr(pos);
  if (contains(rest, "(utc)") || contains(rest, "(etc/utc)")
      || contains(rest, "(gmt)") || contains(rest, "(etc/gmt)"))
    utc_offset_minutes = 0;
  auto offset_ms = int64_t{utc_offset_minutes} * ms_per_minute;
  auto local_now = now_ms + offset_ms;
  auto today = floor_div(local_now, ms_per_day);
  int64_t local_reset = 0;
  if (month == 0) {
    local_reset = today * ms_per_day + minutes * ms_per_minute;
    if (local_reset <= local_now)
      local_reset += ms_per_day;
  } else {
    auto year = year_of(today);
    local_reset = days_from_civil(year, month, day) * ms_per_day
                  + minutes * ms_per_minute;
    if (local_reset <= local_now)
      local_reset = days_from_civil(year + 1, month, day) * ms_per_day
                    + minutes * ms_per_minute;
  }
  return local_reset - offset_ms;
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

bool says_usage_limit(std::string_view s) {
  return contains(s, "usage limit reached") || contains(s, "limit reached|")
         || contains(s, "limit reached ∙") || contains(s, "limit reached ·")
         || contains(s, "hour limit reached") || contains(s, "weekly limit")
         || contains(s, "hit your limit")
         || contains(s, "hit your session limit")
         || contains(s, "hit your weekly limit")
         || contains(s, "your limit will reset")
         || contains(s, "limits will reset");
}

bool says_rate_limit(std::string_view s) {
  return contains(s, "rate_limit_error") || contains(s, "rate limit exceeded")
         || contains(s, "exceed your account's rate limit")
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

usage_limit detect_usage_limit(std::string_view text, int64_t now_ms,
                               int32_t utc_offset_minutes) {
  auto s = lower(text);
  usage_limit result;
  if (says_usage_limit(s)) {
    result.limited = true;
    result.kind = limit_kind::usage_limit;
    result.reset_at_ms = bar_reset(s);
    if (!result.reset_at_ms)
      result.reset_at_ms = reset_time(s, now_ms, utc_offset_minutes);
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
