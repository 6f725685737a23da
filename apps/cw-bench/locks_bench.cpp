#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>

#include "actors/resources/lock_table.hpp"
#include "apps/cw-bench/bench.hpp"

namespace cw::bench {

namespace {

using clock_type = std::chrono::steady_clock;
using actors::acquire_status;
using actors::lock_mode;
using actors::lock_request;
using actors::lock_table;

double ms_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - start)
    .count();
}

/// Returns the 99th percentile of `xs` (nearest rank).
double p99(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = static_cast<double>(xs.size());
  auto rank = static_cast<size_t>(std::ceil(0.99 * n));
  return xs[std::max<size_t>(rank, 1) - 1];
}

/// p99 of acquire + release by one owner on free resources, in µs, with
/// `background` other locks held.
double uncontended_p99_us(size_t rounds, size_t background) {
  lock_table t;
  for (size_t i = 0; i < background; ++i)
    t.acquire({"other:" + std::to_string(i % 64), "held/" + std::to_string(i),
               lock_mode::shared},
              0);
  std::vector<std::string> names;
  for (size_t i = 0; i < 1000; ++i)
    names.push_back("src/file-" + std::to_string(i) + ".cpp");
  std::vector<double> us;
  us.reserve(rounds);
  std::string owner = "task:1";
  for (size_t i = 0; i < rounds; ++i) {
    auto& name = names[i % names.size()];
    auto start = clock_type::now();
    auto granted = t.acquire({owner, name, lock_mode::exclusive}, 0);
    auto released = t.release(owner, name);
    us.push_back(ms_since(start) * 1000);
    if (!granted || granted->status != acquire_status::granted || !released) {
      std::cerr << "locks-pure: uncontended acquire was not granted\n";
      return -1;
    }
  }
  return p99(std::move(us));
}

/// A simulated owner of the contended run: holds up to two locks, waits for
/// at most one, and gives up all it holds when refused or timed out.
struct sim_owner {
  std::string name;
  size_t held = 0;
  bool waiting = false;
};

struct contended_run {
  std::vector<double> grant_ms;
  size_t deadlocks = 0;
  size_t timeouts = 0;
};

/// 64 owners contend for 1,000 resources (skewed towards a hot few, one
/// request in four exclusive); records, per grant, the time of the call that
/// made it.
contended_run run_contended(size_t steps) {
  constexpr size_t owners_n = 64;
  constexpr size_t resources_n = 1000;
  lock_table t;
  std::vector<sim_owner> owners(owners_n);
  for (size_t i = 0; i < owners_n; ++i)
    owners[i].name = "task:" + std::to_string(i);
  std::vector<std::string> names;
  for (size_t i = 0; i < resources_n; ++i)
    names.push_back("res/" + std::to_string(i));
  std::mt19937_64 rng{42};
  std::uniform_real_distribution<double> unit{0, 1};
  contended_run run;
  int64_t now = 0;
  std::vector<size_t> gave_up;
  auto index_of = [](const std::string& owner) {
    return static_cast<size_t>(std::stoul(owner.substr(5)));
  };
  // Applies what a call changed; owners whose wait ended badly give up.
  auto apply = [&](const actors::lock_changes& c, double ms) {
    for (auto& g : c.granted) {
      auto& o = owners[index_of(g.owner)];
      o.waiting = false;
      ++o.held;
      run.grant_ms.push_back(ms);
    }
    for (auto& d : c.deadlocks) {
      ++run.deadlocks;
      gave_up.push_back(index_of(d.victim.owner));
    }
    for (auto& x : c.timed_out) {
      ++run.timeouts;
      gave_up.push_back(index_of(x.owner));
    }
  };
  auto release_all = [&](size_t i) {
    auto start = clock_type::now();
    auto c = t.release_all(owners[i].name);
    auto ms = ms_since(start);
    owners[i].held = 0;
    owners[i].waiting = false;
    apply(*c, ms);
  };
  for (size_t step = 0; step < steps; ++step) {
    ++now;
    auto i = static_cast<size_t>(rng() % owners_n);
    auto& o = owners[i];
    if (o.waiting)
      continue;
    if (o.held >= 2) {
      release_all(i);
    } else {
      auto u = unit(rng);
      auto& name = names[static_cast<size_t>(u * u * u * resources_n)];
      auto mode = rng() % 4 == 0 ? lock_mode::exclusive : lock_mode::shared;
      lock_request req{o.name, name, mode, static_cast<int32_t>(rng() % 4),
                       now + 200};
      auto start = clock_type::now();
      auto res = t.acquire(req, now);
      auto ms = ms_since(start);
      if (res->status == acquire_status::granted) {
        ++o.held;
        run.grant_ms.push_back(ms);
      } else if (res->status == acquire_status::waiting) {
        o.waiting = true;
      } else {
        gave_up.push_back(i);
      }
      apply(res->changes, ms);
    }
    if (step % 16 == 0) {
      auto start = clock_type::now();
      auto c = t.expire(now);
      apply(c, ms_since(start));
    }
    while (!gave_up.empty()) {
      auto j = gave_up.back();
      gave_up.pop_back();
      release_all(j);
    }
  }
  return run;
}

} // namespace

