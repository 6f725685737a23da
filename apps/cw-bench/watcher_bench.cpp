#include <algorithm>
#include <chrono>
#include <iostream>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/scoped_actor.hpp"

#include "actors/workspace/watcher_actor.hpp"
#include "apps/cw-bench/bench.hpp"
#include "messages/errc.hpp"

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// One run: how many writes, how fast, and whether the summary had them all.
struct watch_run {
  size_t writes = 0;
  size_t files = 0;
  double seconds = 0;
  size_t lost = 0;
  size_t extra = 0;
  double end_ms = 0;
};

/// Writes into 100 directories, made as the run reaches them (so the watcher
/// follows new directories under load); every tenth write rewrites an
/// earlier file. Paces to `rate` writes/s (0: as fast as possible) and stops
/// after `max_writes` or `max_time`.
watch_run write_files(const std::filesystem::path& root, size_t rate,
                      size_t max_writes, clock_type::duration max_time,
                      std::set<std::string>& written) {
  watch_run run;
  char payload[64];
  std::fill(std::begin(payload), std::end(payload), 'x');
  payload[63] = '\n';
  auto start = clock_type::now();
  for (size_t i = 0; i < max_writes; ++i) {
    if (rate > 0) {
      auto due = start + std::chrono::nanoseconds(i * 1'000'000'000 / rate);
      while (clock_type::now() < due)
        std::this_thread::yield();
    }
    if (i % 1024 == 0 && clock_type::now() - start > max_time)
      break;
    auto n = (i % 10 == 9 && i > 100) ? i / 2 : i;
    auto dir = "d" + std::to_string(n % 100);
    auto rel = dir + "/f" + std::to_string(n) + ".txt";
    if (n < 100)
      ::mkdir((root / dir).c_str(), 0755);
    int fd = ::open((root / rel).c_str(),
                    O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, payload, sizeof(payload)) < 0) {
      std::cerr << "watcher: cannot write " << rel << "\n";
      if (fd >= 0)
        ::close(fd);
      break;
    }
    ::close(fd);
    written.insert(rel);
    ++run.writes;
  }
  run.seconds
    = std::chrono::duration<double>(clock_type::now() - start).count();
  run.files = written.size();
  return run;
}

/// Opens a task window on a fresh workspace, writes, closes the window and
/// compares the task's summary with what was written.
int run_once(caf::actor_system& sys, size_t rate, size_t max_writes,
             clock_type::duration max_time, watch_run& run) {
  scratch_dir dir;
  actors::watcher_config cfg;
  cfg.root = dir.path;
  auto w = actors::spawn_watcher(sys, "bench", std::move(cfg));
  if (!w) {
    std::cerr << "watcher: " << describe(w.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  int rc = 0;
  auto fail = [&](caf::error& err) {
    std::cerr << "watcher: " << describe(err) << "\n";
    rc = 1;
  };
  self->request(*w, 10s, actors::ws_begin_atom::value, task_id{1})
    .receive([](std::vector<task_id>&) {}, fail);
  std::set<std::string> written;
  run = write_files(dir.path, rate, max_writes, max_time, written);
  auto end_start = clock_type::now();
  actors::task_changes changes;
  self->request(*w, 60s, actors::ws_end_atom::value, task_id{1})
    .receive([&](actors::task_changes& x) { changes = std::move(x); }, fail);
  run.end_ms = std::chrono::duration<double, std::milli>(clock_type::now()
                                                         - end_start)
                 .count();
  self->send_exit(*w, caf::exit_reason::user_shutdown);
  std::set<std::string> seen;
  for (auto& f : changes.files)
    seen.insert(f.path);
  for (auto& x : written)
    if (seen.count(x) == 0)
      ++run.lost;
  for (auto& x : seen)
    if (written.count(x) == 0)
      ++run.extra;
  return rc;
}

} // namespace

int watcher(const bench_args&) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  // Paced at the target rate for 2 s, then as fast as this machine writes
  // for up to 2 s.
  watch_run paced;
  if (run_once(sys, 10'000, 20'000, 3s, paced) != 0)
    return 1;
  watch_run flat_out;
  if (run_once(sys, 0, 200'000, 2s, flat_out) != 0)
    return 1;
  for (auto* r : {&paced, &flat_out})
    std::cout << "watcher: " << r->writes << " writes of " << r->files
              << " files in " << r->seconds << " s ("
              << static_cast<size_t>(r->writes / r->seconds)
              << " writes/s), " << r->lost << " lost, " << r->extra
              << " unexpected, end() answered in " << r->end_ms << " ms\n";
  if (paced.lost + flat_out.lost + paced.extra + flat_out.extra > 0) {
    std::cerr << "watcher: the task summary lost or invented files\n";
    return 1;
  }
  figure("watcher", "writes_per_s_no_loss", flat_out.writes / flat_out.seconds,
         "writes/s");
  figure("watcher", "paced_10k_writes_per_s", paced.writes / paced.seconds,
         "writes/s");
  figure("watcher", "end_ms_after_flat_out", flat_out.end_ms, "ms");
  return 0;
}

} // namespace cw::bench
