#include <chrono>
#include <iostream>

#include <SQLiteCpp/SQLiteCpp.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/journal/journal_writer.hpp"
#include "actors/scheduler/recovery.hpp"
#include "actors/scheduler/task_table.hpp"
#include "apps/cw-bench/bench.hpp"
#include "messages/register_types.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// An event of about 200 bytes, like a task.finished with a short reason.
event sample_event(uint64_t i) {
  event ev;
  ev.time_ms = 1'795'000'000'000 + static_cast<int64_t>(i);
  ev.node = "bench-node";
  ev.type = "task.finished";
  ev.version = 1;
  ev.entity = "task/" + std::to_string(i);
  ev.payload = R"({"id":)" + std::to_string(i)
               + R"(,"outcome":{"exit_code":0,"reason":"","signal":0,)"
                 R"("status":"completed"},"note":"padding to reach two hundred bytes"})";
  return ev;
}

/// The four events of one task's life: submitted, assigned, started,
/// finished.
std::vector<task_event> task_life(task_id id) {
  task_spec spec;
  spec.argv = {"/bin/true"};
  spec.workspace = "/tmp";
  return {task_submitted{id, spec}, task_assigned{id, "agent-1", 1, "bench"},
          task_started{id, static_cast<int64_t>(1000 + id % 30000), {}},
          task_finished{id, {task_status::completed, 0, 0, ""}}};
}

/// Fills `path` with `n` task events (n/4 tasks). With `snapshot_at` > 0,
/// saves a snapshot of the fold after that seq. Returns the elapsed time.
double fill_journal(const std::string& path, uint64_t n, uint64_t snapshot_at) {
  auto start = clock_type::now();
  auto j = std::move(*persistence::journal::open(path, {persistence::durability::normal}));
  actors::task_table fold;
  std::vector<event> batch;
  uint64_t seq = 0;
  for (task_id id = 1; seq < n; ++id) {
    for (auto& ev : task_life(id)) {
      if (++seq > n)
        break;
      if (seq <= snapshot_at)
        fold.apply(ev, static_cast<int64_t>(seq));
      batch.push_back(persistence::encode(ev, static_cast<int64_t>(seq), "bench"));
      if (batch.size() == 10'000) {
        j->append(batch);
        batch.clear();
      }
      if (seq == snapshot_at) {
        j->append(batch);
        batch.clear();
        snapshot snap{seq, 0, "tasks", fold.save(), 0};
        j->save_snapshot(snap);
      }
    }
  }
  j->append(batch);
  return seconds_since(start);
}

/// Appends `n` events through the journal actor with `in_flight` appends
/// of one event each outstanding at any time.
double actor_append_rate(persistence::durability d, uint64_t n,
                         uint32_t in_flight, const std::string& path) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto j = persistence::journal::open(path, {d});
  auto writer = actors::spawn_journal_writer(
    sys, std::shared_ptr<persistence::journal>{std::move(*j)});
  caf::scoped_actor self{sys};
  uint64_t sent = 0;
  uint64_t acked = 0;
  auto send_one = [&] {
    self->send(writer, append_atom_v, std::vector<event>{sample_event(sent++)});
  };
  auto start = clock_type::now();
  while (sent < std::min<uint64_t>(n, in_flight))
    send_one();
  while (acked < n) {
    self->receive([&](uint64_t) { ++acked; },
                  [&](caf::error& err) {
                    std::cerr << "append failed: " << sys.render(err) << "\n";
                    acked = n;
                  });
    if (sent < n)
      send_one();
  }
  auto secs = seconds_since(start);
  self->send_exit(writer, caf::exit_reason::user_shutdown);
  return static_cast<double>(n) / secs;
}