int locks_pure(const bench_args&) {
  auto uncontended = uncontended_p99_us(200'000, 1000);
  if (uncontended < 0)
    return 1;
  auto run = run_contended(400'000);
  std::cout << "locks-pure: " << run.grant_ms.size() << " contended grants, "
            << run.deadlocks << " deadlocks broken, " << run.timeouts
            << " timeouts\n";
  figure("locks-pure", "uncontended_p99_us", uncontended, "us");
  figure("locks-pure", "contended_grant_p99_ms", p99(run.grant_ms), "ms");
  figure("locks-pure", "contended_grants",
         static_cast<double>(run.grant_ms.size()), "grants");
  return 0;
}

namespace {

constexpr size_t layers = 101;
constexpr size_t width = 10;

std::string layer_owner(size_t layer, size_t i) {
  return "owner:" + std::to_string(layer) + ":" + std::to_string(i);
}

std::string layer_resource(size_t layer, size_t i) {
  return "res:" + std::to_string(layer) + ":" + std::to_string(i);
}

/// Builds layers of `width` owners; each owner shares every resource of its
/// layer and waits, exclusively, for one resource of the next layer: 10
/// edges per wait, 10,000 in all, acyclic. Returns the time of each wait.
std::vector<double> build_layers(lock_table& t) {
  for (size_t k = 0; k < layers; ++k)
    for (size_t i = 0; i < width; ++i)
      for (size_t r = 0; r < width; ++r)
        t.acquire({layer_owner(k, i), layer_resource(k, r), lock_mode::shared},
                  0);
  // From the bottom up, so each wait searches everything below it.
  std::vector<double> ms;
  for (size_t k = layers - 1; k-- > 0;)
    for (size_t i = 0; i < width; ++i) {
      auto start = clock_type::now();
      t.acquire({layer_owner(k, i), layer_resource(k + 1, i),
                 lock_mode::exclusive},
                0);
      ms.push_back(ms_since(start));
    }
  return ms;
}

} // namespace

int deadlock(const bench_args&) {
  lock_table t;
  auto build_ms = build_layers(t);
  auto edges = t.graph().edge_count();
  constexpr size_t rounds = 1000;
  // A new waiter above the top layer: the search covers the whole graph and
  // finds no cycle; the request is then withdrawn.
  std::vector<double> probe_ms;
  for (size_t j = 0; j < rounds; ++j) {
    auto start = clock_type::now();
    auto res = t.acquire({"probe", layer_resource(0, j % width),
                          lock_mode::exclusive},
                         0);
    probe_ms.push_back(ms_since(start));
    if (!res || res->status != acquire_status::waiting) {
      std::cerr << "deadlock: probe did not wait\n";
      return 1;
    }
    t.cancel(res->ticket.id);
  }
  // The bottom layer asks for a resource of the top one: a 101-owner cycle,
  // broken by refusing the request (youngest at equal priority).
  std::vector<double> cycle_ms;
  for (size_t j = 0; j < rounds; ++j) {
    auto start = clock_type::now();
    auto res = t.acquire({layer_owner(layers - 1, j % width),
                          layer_resource(0, 0), lock_mode::exclusive},
                         0);
    cycle_ms.push_back(ms_since(start));
    if (!res || res->status != acquire_status::deadlocked
        || res->changes.deadlocks.at(0).cycle.size() != layers) {
      std::cerr << "deadlock: cycle not found\n";
      return 1;
    }
  }
  // The graph search alone, on a copy.
  auto graph = t.graph();
  std::vector<double> dfs_ms;
  for (size_t j = 0; j < rounds; ++j) {
    auto start = clock_type::now();
    auto cycle = graph.find_cycle(0);
    dfs_ms.push_back(ms_since(start));
    if (!cycle.empty())
      return 1;
  }
  auto every_wait = probe_ms;
  every_wait.insert(every_wait.end(), cycle_ms.begin(), cycle_ms.end());
  std::cout << "deadlock: " << edges << " edges, " << layers * width
            << " owners\n";
  figure("deadlock", "graph_edges", static_cast<double>(edges), "edges");
  figure("deadlock", "detect_10k_edges_ms", p99(every_wait), "ms");
  figure("deadlock", "detect_cycle_10k_edges_ms", p99(cycle_ms), "ms");
  figure("deadlock", "find_cycle_10k_edges_ms", p99(dfs_ms), "ms");
  figure("deadlock", "build_wait_p99_ms", p99(build_ms), "ms");
  return 0;
}

} // namespace cw::bench
