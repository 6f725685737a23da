#include "persistence/journal.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>

#include <SQLiteCpp/SQLiteCpp.h>

#include "messages/errc.hpp"
#include "persistence/checkpointer.hpp"
#include "persistence/checksum.hpp"

namespace cw::persistence {

namespace {

constexpr const char* create_events_sql = R"sql(
CREATE TABLE IF NOT EXISTS events (
  seq      INTEGER PRIMARY KEY,
  time_ms  INTEGER NOT NULL,
  node     TEXT    NOT NULL,
  type     TEXT    NOT NULL,
  version  INTEGER NOT NULL,
  entity   TEXT    NOT NULL,
  payload  TEXT    NOT NULL,
  checksum INTEGER NOT NULL
))sql";

// Schema version 2 adds the version table and snapshots.
constexpr const char* create_v2_sql = R"sql(
CREATE TABLE IF NOT EXISTS schema_versions (
  version    INTEGER PRIMARY KEY,
  applied_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
  seq      INTEGER NOT NULL,
  kind     TEXT    NOT NULL,
  time_ms  INTEGER NOT NULL,
  state    BLOB    NOT NULL,
  checksum INTEGER NOT NULL,
  PRIMARY KEY (kind, seq)
))sql";

// Every event but the bulk (`task.*`) by type: the few queries by type
// (workspace events at start-up, the last scheduler phase) then read only
// those rows instead of the whole journal. Not a schema change: an older cw
// reads a journal that has it, and an open for writing adds it to one that
// has not (one pass over the table, once).
constexpr const char* create_rare_index_sql
  = "CREATE INDEX IF NOT EXISTS events_rare ON events(type, seq) "
    "WHERE type NOT GLOB 'task.*'";

/// The condition of `events_rare`, repeated word for word in a query so that
/// SQLite may use the index.
#define CW_RARE_TYPES "type NOT GLOB 'task.*'"

/// Returns whether events whose type starts with `prefix` are all in
/// `events_rare` (none of them can be a `task.` event).
bool rare_types(std::string_view prefix) {
  constexpr std::string_view bulk = "task.";
  return !prefix.empty() && !prefix.starts_with(bulk)
         && !bulk.starts_with(prefix);
}

/// The columns every event query selects, in this order.
#define CW_EVENT_COLUMNS                                                       \
  "seq, time_ms, node, type, version, entity, payload, checksum"

/// Reads the current row of a query that selects CW_EVENT_COLUMNS.
void read_row(SQLite::Statement& stmt, event& ev) {
  ev.seq = static_cast<uint64_t>(stmt.getColumn(0).getInt64());
  ev.time_ms = stmt.getColumn(1).getInt64();
  ev.node = stmt.getColumn(2).getString();
  ev.type = stmt.getColumn(3).getString();
  ev.version = static_cast<uint32_t>(stmt.getColumn(4).getInt64());
  ev.entity = stmt.getColumn(5).getString();
  ev.payload = stmt.getColumn(6).getString();
  ev.checksum = static_cast<uint64_t>(stmt.getColumn(7).getInt64());
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

caf::error io_error(const std::string& path, const std::string& what) {
  return make_error(errc::journal_io, path + ": " + what);
}

} // namespace

bool from_string(const std::string& str, durability& x) {
  if (str == "full")
    x = durability::full;
  else if (str == "normal")
    x = durability::normal;
  else
    return false;
  return true;
}

struct journal::impl {
  std::string path;
  SQLite::Database db;
  std::unique_ptr<SQLite::Statement> insert;
  uint64_t last_seq = 0;
  int opened_version = 0;
  std::unique_ptr<checkpointer> ckpt;

  /// Moves the schema from `from` to the current version in one
  /// transaction. Each step is recorded in `schema_versions`.
  void migrate(int from) {
    SQLite::Transaction tx{db};
    if (from < 1)
      db.exec(create_events_sql);
    if (from < 2)
      db.exec(create_v2_sql);
    SQLite::Statement record{db, "INSERT OR IGNORE INTO schema_versions "
                                 "(version, applied_ms) VALUES (?, ?)"};
    for (int v = std::max(from + 1, 1); v <= schema_version; ++v) {
      record.bind(1, v);
      record.bind(2, now_ms());
      record.exec();
      record.reset();
    }
    db.exec("PRAGMA user_version=" + std::to_string(schema_version));
    tx.commit();
  }

  impl(const std::string& file, int flags) : path(file), db(file, flags) {
    // nop
  }
};

