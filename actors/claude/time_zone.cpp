#include "actors/claude/time_zone.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

namespace cw::actors {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

} // namespace

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

bool read_int(std::string_view s, size_t& pos, int64_t& out) {
  auto start = pos;
  out = 0;
  // 18 digits cannot overflow int64_t.
  while (pos < s.size() && is_digit(s[pos]) && pos - start < 18)
    out = out * 10 + (s[pos++] - '0');
  return pos > start;
}

bool skip(std::string_view s, size_t& pos, std::string_view word) {
  if (s.substr(pos, word.size()) != word)
    return false;
  pos += word.size();
  return true;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = y - era * 400;
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

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

int64_t days_in_month(int64_t y, int64_t m) {
  static constexpr std::array<int64_t, 12> days
    = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[static_cast<size_t>(m - 1)];
}

namespace {

// -- POSIX TZ strings (the TZif footer) ---------------------------------------

using posix_rule = time_zone::posix_rule;

/// Reads a zone abbreviation: `CET` or `<+0530>`.
bool read_tz_name(std::string_view s, size_t& pos) {
  if (pos < s.size() && s[pos] == '<') {
    auto close = s.find('>', pos);
    if (close == std::string_view::npos || close == pos + 1)
      return false;
    for (auto i = pos + 1; i < close; ++i)
      if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '+' && s[i] != '-')
        return false;
    pos = close + 1;
    return true;
  }
  auto start = pos;
  while (pos < s.size() && is_alpha(s[pos]))
    ++pos;
  return pos - start >= 3;
}

/// Reads `[+-]hh[:mm[:ss]]` with hh at most `max_hours` into seconds.
bool read_tz_time(std::string_view s, size_t& pos, int64_t max_hours,
                  int32_t& out) {
  int64_t sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-'))
    sign = s[pos++] == '-' ? -1 : 1;
  int64_t hours = 0;
  int64_t minutes = 0;
  int64_t seconds = 0;
  auto start = pos;
  if (!read_int(s, pos, hours) || pos - start > 3 || hours > max_hours)
    return false;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_int(s, pos, minutes) || minutes > 59)
      return false;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_int(s, pos, seconds) || seconds > 59)
        return false;
    }
  }
  out = static_cast<int32_t>(sign * (hours * 3600 + minutes * 60 + seconds));
  return true;
}

/// Reads `Jn`, `n` or `Mm.w.d`, then an optional `/time`.
bool read_tz_date(std::string_view s, size_t& pos, posix_rule::date& out) {
  using form = posix_rule::date::form;
  int64_t a = 0;
  if (skip(s, pos, "J")) {
    if (!read_int(s, pos, a) || a < 1 || a > 365)
      return false;
    out.kind = form::julian_1;
    out.n = static_cast<int32_t>(a);
  } else if (skip(s, pos, "M")) {
    int64_t w = 0;
    int64_t d = 0;
    if (!read_int(s, pos, a) || a < 1 || a > 12 || !skip(s, pos, ".")
        || !read_int(s, pos, w) || w < 1 || w > 5 || !skip(s, pos, ".")
        || !read_int(s, pos, d) || d > 6)
      return false;
    out.kind = form::month_week_day;
    out.month = static_cast<int32_t>(a);
    out.week = static_cast<int32_t>(w);
    out.weekday = static_cast<int32_t>(d);
  } else {
    if (!read_int(s, pos, a) || a > 365)
      return false;
    out.kind = form::julian_0;
    out.n = static_cast<int32_t>(a);
  }
  out.time = 7200;
  // RFC 8536 (version 3) allows -167..167 hours.
  return !skip(s, pos, "/") || read_tz_time(s, pos, 167, out.time);
}

/// Parses a TZif footer such as `CET-1CEST,M3.5.0,M10.5.0/3` or `<+0530>-5:30`.
/// Returns `nullopt` for what it cannot read, e.g. a DST zone without a rule.
std::optional<posix_rule> parse_posix_tz(std::string_view s) {
  posix_rule r;
  size_t pos = 0;
  int32_t offset = 0;
  if (!read_tz_name(s, pos) || !read_tz_time(s, pos, 24, offset))
    return std::nullopt;
  // POSIX counts hours west of UTC.
  r.std_offset = -offset;
  if (pos == s.size())
    return r;
  if (!read_tz_name(s, pos))
    return std::nullopt;
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (pos < s.size() && s[pos] != ',') {
    if (!read_tz_time(s, pos, 24, offset))
      return std::nullopt;
    r.dst_offset = -offset;
  }
  if (!skip(s, pos, ",") || !read_tz_date(s, pos, r.start)
      || !skip(s, pos, ",") || !read_tz_date(s, pos, r.end) || pos != s.size())
    return std::nullopt;
  return r;
}

