// `locks`: acquire and release through the lock manager actor, each answer
// after its events are in the journal, as in a node.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <random>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/journal/journal_writer.hpp"
#include "actors/resources/lock_manager.hpp"
#include "apps/cw-bench/bench.hpp"
#include "messages/register_types.hpp"
#include "persistence/journal.hpp"
#include "runtime/node.hpp"

#include <spdlog/spdlog.h>

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double us_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - start)
    .count();
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(xs.size())));
  return xs[std::max<size_t>(rank, 1) - 1];
}

/// A journal that acknowledges at once and keeps nothing: isolates the cost
/// of the actor hops from the cost of durability.
journal_actor::behavior_type null_journal(journal_actor::pointer self) {
  auto seq = std::make_shared<uint64_t>(0);
  return {
    [seq](append_atom, const std::vector<event>& evs) {
      *seq += evs.size();
      return *seq;
    },
    [](snapshot_atom, const snapshot&) {},
    [](flush_atom) {},
  };
}

/// One client that acquires and releases free resources in turn, each pair
/// timed, then hands the latencies (µs) to `done`. An event-based actor, as
/// the scheduler and the API are: a blocking client would add a thread
/// wake-up to every answer.
caf::behavior pair_client(caf::event_based_actor* self, lock_actor locks,
                          size_t rounds, caf::actor done) {
  auto us = std::make_shared<std::vector<double>>();
  us->reserve(rounds);
  auto next = std::make_shared<std::function<void(size_t)>>();
  *next = [self, locks, rounds, done, us, next](size_t i) {
    if (i == rounds) {
      self->send(done, *us);
      self->quit();
      return;
    }
    lock_spec spec{"task:1", "src/file-" + std::to_string(i % 1000) + ".cpp",
                   true, 0, 0};
    auto start = clock_type::now();
    self->request(locks, 10s, lock_atom_v, spec)
      .then(
        [self, locks, us, next, i, start, spec](const lock_grant&) {
          self->request(locks, 10s, release_atom_v, spec.owner, spec.resource)
            .then(
              [us, next, i, start](const lock_holder_view&) {
                us->push_back(us_since(start));
                (*next)(i + 1);
              },
              [self](caf::error& err) { self->quit(err); });
        },
        [self](caf::error& err) { self->quit(err); });
  };
  (*next)(0);
  return {[](caf::ok_atom) {}};
}

/// Sequential acquire + release of free resources; returns the latencies in
/// µs (empty when a request failed).
std::vector<double> uncontended(caf::actor_system& sys, lock_actor locks,
                                size_t rounds) {
  caf::scoped_actor self{sys};
  sys.spawn(pair_client, locks, rounds, caf::actor{self});
  std::vector<double> us;
  self->receive([&](std::vector<double>& xs) { us = std::move(xs); },
                caf::after(120s) >> [] {
                  std::cerr << "locks: uncontended run did not end in 120 s\n";
                });
  return us;
}

/// What the contending owners share.
struct contention {
  std::mutex mtx;
  /// Request to grant, every grant (waits for holders included).
  std::vector<double> grant_ms;
  /// Request to grant of requests that did not wait for a holder: the cost
  /// of a grant itself under load (decision, journal, delivery).
  std::vector<double> immediate_ms;
  size_t refused = 0;
};

struct owner_state {
  std::string owner;
  size_t held = 0;
  size_t steps_left = 0;
  std::mt19937_64 rng;
  static inline const char* name = "cw.bench.lock_owner";
};

/// One of the contending owners: holds up to two locks (on a skewed choice
/// of 1,000 resources, a quarter exclusive, random priorities, 200 ms
/// timeouts), then releases all; refused requests release all too.
caf::behavior owner(caf::stateful_actor<owner_state>* self, lock_actor locks,
                    std::shared_ptr<contention> out, size_t steps,
                    uint64_t seed, caf::actor done) {
  self->state.owner = "task:" + std::to_string(seed);
  self->state.steps_left = steps;
  self->state.rng.seed(seed);
  auto step = std::make_shared<std::function<void()>>();
  *step = [self, locks, out, done, step] {
    auto& st = self->state;
    if (st.steps_left-- == 0) {
      self->send(done, caf::ok_atom_v);
      self->quit();
      return;
    }
    if (st.held >= 2) {
      self->request(locks, 10s, release_atom_v, st.owner)
        .then(
          [self, step](const lock_listing&) {
            self->state.held = 0;
            (*step)();
          },
          [self](caf::error& err) { self->quit(err); });
      return;
    }
    std::uniform_real_distribution<double> unit{0, 1};
    auto u = unit(st.rng);
    lock_spec spec{st.owner,
                   "res/" + std::to_string(static_cast<size_t>(u * u * u * 1000)),
                   st.rng() % 4 == 0, static_cast<int32_t>(st.rng() % 4), 200};
    auto start = clock_type::now();
    self->request(locks, 10s, lock_atom_v, spec)
      .then(
        [self, out, step, start](const lock_grant& g) {
          auto ms = us_since(start) / 1000;
          {
            std::lock_guard<std::mutex> guard{out->mtx};
            out->grant_ms.push_back(ms);
            if (g.waited_ms == 0)
              out->immediate_ms.push_back(ms);
          }
          if (g.request != 0)
            ++self->state.held;
          (*step)();
        },
        [self, out, step](caf::error&) {
          {
            std::lock_guard<std::mutex> guard{out->mtx};
            ++out->refused;
          }
          // Deadlock victim or timed out: give everything up.
          self->state.held = 2;
          (*step)();
        });
  };
  (*step)();
  return {[](caf::ok_atom) {}};
}

