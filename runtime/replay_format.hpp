#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "caf/expected.hpp"

#include "messages/events.hpp"
#include "messages/task.hpp"

namespace cw::runtime {

/// Returns `time_ms` (milliseconds since the epoch) as ISO-8601 UTC with
/// milliseconds, e.g. `2026-11-23T13:25:00.123Z`.
std::string format_time(int64_t time_ms);

/// Parses an ISO-8601 UTC time `YYYY-MM-DDTHH:MM:SS[.fff][Z]` (no `Z` also
/// means UTC) into milliseconds since the epoch. Errors: `invalid_argument`.
caf::expected<int64_t> parse_time(const std::string& str);

/// Returns a duration for people: `12 ms`, `1.204 s`, `3m 07s`, `2h 03m 04s`.
std::string format_duration(int64_t ms);

/// Returns a one-line summary of an event's payload, e.g. `pid 4242` for
/// `task.started`; the raw payload (shortened) when it does not decode.
std::string summarize(const event& ev);

/// Returns a one-line summary of what a task runs: command line (or
/// provider and prompt), priority, limits and workspace.
std::string summarize(const task_spec& spec);

/// Returns the listing line of `ev` (without newline): seq, time, node,
/// `type@version`, entity and summary.
std::string format_event(const event& ev);

/// Returns the envelope of `ev` as JSON, fields in schema order, with
/// `payload` as a JSON object (a string when the stored payload is not JSON).
nlohmann::ordered_json event_json(const event& ev);

/// Returns `str` padded with spaces to at least `width` characters.
std::string pad(std::string str, size_t width);

/// A progress bar on a terminal's stderr for long reads; does nothing unless
/// enabled. Single-threaded.
class progress_bar {
public:
  /// Rows above which reads show a progress bar.
  static constexpr uint64_t threshold = 100'000;

  /// Draws on `err` for `total` rows if `enabled`, `total` exceeds
  /// `threshold` and stderr is a terminal.
  progress_bar(std::ostream& err, uint64_t total, bool enabled = true);

  /// Erases the bar.
  ~progress_bar();

  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  /// Counts one row and redraws every percent.
  void tick() {
    if (active_ && ++done_ >= next_draw_)
      draw();
  }

  /// Erases the bar; later ticks draw nothing.
  void finish();

private:
  void draw();

  std::ostream& err_;
  uint64_t total_;
  uint64_t done_ = 0;
  uint64_t next_draw_ = 0;
  bool active_;
};

} // namespace cw::runtime