/// Returns the day (since 1970-01-01) a rule date falls on in year `y`.
int64_t rule_day(const posix_rule::date& d, int64_t y) {
  using form = posix_rule::date::form;
  auto jan1 = days_from_civil(y, 1, 1);
  switch (d.kind) {
    case form::julian_1:
      return jan1 + d.n - 1 + (is_leap(y) && d.n >= 60 ? 1 : 0);
    case form::julian_0:
      return jan1 + d.n;
    case form::month_week_day:
      break;
  }
  auto first = days_from_civil(y, d.month, 1);
  // 1970-01-01 was a Thursday (4); 0 is Sunday.
  auto first_weekday = ((first + 4) % 7 + 7) % 7;
  auto day = 1 + (d.weekday - first_weekday + 7) % 7 + (d.week - 1) * 7;
  while (day > days_in_month(y, d.month))
    day -= 7;
  return first + day - 1;
}

int32_t rule_offset(const posix_rule& r, int64_t t) {
  if (!r.has_dst)
    return r.std_offset;
  auto y = year_of(floor_div(t + r.std_offset, seconds_per_day));
  // The start is reckoned in standard time, the end in daylight time.
  auto start = rule_day(r.start, y) * seconds_per_day + r.start.time
               - r.std_offset;
  auto end = rule_day(r.end, y) * seconds_per_day + r.end.time - r.dst_offset;
  bool dst = start < end ? (t >= start && t < end)
                         : !(t >= end && t < start); // southern hemisphere
  return dst ? r.dst_offset : r.std_offset;
}

// -- TZif files (RFC 8536) ----------------------------------------------------

/// Real files are a few KiB; anything larger is not one.
constexpr size_t max_tzif_size = 256 * 1024;
constexpr size_t tzif_header_size = 44;

uint32_t be32(std::string_view s, size_t pos) {
  uint32_t x = 0;
  for (size_t i = 0; i < 4; ++i)
    x = (x << 8) | static_cast<unsigned char>(s[pos + i]);
  return x;
}

int64_t be64(std::string_view s, size_t pos) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<unsigned char>(s[pos + i]);
  return static_cast<int64_t>(x);
}

struct tzif_header {
  char version = 0;
  uint64_t isutcnt = 0;
  uint64_t isstdcnt = 0;
  uint64_t leapcnt = 0;
  uint64_t timecnt = 0;
  uint64_t typecnt = 0;
  uint64_t charcnt = 0;

  /// The size of the data block that follows, with `time_size`-byte times.
  uint64_t block_size(uint64_t time_size) const {
    return timecnt * time_size + timecnt + typecnt * 6 + charcnt
           + leapcnt * (time_size + 4) + isstdcnt + isutcnt;
  }
};

std::optional<tzif_header> read_tzif_header(std::string_view s, size_t pos) {
  if (s.size() < pos || s.size() - pos < tzif_header_size
      || s.substr(pos, 4) != "TZif")
    return std::nullopt;
  tzif_header h;
  h.version = s[pos + 4];
  h.isutcnt = be32(s, pos + 20);
  h.isstdcnt = be32(s, pos + 24);
  h.leapcnt = be32(s, pos + 28);
  h.timecnt = be32(s, pos + 32);
  h.typecnt = be32(s, pos + 36);
  h.charcnt = be32(s, pos + 40);
  if (h.typecnt == 0 || h.typecnt > 256
      || (h.isutcnt != 0 && h.isutcnt != h.typecnt)
      || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)
      || h.timecnt > max_tzif_size || h.leapcnt > max_tzif_size
      || h.charcnt > max_tzif_size)
    return std::nullopt;
  // The version 1 block's size; a version 2+ block is checked by the caller.
  if (s.size() - pos - tzif_header_size < h.block_size(4))
    return std::nullopt;
  return h;
}

/// The transitions and types of one data block.
struct tzif_data {
  std::vector<int64_t> transitions;
  std::vector<int32_t> offsets;
  int32_t initial = 0;
};

/// Reads the data block at `pos` (after its header) with `time_size`-byte
/// times. The caller has checked that the block fits.
std::optional<tzif_data> read_tzif_block(std::string_view s, size_t pos,
                                         const tzif_header& h,
                                         size_t time_size) {
  tzif_data out;
  auto times = pos;
  auto indices = times + h.timecnt * time_size;
  auto types = indices + h.timecnt;
  std::vector<int32_t> type_offsets;
  for (size_t i = 0; i < h.typecnt; ++i) {
    auto utoff = static_cast<int32_t>(be32(s, types + i * 6));
    if (utoff < -max_utc_offset || utoff > max_utc_offset)
      return std::nullopt;
    type_offsets.push_back(utoff);
  }
  out.initial = type_offsets[0];
  for (size_t i = 0; i < h.timecnt; ++i) {
    auto t = time_size == 8
               ? be64(s, times + i * 8)
               : int64_t{static_cast<int32_t>(be32(s, times + i * 4))};
    auto index = static_cast<unsigned char>(s[indices + i]);
    if (index >= h.typecnt
        || (!out.transitions.empty() && t <= out.transitions.back()))
      return std::nullopt;
    out.transitions.push_back(t);
    out.offsets.push_back(type_offsets[index]);
  }
  return out;
}

// -- zone names ---------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

