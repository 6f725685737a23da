#define CAF_SUITE persistence.migration
#include "caf/test/unit_test.hpp"

#include <filesystem>

#include <SQLiteCpp/SQLiteCpp.h>

#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::persistence;

namespace {

/// A copy of tests/fixtures/journal-v1.db: a real run of the schema-1 cw
/// (task 1 `echo hello` completed, task 2 exited 3, task 3's program was
/// missing), so the checked-in file itself is never modified.
struct fixture {
  test::temp_dir dir;
  std::string path = dir.file("journal.db");

  fixture() {
    std::filesystem::copy_file(std::string{CW_FIXTURES_DIR} + "/journal-v1.db", path);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(migration_tests, fixture)

CAF_TEST(a schema 1 journal is readable without migration when read only) {
  auto j = journal::open(path, {durability::full, true});
  CAF_REQUIRE(j);
  CAF_CHECK_EQUAL((*j)->opened_schema_version(), 1);
  CAF_CHECK_EQUAL((*j)->last_seq(), 11u);
  auto snaps = (*j)->snapshots("tasks");
  CAF_REQUIRE(snaps);
  CAF_CHECK(snaps->empty());
  SQLite::Database db{path, SQLite::OPEN_READONLY};
  CAF_CHECK_EQUAL(db.execAndGet("PRAGMA user_version").getInt(), 1);
}

CAF_TEST(opening a schema 1 journal migrates it and keeps every event) {
  {
    auto j = journal::open(path);
    CAF_REQUIRE(j);
    CAF_CHECK_EQUAL((*j)->opened_schema_version(), 1);
    std::vector<std::string> types;
    auto n = (*j)->read(1, [&](event& ev) { types.push_back(ev.type); });
    CAF_REQUIRE(n);
    CAF_CHECK_EQUAL(*n, 11u);
    CAF_CHECK_EQUAL(types.front(), "task.submitted");
    CAF_CHECK_EQUAL(types.back(), "task.finished");
    // The migrated file takes new events and snapshots.
    std::vector<event> batch{encode(task_requeued{1, "test"}, 5, "n")};
    auto last = (*j)->append(batch);
    CAF_REQUIRE(last);
    CAF_CHECK_EQUAL(*last, 12u);
    snapshot snap{12, 6, "tasks", "blob", 0};
    CAF_CHECK(!(*j)->save_snapshot(snap));
  }
  SQLite::Database db{path, SQLite::OPEN_READONLY};
  CAF_CHECK_EQUAL(db.execAndGet("PRAGMA user_version").getInt(),
                  journal::schema_version);
  CAF_CHECK_EQUAL(
    db.execAndGet("SELECT group_concat(version) FROM schema_versions")
      .getString(),
    "2");
  auto j = journal::open(path);
  CAF_REQUIRE(j);
  CAF_CHECK_EQUAL((*j)->opened_schema_version(), journal::schema_version);
  CAF_CHECK_EQUAL((*j)->snapshots("tasks")->size(), 1u);
}

CAF_TEST(version 1 events upcast to the current types) {
  auto j = journal::open(path, {durability::full, true});
  CAF_REQUIRE(j);
  std::vector<task_assigned> assigned;
  auto n = (*j)->read(1, [&](event& ev) {
    auto typed = decode(ev);
    CAF_REQUIRE(typed);
    if (auto x = std::get_if<task_assigned>(&*typed)) {
      CAF_CHECK_EQUAL(ev.version, 1u);
      assigned.push_back(*x);
    }
  });
  CAF_REQUIRE(n);
  CAF_REQUIRE_EQUAL(assigned.size(), 3u);
  CAF_CHECK_EQUAL(assigned[0].agent, "agent-1");
  CAF_CHECK_EQUAL(assigned[0].attempt, 1u);
  CAF_CHECK_EQUAL(assigned[0].reason, "");
  // The current version writes the reason.
  auto row = encode(task_assigned{1, "agent-2", 2, "longest idle agent"}, 0, "n");
  CAF_CHECK_EQUAL(row.version, 2u);
  auto decoded = decode(row);
  CAF_REQUIRE(decoded);
  CAF_CHECK_EQUAL(std::get<task_assigned>(*decoded).reason,
                  "longest idle agent");
}

CAF_TEST(a journal older than the oldest supported version is refused) {
  {
    SQLite::Database db{path, SQLite::OPEN_READWRITE};
    db.exec("PRAGMA user_version = -1");
  }
  auto j = journal::open(path);
  CAF_REQUIRE(!j);
  CAF_CHECK(j.error() == errc::journal_too_old);
  CAF_CHECK(error_message(j.error()).find(path) != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
