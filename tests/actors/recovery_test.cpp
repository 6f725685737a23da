#define CAF_SUITE actors.recovery
#include "caf/test/unit_test.hpp"

#include <random>

#include "actors/scheduler/recovery.hpp"
#include "actors/scheduler/task_table.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"
#include "tests/support/temp_dir.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

/// Generates a random but plausible history of task events: tasks are
/// submitted, assigned, started, finished or requeued in random order.
class history {
public:
  explicit history(uint32_t seed) : rng_(seed) {
    // nop
  }

  task_event next() {
    std::vector<task_id> queued;
    std::vector<task_id> running;
    for (auto& [id, status] : status_) {
      if (status == task_status::queued)
        queued.push_back(id);
      else if (status == task_status::running)
        running.push_back(id);
    }
    auto pick = [&](std::vector<task_id>& ids) {
      return ids[std::uniform_int_distribution<size_t>{0, ids.size() - 1}(rng_)];
    };
    switch (std::uniform_int_distribution<int>{0, 5}(rng_)) {
      case 1:
        if (!queued.empty()) {
          auto id = pick(queued);
          status_[id] = task_status::running;
          return task_assigned{id, "agent-" + std::to_string(rng_() % 4),
                               ++attempts_[id], "random"};
        }
        break;
      case 2:
        if (!running.empty())
          return task_started{pick(running), static_cast<int64_t>(rng_() % 60000), {}};
        break;
      case 3:
      case 4:
        if (!running.empty()) {
          auto id = pick(running);
          auto ok = rng_() % 2 == 0;
          status_[id] = ok ? task_status::completed : task_status::failed;
          return task_finished{id, {status_[id], ok ? 0 : 1, 0,
                                    ok ? "" : "exit code 1"}};
        }
        break;
      case 5:
        if (!running.empty()) {
          auto id = pick(running);
          status_[id] = task_status::queued;
          return task_requeued{id, "random requeue"};
        }
        break;
      default:
        break;
    }
    auto id = ++last_id_;
    status_[id] = task_status::queued;
    task_spec spec;
    spec.argv = {"prog", std::to_string(id)};
    spec.workspace = "/tmp";
    spec.priority = static_cast<int32_t>(rng_() % 7) - 3;
    return task_submitted{id, spec};
  }

private:
  std::mt19937 rng_;
  task_id last_id_ = 0;
  std::map<task_id, task_status> status_;
  std::map<task_id, uint32_t> attempts_;
};

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<persistence::journal> j;

  fixture() {
    auto opened = persistence::journal::open(dir.file("journal.db"),
                                             {persistence::durability::normal});
    CAF_REQUIRE(opened);
    j = std::move(*opened);
  }

  /// Appends `n` random events; after every `snapshot_every` events saves a
  /// snapshot of the fold so far. Returns the fold of everything.
  task_table fill(uint32_t seed, size_t n, size_t snapshot_every) {
    history h{seed};
    task_table fold;
    std::vector<event> batch;
    for (size_t i = 1; i <= n; ++i) {
      auto ev = h.next();
      fold.apply(ev, static_cast<int64_t>(i));
      batch.push_back(persistence::encode(ev, static_cast<int64_t>(i), "n"));
      if (i % snapshot_every == 0 || i == n) {
        CAF_REQUIRE(j->append(batch));
        batch.clear();
        if (i % snapshot_every == 0) {
          snapshot snap{j->last_seq(), 0, "tasks", fold.save(), 0};
          CAF_REQUIRE(!j->save_snapshot(snap, 3));
        }
      }
    }
    return fold;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(recovery_tests, fixture)

CAF_TEST(snapshot plus tail equals full replay for random histories) {
  for (uint32_t seed = 1; seed <= 25; ++seed) {
    fixture f;
    auto n = 50 + seed * 37;
    auto expected = f.fill(seed, n, 1 + seed * 11);
    auto with = recover_tasks(*f.j);
    CAF_REQUIRE(with);
    auto without = recover_tasks(*f.j, UINT64_MAX, false);
    CAF_REQUIRE(without);
    CAF_CHECK(*with->tasks == expected);
    CAF_CHECK(*without->tasks == expected);
    CAF_CHECK_EQUAL(without->replayed, n);
    CAF_CHECK(with->snapshot_seq > 0);
    CAF_CHECK_EQUAL(with->snapshot_seq + with->replayed, n);
    CAF_CHECK_EQUAL(with->last_seq, n);
  }
}

CAF_TEST(a damaged newest snapshot falls back to an older one) {
  auto expected = fill(7, 300, 100);
  auto snaps = j->snapshots("tasks");
  CAF_REQUIRE(snaps);
  CAF_REQUIRE_EQUAL(snaps->size(), 3u);
  // Overwrite the newest (seq 300) with a blob whose checksum is right but
  // whose content is truncated: it must not load.
  auto bad = snaps->front();
  bad.state.resize(bad.state.size() / 2);
  CAF_REQUIRE(!j->save_snapshot(bad, 3));
  auto rec = recover_tasks(*j);
  CAF_REQUIRE(rec);
  CAF_CHECK_EQUAL(rec->snapshot_seq, 200u);
  CAF_CHECK_EQUAL(rec->replayed, 100u);
  CAF_CHECK(*rec->tasks == expected);
}

CAF_TEST(the state at an earlier seq uses only what came before it) {
  history h{3};
  task_table prefix;
  std::vector<event> batch;
  for (int i = 1; i <= 120; ++i) {
    auto ev = h.next();
    if (i <= 70)
      prefix.apply(ev, i);
    batch.push_back(persistence::encode(ev, i, "n"));
  }
  CAF_REQUIRE(j->append(batch));
  task_table at_100;
  CAF_REQUIRE(j->read(1, [&](event& ev) { at_100.apply(*persistence::decode(ev), ev.time_ms); }, 100));
  snapshot snap{100, 0, "tasks", at_100.save(), 0};
  CAF_REQUIRE(!j->save_snapshot(snap));
  auto rec = recover_tasks(*j, 70);
  CAF_REQUIRE(rec);
  CAF_CHECK_EQUAL(rec->snapshot_seq, 0u); // the seq-100 snapshot is too new
  CAF_CHECK_EQUAL(rec->last_seq, 70u);
  CAF_CHECK(*rec->tasks == prefix);
}

CAF_TEST(a usage limit hold comes back from the journal after the last snapshot) {
  task_spec spec;
  spec.provider = "claude";
  spec.prompt = "hi";
  spec.workspace = "/tmp";
  task_assigned assigned{1, "claude-1", 1, "least_loaded"};
  std::vector<task_event> history{
    task_submitted{1, spec}, assigned,
    limit_changed{1, "held", "claude", "", 90'000, "usage_limit: resets"},
    task_parked{1, "usage_limit: resets", 90'000, "sess-1"}};
  std::vector<event> batch;
  int64_t time = 0;
  for (auto& ev : history)
    batch.push_back(persistence::encode(ev, ++time, "n"));
  CAF_REQUIRE(j->append(batch));
  auto rec = recover_tasks(*j);
  CAF_REQUIRE(rec);
  CAF_CHECK_EQUAL(rec->replayed, 4u);
  CAF_CHECK_EQUAL(rec->tasks->held_until("claude", "", 10),
                  std::optional<int64_t>{90'000});
  // Its lift is folded too.
  batch = {persistence::encode(
    limit_changed{1, "lifted", "claude", "", 0, "its reset time came"}, 90'000,
    "n")};
  CAF_REQUIRE(j->append(batch));
  auto later = recover_tasks(*j);
  CAF_REQUIRE(later);
  CAF_CHECK(later->tasks->holds(10).empty());
  CAF_CHECK(later->tasks->due_holds(90'000).empty());
}

CAF_TEST(a snapshot blob of an unknown format is refused) {
  task_table t;
  auto blob = t.save();
  blob[0] = 99;
  auto loaded = task_table::load(blob);
  CAF_REQUIRE(!loaded);
  CAF_CHECK(loaded.error() == errc::journal_corrupt);
  CAF_CHECK(!task_table::load(""));
}

CAF_TEST_FIXTURE_SCOPE_END()
