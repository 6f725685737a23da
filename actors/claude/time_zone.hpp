#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cw::actors {

/// The largest offset from UTC, in seconds either way, a zone may have; larger
/// ones are not real, and the bound keeps the arithmetic far from overflow.
inline constexpr int32_t max_utc_offset = 26 * 3600;

/// Seconds in a day (of UTC, which counts no leap seconds).
inline constexpr int64_t seconds_per_day = 86'400;

/// A time zone: its offset from UTC at any instant, as a TZif file (RFC 8536)
/// describes it: the transitions it lists, and after the last one the POSIX
/// TZ rule of its footer.
class time_zone {
public:
  /// Returns a zone `seconds` east of UTC at all times.
  static time_zone fixed(int32_t seconds);

  /// Returns the offset from UTC, in seconds east, at `unix_seconds`.
  int32_t offset_at(int64_t unix_seconds) const;

  /// Returns the instants (Unix seconds, ascending) at which this zone's wall
  /// clock reads `local_seconds` (seconds since 1970-01-01 00:00 on that
  /// clock): one, or two in the hour repeated when clocks go back. A time that
  /// clocks skip is read with the offset from before the skip (2:30 on a
  /// night that goes from 2:00 to 3:00 is the instant the clock shows 3:30).
  std::vector<int64_t> to_utc(int64_t local_seconds) const;

  /// Returns the zone a TZif file holds, or `nullopt` if `bytes` is not a
  /// well-formed one. Reads the 64-bit (version 2+) data, else the version 1
  /// data.
  static std::optional<time_zone> parse_tzif(std::string_view bytes);

  /// A rule of a POSIX TZ string: `std offset [dst [offset], start, end]`.
  struct posix_rule {
    /// A day of the year: `Jn` (julian_1, Feb 29 never counted), `n`
    /// (julian_0) or `Mm.w.d` (month_week_day).
    struct date {
      enum class form : uint8_t { julian_1, julian_0, month_week_day };
      form kind = form::month_week_day;
      int32_t n = 0;
      int32_t month = 0;
      int32_t week = 0;
      int32_t weekday = 0;
      /// Seconds after local midnight (may be negative or past 24 h).
      int32_t time = 7200;
    };
    int32_t std_offset = 0;
    bool has_dst = false;
    int32_t dst_offset = 0;
    date start;
    date end;
  };

private:
  /// Offset at or after the last transition (the footer's rule, if any).
  int32_t tail_offset(int64_t unix_seconds) const;

  std::vector<int64_t> transitions_;
  /// `offsets_[i]` holds from `transitions_[i]` on.
  std::vector<int32_t> offsets_;
  /// Before the first transition (or always, without transitions).
  int32_t initial_ = 0;
  std::optional<posix_rule> rule_;
};

/// Returns the zone named `name` (an IANA name such as `Europe/Rome`): `UTC`,
/// `GMT`, `Etc/UTC`, `Etc/GMT+5` and the like without reading a file, others
/// from the TZif file `<zoneinfo_dir>/<name>`. Returns `nullopt` for an
/// unknown zone, an unreadable or malformed file, or a name that is not made
/// of letters, digits, `_`, `-`, `+` and `/` (so never `..`) or starts with
/// `/`.
std::optional<time_zone>
load_time_zone(std::string_view name,
               const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

// -- calendar and text helpers, shared with the limit-text parser -------------

/// Returns `a / b` rounded toward negative infinity.
int64_t floor_div(int64_t a, int64_t b);

/// Returns days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d);

/// Returns the year of a day count since 1970-01-01 (the inverse of
/// `days_from_civil`, year only).
int64_t year_of(int64_t days);

/// Returns the number of days of month `m` (1-12) in year `y`.
int64_t days_in_month(int64_t y, int64_t m);

/// Returns `text` with ASCII letters lower-cased and nothing else changed, so
/// UTF-8 separators (`∙`, `·`) survive and every byte keeps its position.
std::string lower(std::string_view text);

/// Returns whether `haystack` contains `needle`.
bool contains(std::string_view haystack, std::string_view needle);

/// Reads up to 18 digits at `pos` into `out`, advancing `pos`; returns false
/// if there are none.
bool read_int(std::string_view s, size_t& pos, int64_t& out);

/// Skips `word` at `pos` if it is there; returns whether it was.
bool skip(std::string_view s, size_t& pos, std::string_view word);

} // namespace cw::actors
