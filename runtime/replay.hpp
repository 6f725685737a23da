#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "caf/expected.hpp"

#include "runtime/cli.hpp"

namespace cw::runtime {

/// One end of a `--since`/`--until` range: a seq or a wall-clock time.
struct replay_bound {
  /// Whether the bound is a seq (else a time).
  bool is_seq = true;
  /// The seq, when `is_seq`.
  uint64_t seq = 0;
  /// Milliseconds since the epoch, unless `is_seq`.
  int64_t time_ms = 0;
};

/// Parses a bound: a plain integer is a seq, anything else must be a UTC
/// time `2026-11-23T13:25:00[.123][Z]`. Errors: `invalid_argument`.
caf::expected<replay_bound> parse_replay_bound(const std::string& str);

/// `cw replay FILE`: reads a journal file, read-only, for debugging.
struct replay_options {
  /// The journal file, e.g. `<data-dir>/journal.db`.
  std::string file;
  /// Only events about this task (entity `task/ID`).
  std::optional<uint64_t> task;
  /// Only events of this type; a trailing `*` makes it a prefix (`task.*`).
  std::string type;
  /// Only events at or after this bound (see `parse_replay_bound`).
  std::string since;
  /// Only events at or before this bound (see `parse_replay_bound`).
  std::string until;
  /// Prints the tasks as the node knew them after this seq instead of events.
  std::optional<uint64_t> at;
  /// Prints the states `task` went through, with their durations.
  bool timeline = false;
  /// Keeps printing new events until SIGINT or SIGTERM.
  bool follow = false;
  /// Checks every row (checksum, seq continuity, fold) and lists problems.
  bool verify = false;
};

/// Runs `cw replay`. Returns `success`, `failure` (unreadable or corrupt
/// journal, or problems found by `verify`) or `usage` (inconsistent options).
cli_status cli_replay(const cli_context& ctx, const replay_options& opts);

} // namespace cw::runtime