/// The same rows through a plain SQLiteCpp loop, 1000 per transaction, same
/// schema, WAL with synchronous=FULL.
double raw_sqlite_rate(uint64_t n, const std::string& path) {
  SQLite::Database db{path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=FULL");
  db.exec("CREATE TABLE events (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT "
          "NULL, node TEXT NOT NULL, type TEXT NOT NULL, version INTEGER NOT "
          "NULL, entity TEXT NOT NULL, payload TEXT NOT NULL, checksum INTEGER "
          "NOT NULL)");
  SQLite::Statement stmt{db, "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"};
  auto start = clock_type::now();
  for (uint64_t i = 0; i < n;) {
    SQLite::Transaction tx{db};
    for (uint64_t k = 0; k < 1000 && i < n; ++k, ++i) {
      auto ev = sample_event(i);
      stmt.bind(1, static_cast<int64_t>(i + 1));
      stmt.bind(2, ev.time_ms);
      stmt.bind(3, ev.node);
      stmt.bind(4, ev.type);
      stmt.bind(5, 1);
      stmt.bind(6, ev.entity);
      stmt.bind(7, ev.payload);
      stmt.bind(8, static_cast<int64_t>(i));
      stmt.exec();
      stmt.reset();
    }
    tx.commit();
  }
  return static_cast<double>(n) / seconds_since(start);
}

} // namespace

int journal_append(const bench_args& args) {
  scratch_dir dir;
  auto n = args.events;
  auto raw = raw_sqlite_rate(n, (dir.path / "raw.db").string());
  auto full = actor_append_rate(persistence::durability::full, n, args.in_flight,
                                (dir.path / "full.db").string());
  auto normal = actor_append_rate(persistence::durability::normal, n,
                                  args.in_flight,
                                  (dir.path / "normal.db").string());
  std::cout << "journal-append: " << n << " events of ~200 bytes, "
            << args.in_flight << " appends in flight; full reaches "
            << (100.0 * full / raw) << "% of raw SQLite in batches of 1000"
            << std::endl;
  figure("journal-append", "append_full_events_per_s", full, "events/s");
  figure("journal-append", "append_normal_events_per_s", normal, "events/s");
  figure("journal-append", "raw_sqlite_rows_per_s", raw, "rows/s");
  return 0;
}

int journal_replay(const bench_args& args) {
  scratch_dir dir;
  auto path = (dir.path / "journal.db").string();
  auto fill = fill_journal(path, args.events, 0);
  auto j = std::move(*persistence::journal::open(path, {persistence::durability::full, true}));
  auto start = clock_type::now();
  auto rec = actors::recover_tasks(*j, UINT64_MAX, false);
  auto secs = seconds_since(start);
  if (!rec) {
    std::cerr << "replay failed\n";
    return 1;
  }
  std::cout << "journal-replay: wrote " << args.events << " events in " << fill
            << " s; folded " << rec->replayed << " events into "
            << rec->tasks->size() << " tasks in " << secs << " s" << std::endl;
  figure("journal-replay", "replay_events_per_s",
         static_cast<double>(rec->replayed) / secs, "events/s");
  return 0;
}

int startup(const bench_args& args) {
  // State size first, in a fresh heap: 1M finished tasks folded in memory.
  double state_bytes = 0;
  {
    auto before = resident_bytes();
    actors::task_table fold;
    for (task_id id = 1; id <= 1'000'000; ++id)
      for (auto& ev : task_life(id))
        fold.apply(ev, 0);
    state_bytes = static_cast<double>(resident_bytes() - before);
    std::cout << "startup: 1M finished tasks folded: " << state_bytes / (1 << 20)
              << " MiB resident" << std::endl;
  }
  scratch_dir dir;
  auto path = (dir.path / "journal.db").string();
  // A snapshot 50k events behind the end: the average tail with the
  // default of one snapshot every 100k events.
  auto snapshot_at = args.events > 50'000 ? args.events - 50'000 : 0;
  auto fill = fill_journal(path, args.events, snapshot_at);
  auto cfg = runtime::default_node_config();
  cfg.data_dir = dir.path.string();
  cfg.api_port = 0;
  cfg.agents = 2;
  cfg.log_level = "warn";
  auto start = clock_type::now();
  auto n = runtime::node::start(cfg);
  auto secs = seconds_since(start);
  if (!n) {
    std::cerr << "cw-bench: cannot start node\n";
    return 1;
  }
  std::cout << "startup: journal of " << args.events << " events written in "
            << fill << " s; node started in " << secs << " s from the snapshot at seq "
            << snapshot_at << " plus " << (*n)->recovered_events()
            << " events" << std::endl;
  (*n)->stop();
  figure("startup", "startup_1m_with_snapshot_s", secs, "s");
  figure("startup", "state_1m_tasks_bytes", state_bytes, "bytes");
  return 0;
}

} // namespace cw::bench
