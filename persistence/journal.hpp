#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "messages/events.hpp"

namespace cw::persistence {

/// How hard a commit tries to reach the disk.
enum class durability : uint8_t {
  /// fsync on every commit: survives a power cut.
  full,
  /// WAL without fsync per commit: survives a process crash, not a power cut.
  normal,
};

/// Parses `"full"` or `"normal"`; returns false for anything else.
bool from_string(const std::string& str, durability& x);

/// Options for opening a journal.
struct journal_options {
  durability sync = durability::full;
  /// Opens without writing anything (no migration, no appends).
  bool read_only = false;
  /// WAL frames (pages) after which a thread of the journal's own copies the
  /// WAL back into the database file, off the commit path; a commit does it
  /// itself only at 16 times this (see persistence/checkpointer.hpp).
  int checkpoint_frames = 1000;
};

/// The append-only SQLite event log. Single owner: not safe to share between
/// threads. Appends assign dense seqs starting at 1.
class journal {
public:
  /// The schema version this build writes.
  static constexpr int schema_version = 2;

  /// The oldest schema version this build migrates from.
  static constexpr int oldest_schema_version = 1;

  /// Opens or creates the journal at `path` (WAL mode) and migrates an older
  /// schema. Errors: `journal_io`, `journal_too_new`.
  static caf::expected<std::unique_ptr<journal>>
  open(const std::string& path, journal_options opts = {});

  ~journal();

  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Assigns seqs and checksums to `events` and stores them in one
  /// transaction. Returns the seq of the last event. Errors: `journal_io`.
  caf::expected<uint64_t> append(std::vector<event>& events);

  /// Calls `f` for every event with `from` <= seq <= `to`, in order, after
  /// checking its checksum. Returns the number of events read. Errors:
  /// `journal_io`, `journal_corrupt` (naming the seq and the file).
  caf::expected<uint64_t> read(uint64_t from,
                               const std::function<void(event&)>& f,
                               uint64_t to = UINT64_MAX) const;

  /// As `read` from `from` on, but only events whose type starts with
  /// `prefix` (e.g. `"workspace."`); SQLite skips the others, so a fold that
  /// owns a few rare types replays them without decoding every row.
  caf::expected<uint64_t> read_prefix(const std::string& prefix, uint64_t from,
                                      const std::function<void(event&)>& f)
    const;

  /// Calls `f` for every row with seq >= `from`, in order, without checking
  /// anything; `f` returns false to stop. For verification tools.
  caf::expected<uint64_t>
  scan(uint64_t from, const std::function<bool(event&)>& f) const;

  /// Returns the newest event of `type` with seq <= `up_to`, if any, after
  /// checking its checksum. Errors: `journal_io`, `journal_corrupt`.
  caf::expected<std::vector<event>> last_of_type(const std::string& type,
                                                 uint64_t up_to
                                                 = UINT64_MAX) const;

  /// Stores a snapshot (its checksum filled in) and keeps only the newest
  /// `keep` snapshots of its kind. Errors: `journal_io`.
  caf::error save_snapshot(snapshot& x, size_t keep = 2);

  /// Returns the snapshots of `kind`, newest first, without their state
  /// checked: callers try them in order and fall back to older ones.
  caf::expected<std::vector<snapshot>> snapshots(const std::string& kind) const;

  /// Returns the schema version the file had when it was opened.
  int opened_schema_version() const noexcept;

  /// Returns the seq of the newest event, 0 when empty.
  uint64_t last_seq() const noexcept;

  /// Returns the file this journal lives in.
  const std::string& path() const noexcept;

  /// Waits until the background checkpointer has completed `n` checkpoints
  /// or `limit` has passed; returns whether it has (false when read-only).
  bool await_checkpoints(uint64_t n, std::chrono::milliseconds limit);

private:
  /// Visits rows `from`..`to` in order until `f` returns false; returns the
  /// number of rows `f` accepted.
  caf::expected<uint64_t>
  each_row(uint64_t from, uint64_t to, const std::string& prefix,
           const std::function<bool(event&)>& f) const;

  /// `read` restricted to types starting with `prefix` (empty: all).
  caf::expected<uint64_t>
  read_checked(uint64_t from, uint64_t to, const std::string& prefix,
               const std::function<void(event&)>& f) const;

  struct impl;
  explicit journal(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace cw::persistence