/// 64 owners contend for 1,000 resources; returns the request-to-grant
/// times in ms.
std::shared_ptr<contention> contended(caf::actor_system& sys, lock_actor locks,
                                      size_t steps_per_owner) {
  constexpr size_t owners_n = 64;
  auto out = std::make_shared<contention>();
  caf::scoped_actor self{sys};
  for (size_t i = 0; i < owners_n; ++i)
    sys.spawn(owner, locks, out, steps_per_owner, uint64_t{i + 1},
              caf::actor{self});
  for (size_t i = 0; i < owners_n; ++i)
    self->receive([](caf::ok_atom) {},
                  caf::after(120s) >> [] {
                    std::cerr << "locks: an owner did not finish in 120 s\n";
                  });
  return out;
}

struct run_figures {
  double uncontended_p99_us = 0;
  double uncontended_p50_us = 0;
  double contended_p99_ms = 0;
  double contended_p50_ms = 0;
  double wait_p99_ms = 0;
  size_t grants = 0;
  size_t refused = 0;
};

/// Runs both measurements against a lock manager journaling to `journal`.
run_figures measure(caf::actor_system& sys, journal_actor journal,
                    size_t rounds, size_t steps) {
  actors::lock_manager_config cfg;
  cfg.node_name = "bench";
  cfg.journal = journal;
  auto locks = actors::spawn_lock_manager(sys, std::move(cfg));
  run_figures r;
  auto us = uncontended(sys, locks, rounds);
  r.uncontended_p99_us = percentile(us, 0.99);
  r.uncontended_p50_us = percentile(us, 0.50);
  auto c = contended(sys, locks, steps);
  r.contended_p99_ms = percentile(c->immediate_ms, 0.99);
  r.contended_p50_ms = percentile(c->immediate_ms, 0.50);
  r.wait_p99_ms = percentile(c->grant_ms, 0.99);
  r.grants = c->grant_ms.size();
  r.refused = c->refused;
  caf::anon_send_exit(locks, caf::exit_reason::user_shutdown);
  return r;
}

void report(const std::string& suffix, const run_figures& r) {
  std::cout << "locks" << suffix << ": uncontended p50 " << r.uncontended_p50_us
            << " us, contended p50 " << r.contended_p50_ms << " ms, "
            << r.grants << " grants, " << r.refused
            << " refused (deadlock or timeout)\n";
  figure("locks", "uncontended_p99_us" + suffix, r.uncontended_p99_us, "us");
  figure("locks", "contended_grant_p99_ms" + suffix, r.contended_p99_ms, "ms");
  figure("locks", "contended_request_to_grant_p99_ms" + suffix, r.wait_p99_ms,
         "ms");
}

} // namespace

int locks_actor(const bench_args& args) {
  // Every refused request (deadlocks, timeouts) would log a warning.
  spdlog::set_level(spdlog::level::err);
  caf::actor_system_config cfg;
  register_types(cfg);
  runtime::tune_scheduler(cfg);
  caf::actor_system sys{cfg};
  constexpr size_t rounds = 20'000;
  constexpr size_t steps = 1'000;
  // The actor alone: a journal that answers at once.
  auto null = sys.spawn(null_journal);
  report("_no_journal", measure(sys, null, rounds, steps));
  caf::anon_send_exit(null, caf::exit_reason::user_shutdown);
  // As in a node: a SQLite journal with the durability asked for.
  scratch_dir dir;
  persistence::durability d = persistence::durability::full;
  persistence::from_string(args.durability, d);
  auto j = persistence::journal::open((dir.path / "journal.db").string(), {d});
  if (!j) {
    std::cerr << "locks: cannot open the journal\n";
    return 1;
  }
  auto journal = actors::spawn_journal_writer(
    sys, std::shared_ptr<persistence::journal>{std::move(*j)});
  // Fewer rounds: each waits for a commit.
  report("", measure(sys, journal, d == persistence::durability::full ? 2'000
                                                                      : rounds,
                     steps));
  std::cout << "locks: durability " << args.durability << "\n";
  caf::anon_send_exit(journal, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace cw::bench