journal::journal(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

journal::~journal() = default;

caf::expected<std::unique_ptr<journal>>
journal::open(const std::string& path, journal_options opts) {
  try {
    auto flags = opts.read_only ? SQLite::OPEN_READONLY
                                : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
    auto ptr = std::make_unique<impl>(path, flags);
    auto& db = ptr->db;
    db.setBusyTimeout(5000);
    int version = db.execAndGet("PRAGMA user_version").getInt();
    ptr->opened_version = version;
    if (version > schema_version)
      return make_error(errc::journal_too_new,
                        path + " has journal schema version "
                          + std::to_string(version) + " but this cw reads up to "
                          + std::to_string(schema_version));
    if (!opts.read_only) {
      db.exec("PRAGMA journal_mode=WAL");
      db.exec(opts.sync == durability::full ? "PRAGMA synchronous=FULL"
                                            : "PRAGMA synchronous=NORMAL");
      auto frames = std::max(1, opts.checkpoint_frames);
      ptr->ckpt = std::make_unique<checkpointer>(db.getHandle(), path, frames,
                                                 16 * frames);
      if (version != 0 && version < oldest_schema_version)
        return make_error(errc::journal_too_old,
                          path + " has journal schema version "
                            + std::to_string(version)
                            + ", older than the oldest this cw migrates ("
                            + std::to_string(oldest_schema_version) + ")");
      if (version < schema_version)
        ptr->migrate(version);
      db.exec(create_rare_index_sql);
      ptr->insert = std::make_unique<SQLite::Statement>(
        db, "INSERT INTO events (seq, time_ms, node, type, version, entity, "
            "payload, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    } else if (version == 0) {
      return make_error(errc::journal_io, path + " is not a cw journal");
    }
    ptr->last_seq = static_cast<uint64_t>(
      db.execAndGet("SELECT COALESCE(MAX(seq), 0) FROM events").getInt64());
    return std::unique_ptr<journal>{new journal(std::move(ptr))};
  } catch (const std::exception& ex) {
    return io_error(path, ex.what());
  }
}

caf::expected<uint64_t> journal::append(std::vector<event>& events) {
  if (!impl_->insert)
    return io_error(impl_->path, "opened read-only");
  auto seq = impl_->last_seq;
  try {
    SQLite::Transaction tx{impl_->db};
    auto& stmt = *impl_->insert;
    for (auto& ev : events) {
      ev.seq = ++seq;
      ev.checksum = checksum(ev);
      stmt.bind(1, static_cast<int64_t>(ev.seq));
      stmt.bind(2, ev.time_ms);
      stmt.bindNoCopy(3, ev.node);
      stmt.bindNoCopy(4, ev.type);
      stmt.bind(5, static_cast<int64_t>(ev.version));
      stmt.bindNoCopy(6, ev.entity);
      stmt.bindNoCopy(7, ev.payload);
      stmt.bind(8, static_cast<int64_t>(ev.checksum));
      stmt.exec();
      stmt.reset();
    }
    tx.commit();
  } catch (const std::exception& ex) {
    impl_->insert->reset();
    for (auto& ev : events)
      ev.seq = 0;
    return io_error(impl_->path, ex.what());
  }
  impl_->last_seq = seq;
  return seq;
}

caf::expected<uint64_t>
journal::read(uint64_t from, const std::function<void(event&)>& f,
              uint64_t to) const {
  return read_checked(from, to, "", f);
}

caf::expected<uint64_t>
journal::read_prefix(const std::string& prefix, uint64_t from,
                     const std::function<void(event&)>& f) const {
  return read_checked(from, UINT64_MAX, prefix, f);
}

caf::expected<uint64_t>
journal::read_checked(uint64_t from, uint64_t to, const std::string& prefix,
                      const std::function<void(event&)>& f) const {
  caf::error corrupt;
  auto n = each_row(from, to, prefix, [&](event& ev) {
    if (checksum(ev) != ev.checksum) {
      corrupt = make_error(errc::journal_corrupt,
                           impl_->path + ": checksum mismatch at seq "
                             + std::to_string(ev.seq));
      return false;
    }
    f(ev);
    return true;
  });
  if (corrupt)
    return corrupt;
  return n;
}

caf::expected<uint64_t>
journal::scan(uint64_t from, const std::function<bool(event&)>& f) const {
  return each_row(from, UINT64_MAX, "", f);
}

caf::expected<uint64_t>
journal::each_row(uint64_t from, uint64_t to, const std::string& prefix,
                  const std::function<bool(event&)>& f) const {
  uint64_t count = 0;
  try {
    // A prefix filters inside SQLite: `type >= prefix AND type < prefix'`,
    // where prefix' is the prefix with its last byte raised by one.
    // Rare types go through `events_rare` (`+seq` keeps SQLite from
    // walking the whole table by seq instead).
    SQLite::Statement stmt{impl_->db,
                           prefix.empty()
                             ? "SELECT " CW_EVENT_COLUMNS " FROM events WHERE "
                               "seq >= ? AND seq <= ? ORDER BY seq"
                           : rare_types(prefix)
                             ? "SELECT " CW_EVENT_COLUMNS " FROM events WHERE "
                               "+seq >= ? AND +seq <= ? AND type >= ? AND "
                               "type < ? AND " CW_RARE_TYPES " ORDER BY seq"
                             : "SELECT " CW_EVENT_COLUMNS " FROM events WHERE "
                               "seq >= ? AND seq <= ? AND type >= ? AND "
                               "type < ? ORDER BY seq"};
    stmt.bind(1, static_cast<int64_t>(from));
    stmt.bind(2, static_cast<int64_t>(std::min<uint64_t>(to, INT64_MAX)));
    if (!prefix.empty()) {
      auto upper = prefix;
      upper.back() = static_cast<char>(upper.back() + 1);
      stmt.bind(3, prefix);
      stmt.bind(4, upper);
    }
    event ev;
    while (stmt.executeStep()) {
      read_row(stmt, ev);
      if (!f(ev))
        break;
      ++count;
    }
  } catch (const std::exception& ex) {
    return io_error(impl_->path, ex.what());
  }
  return count;
}

caf::expected<std::vector<event>>
journal::last_of_type(const std::string& type, uint64_t up_to) const {
  std::vector<event> result;
  try {
    SQLite::Statement stmt{impl_->db,
                           rare_types(type)
                             ? "SELECT " CW_EVENT_COLUMNS " FROM events WHERE "
                               "type = ? AND seq <= ? AND " CW_RARE_TYPES
                               " ORDER BY seq DESC LIMIT 1"
                             : "SELECT " CW_EVENT_COLUMNS " FROM events WHERE "
                               "type = ? AND seq <= ? ORDER BY seq DESC LIMIT 1"};
    stmt.bind(1, type);
    stmt.bind(2, static_cast<int64_t>(std::min<uint64_t>(up_to, INT64_MAX)));
    if (stmt.executeStep()) {
      event ev;
      read_row(stmt, ev);
      if (checksum(ev) != ev.checksum)
        return make_error(errc::journal_corrupt,
                          impl_->path + ": checksum mismatch at seq "
                            + std::to_string(ev.seq));
      result.push_back(std::move(ev));
    }
  } catch (const std::exception& ex) {
    return io_error(impl_->path, ex.what());
  }
  return result;
}

caf::error journal::save_snapshot(snapshot& x, size_t keep) {
  if (!impl_->insert)
    return io_error(impl_->path, "opened read-only");
  x.checksum = checksum(x);
  try {
    SQLite::Transaction tx{impl_->db};
    SQLite::Statement ins{impl_->db,
                          "INSERT OR REPLACE INTO snapshots (seq, kind, "
                          "time_ms, state, checksum) VALUES (?, ?, ?, ?, ?)"};
    ins.bind(1, static_cast<int64_t>(x.seq));
    ins.bindNoCopy(2, x.kind);
    ins.bind(3, x.time_ms);
    ins.bindNoCopy(4, x.state.data(), static_cast<int>(x.state.size()));
    ins.bind(5, static_cast<int64_t>(x.checksum));
    ins.exec();
    SQLite::Statement prune{impl_->db,
                            "DELETE FROM snapshots WHERE kind = ? AND seq NOT IN "
                            "(SELECT seq FROM snapshots WHERE kind = ? "
                            "ORDER BY seq DESC LIMIT ?)"};
    prune.bindNoCopy(1, x.kind);
    prune.bindNoCopy(2, x.kind);
    prune.bind(3, static_cast<int64_t>(keep));
    prune.exec();
    tx.commit();
  } catch (const std::exception& ex) {
    return io_error(impl_->path, ex.what());
  }
  return {};
}

caf::expected<std::vector<snapshot>>
journal::snapshots(const std::string& kind) const {
  std::vector<snapshot> result;
  // A read-only file from before schema 2 has no snapshot table.
  if (!impl_->insert && impl_->opened_version < 2)
    return result;
  try {
    SQLite::Statement stmt{impl_->db,
                           "SELECT seq, time_ms, state, checksum FROM "
                           "snapshots WHERE kind = ? ORDER BY seq DESC"};
    stmt.bind(1, kind);
    while (stmt.executeStep()) {
      snapshot x;
      x.seq = static_cast<uint64_t>(stmt.getColumn(0).getInt64());
      x.time_ms = stmt.getColumn(1).getInt64();
      auto col = stmt.getColumn(2);
      x.state.assign(static_cast<const char*>(col.getBlob()),
                     static_cast<size_t>(col.getBytes()));
      x.checksum = static_cast<uint64_t>(stmt.getColumn(3).getInt64());
      x.kind = kind;
      result.push_back(std::move(x));
    }
  } catch (const std::exception& ex) {
    return io_error(impl_->path, ex.what());
  }
  return result;
}

int journal::opened_schema_version() const noexcept {
  return impl_->opened_version;
}

uint64_t journal::last_seq() const noexcept {
  return impl_->last_seq;
}

bool journal::await_checkpoints(uint64_t n, std::chrono::milliseconds limit) {
  return impl_->ckpt && impl_->ckpt->await_completed(n, limit);
}

const std::string& journal::path() const noexcept {
  return impl_->path;
}

} // namespace cw::persistence