/// Returns the zones of `UTC`, `GMT`, `Etc/GMT-5` and their aliases, which
/// need no file.
std::optional<time_zone> builtin_zone(std::string_view name) {
  for (std::string_view utc :
       {"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal",
        "Zulu", "Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/GMT0", "Etc/Greenwich",
        "Etc/Universal", "Etc/Zulu"})
    if (iequals(name, utc))
      return time_zone::fixed(0);
  // `Etc/GMT+5` is five hours *west* of UTC (the POSIX sign).
  if (name.size() > 8 && iequals(name.substr(0, 7), "Etc/GMT")
      && (name[7] == '+' || name[7] == '-')) {
    size_t pos = 8;
    int64_t hours = 0;
    if (read_int(name, pos, hours) && pos == name.size() && pos - 8 <= 2
        && hours <= 14)
      return time_zone::fixed(
        static_cast<int32_t>((name[7] == '+' ? -hours : hours) * 3600));
  }
  return std::nullopt;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '/'
      || name.back() == '/' || contains(name, "..") || contains(name, "//"))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '+'
           || c == '/';
  });
}

std::optional<std::string> read_small_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return std::nullopt;
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  std::string bytes(max_tzif_size + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  auto n = static_cast<size_t>(in.gcount());
  if (n > max_tzif_size || in.bad())
    return std::nullopt;
  bytes.resize(n);
  return bytes;
}

} // namespace

// -- time_zone ----------------------------------------------------------------

time_zone time_zone::fixed(int32_t seconds) {
  time_zone z;
  z.initial_ = std::clamp(seconds, -max_utc_offset, max_utc_offset);
  return z;
}

int32_t time_zone::offset_at(int64_t unix_seconds) const {
  if (transitions_.empty())
    return rule_ ? rule_offset(*rule_, unix_seconds) : initial_;
  if (unix_seconds < transitions_.front())
    return initial_;
  if (unix_seconds > transitions_.back())
    return tail_offset(unix_seconds);
  auto i = std::upper_bound(transitions_.begin(), transitions_.end(),
                            unix_seconds)
           - transitions_.begin();
  return offsets_[static_cast<size_t>(i - 1)];
}

int32_t time_zone::tail_offset(int64_t unix_seconds) const {
  // Without a footer rule we could read (a version 1 file, or a rule this
  // parser does not know), the last transition's offset holds on.
  return rule_ ? rule_offset(*rule_, unix_seconds) : offsets_.back();
}

std::vector<int64_t> time_zone::to_utc(int64_t local_seconds) const {
  // The offsets in force within a day either side: real zones change offset
  // at most once in that span, and never for less than an hour.
  std::vector<int32_t> offsets;
  for (int64_t k = -27; k <= 27; ++k) {
    auto o = offset_at(local_seconds + k * 3600);
    if (std::find(offsets.begin(), offsets.end(), o) == offsets.end())
      offsets.push_back(o);
  }
  std::vector<int64_t> out;
  for (auto o : offsets)
    if (offset_at(local_seconds - o) == o)
      out.push_back(local_seconds - o);
  if (out.empty()) {
    // Skipped by clocks going forward: read it at the earlier, smaller offset.
    out.push_back(local_seconds
                  - *std::min_element(offsets.begin(), offsets.end()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<time_zone> time_zone::parse_tzif(std::string_view bytes) {
  if (bytes.size() > max_tzif_size)
    return std::nullopt;
  auto v1 = read_tzif_header(bytes, 0);
  if (!v1)
    return std::nullopt;
  auto v1_end = tzif_header_size + v1->block_size(4);
  std::optional<tzif_data> data;
  std::optional<posix_rule> rule;
  if (v1->version != 0) {
    // Version 2+: a second header and block with 64-bit times, then the
    // footer `\n<POSIX TZ>\n`.
    auto v2 = read_tzif_header(bytes, v1_end);
    if (v2 && bytes.size() - v1_end - tzif_header_size >= v2->block_size(8)) {
      auto block = v1_end + tzif_header_size;
      data = read_tzif_block(bytes, block, *v2, 8);
      auto footer = block + v2->block_size(8);
      if (data && footer < bytes.size() && bytes[footer] == '\n') {
        auto close = bytes.find('\n', footer + 1);
        if (close != std::string_view::npos && close - footer <= 256)
          rule = parse_posix_tz(bytes.substr(footer + 1, close - footer - 1));
      }
    }
  }
  if (!data)
    data = read_tzif_block(bytes, tzif_header_size, *v1, 4);
  if (!data)
    return std::nullopt;
  time_zone z;
  z.transitions_ = std::move(data->transitions);
  z.offsets_ = std::move(data->offsets);
  z.initial_ = data->initial;
  z.rule_ = rule;
  return z;
}

std::optional<time_zone> load_time_zone(std::string_view name,
                                        const std::string& zoneinfo_dir) {
  if (auto z = builtin_zone(name))
    return z;
  if (!valid_zone_name(name))
    return std::nullopt;
  auto bytes = read_small_file(zoneinfo_dir + "/" + std::string{name});
  if (!bytes)
    return std::nullopt;
  return time_zone::parse_tzif(*bytes);
}

} // namespace cw::actors
