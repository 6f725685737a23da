#define CAF_SUITE actors.lock_table
#include "caf/test/unit_test.hpp"

#include <random>
#include <set>

#include "actors/resources/lock_table.hpp"
#include "messages/errc.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

constexpr auto S = lock_mode::shared;
constexpr auto X = lock_mode::exclusive;

lock_request req(std::string owner, std::string resource, lock_mode mode = X,
                 int32_t priority = 0, int64_t deadline_ms = lock_forever) {
  return {std::move(owner), std::move(resource), mode, priority, deadline_ms};
}

struct fixture {
  lock_table t;

  /// Acquires and requires success; returns the result.
  acquire_result acquire(lock_request r, int64_t now_ms = 0) {
    auto res = t.acquire(r, now_ms);
    CAF_REQUIRE(res);
    return std::move(*res);
  }

  /// Acquires and returns the status name.
  std::string status(lock_request r, int64_t now_ms = 0) {
    return to_string(acquire(std::move(r), now_ms).status);
  }

  /// Releases and requires success.
  lock_changes release(const std::string& owner, const std::string& resource) {
    auto res = t.release(owner, resource);
    CAF_REQUIRE(res);
    return std::move(*res);
  }

  /// Returns "owner:resource" of each ticket.
  static std::vector<std::string> names(const std::vector<lock_ticket>& xs) {
    std::vector<std::string> result;
    for (auto& x : xs)
      result.push_back(x.owner + ":" + x.resource);
    return result;
  }

  /// Returns the owners holding `resource`.
  std::vector<std::string> holders(const std::string& resource) {
    std::vector<std::string> result;
    for (auto& entry : t.list())
      if (entry.resource == resource)
        for (auto& h : entry.holders)
          result.push_back(h.owner);
    return result;
  }

  /// Returns the owners along a deadlock cycle.
  static std::vector<std::string> cycle_owners(const deadlock& d) {
    std::vector<std::string> result;
    for (auto& step : d.cycle)
      result.push_back(step.waiter.owner);
    return result;
  }
};

using strings = std::vector<std::string>;

/// Returns why the table is inconsistent, or an empty string: two holders in
/// conflict, a waiter that nothing blocks, a graph that disagrees with the
/// conflicts, or a cycle left in it.
std::string inconsistency(const lock_table& t) {
  struct waiter {
    lock_ticket ticket;
    bool upgrade;
  };
  std::vector<lock_holding> holds;
  std::vector<waiter> waits;
  for (auto& r : t.list()) {
    holds.insert(holds.end(), r.holders.begin(), r.holders.end());
    for (auto& w : r.waiters) {
      auto is_holder = [&](auto& h) { return h.owner == w.owner; };
      waits.push_back({w, std::any_of(r.holders.begin(), r.holders.end(),
                                      is_holder)});
    }
  }
  auto conflict = [](lock_mode a, lock_mode b) { return a == X || b == X; };
  for (auto& h1 : holds)
    for (auto& h2 : holds)
      if (h1.owner != h2.owner && may_overlap(h1.resource, h2.resource)
          && conflict(h1.mode, h2.mode))
        return h1.owner + " and " + h2.owner + " hold in conflict";
  auto key = [](const waiter& w) {
    return std::tuple{w.upgrade ? 0 : 1, -w.ticket.priority, w.ticket.id};
  };
  size_t edges = 0;
  for (auto& w : waits) {
    std::set<std::string> blockers;
    auto blocks = [&](const std::string& owner, const std::string& resource,
                      lock_mode mode) {
      if (owner != w.ticket.owner && may_overlap(resource, w.ticket.resource)
          && conflict(mode, w.ticket.mode))
        blockers.insert(owner);
    };
    for (auto& h : holds)
      blocks(h.owner, h.resource, h.mode);
    for (auto& v : waits)
      if (!w.upgrade && key(v) < key(w))
        blocks(v.ticket.owner, v.ticket.resource, v.ticket.mode);
    if (blockers.empty())
      return "nothing blocks request " + std::to_string(w.ticket.id);
    edges += blockers.size();
  }
  if (edges != t.graph().edge_count())
    return "graph has " + std::to_string(t.graph().edge_count())
           + " edges, conflicts make " + std::to_string(edges);
  auto graph = t.graph();
  for (wait_for_graph::node_id n = 0; n < 64; ++n)
    if (!graph.find_cycle(n).empty())
      return "a cycle is left through node " + std::to_string(n);
  return {};
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(lock_table_tests, fixture)

// -- order of service ---------------------------------------------------------

CAF_TEST(higher priority waiters are served first) {
  CAF_CHECK_EQUAL(status(req("a", "db")), "granted");
  CAF_CHECK_EQUAL(status(req("b", "db", X, 0)), "waiting");
  CAF_CHECK_EQUAL(status(req("c", "db", X, 5)), "waiting");
  CAF_CHECK_EQUAL(status(req("d", "db", X, 1)), "waiting");
  CAF_CHECK_EQUAL(names(release("a", "db").granted), strings{"c:db"});
  CAF_CHECK_EQUAL(names(release("c", "db").granted), strings{"d:db"});
  CAF_CHECK_EQUAL(names(release("d", "db").granted), strings{"b:db"});
}

CAF_TEST(equal priority waiters are served in arrival order) {
  acquire(req("a", "db"));
  for (auto owner : {"b", "c", "d"})
    acquire(req(owner, "db"));
  CAF_CHECK_EQUAL(names(release("a", "db").granted), strings{"b:db"});
  CAF_CHECK_EQUAL(names(release("b", "db").granted), strings{"c:db"});
  CAF_CHECK_EQUAL(names(release("c", "db").granted), strings{"d:db"});
}

CAF_TEST(shared holders hold together and exclude a writer) {
  for (auto owner : {"a", "b", "c"})
    CAF_CHECK_EQUAL(status(req(owner, "db", S)), "granted");
  CAF_CHECK_EQUAL(status(req("w", "db", X)), "waiting");
  CAF_CHECK_EQUAL(holders("db"), (strings{"a", "b", "c"}));
  CAF_CHECK(release("a", "db").granted.empty());
  CAF_CHECK(release("b", "db").granted.empty());
  CAF_CHECK_EQUAL(names(release("c", "db").granted), strings{"w:db"});
}

CAF_TEST(a stream of shared requests does not starve an exclusive waiter) {
  acquire(req("r1", "db", S));
  CAF_CHECK_EQUAL(status(req("w", "db", X)), "waiting");
  // Compatible with the holder, but behind the writer: must wait.
  CAF_CHECK_EQUAL(status(req("r2", "db", S)), "waiting");
  CAF_CHECK_EQUAL(status(req("r3", "db", S)), "waiting");
  CAF_CHECK_EQUAL(names(release("r1", "db").granted), strings{"w:db"});
  CAF_CHECK_EQUAL(names(release("w", "db").granted),
                  (strings{"r2:db", "r3:db"}));
}

CAF_TEST(a higher priority shared request passes a lower exclusive waiter) {
  acquire(req("r1", "db", S));
  acquire(req("w", "db", X, 0));
  CAF_CHECK_EQUAL(status(req("r2", "db", S, 1)), "granted");
  CAF_CHECK_EQUAL(holders("db"), (strings{"r1", "r2"}));
}

// -- timeouts -----------------------------------------------------------------

CAF_TEST(waiting requests time out at their deadline) {
  acquire(req("a", "db"));
  acquire(req("b", "db", X, 0, 100), 0);
  acquire(req("c", "db", X, 0, 50), 0);
  CAF_CHECK(t.next_deadline() == int64_t{50});
  CAF_CHECK(t.expire(49).empty());
  CAF_CHECK_EQUAL(names(t.expire(50).timed_out), strings{"c:db"});
  CAF_CHECK(t.next_deadline() == int64_t{100});
  CAF_CHECK_EQUAL(names(t.expire(500).timed_out), strings{"b:db"});
  CAF_CHECK(!t.next_deadline());
  CAF_CHECK_EQUAL(t.waiting(), 0u);
  CAF_CHECK(release("a", "db").granted.empty());
}

CAF_TEST(a deadline not after now makes acquire a try lock) {
  acquire(req("a", "db"));
  CAF_CHECK_EQUAL(status(req("b", "db", X, 0, 10), 10), "timed_out");
  CAF_CHECK_EQUAL(t.waiting(), 0u);
  release("a", "db");
  CAF_CHECK_EQUAL(status(req("b", "db", X, 0, 10), 10), "granted");
}

CAF_TEST(a timed out exclusive waiter stops holding back readers) {
  acquire(req("r1", "db", S));
  acquire(req("w", "db", X, 0, 10));
  CAF_CHECK_EQUAL(status(req("r2", "db", S)), "waiting");
  auto changes = t.expire(10);
  CAF_CHECK_EQUAL(names(changes.timed_out), strings{"w:db"});
  CAF_CHECK_EQUAL(names(changes.granted), strings{"r2:db"});
}

// -- owners, re-entry and upgrades --------------------------------------------

CAF_TEST(owner death releases all its locks and grants the next) {
  acquire(req("a", "x"));
  acquire(req("a", "y"));
  acquire(req("b", "z"));
  acquire(req("a", "z"));
  acquire(req("c", "x"));
  acquire(req("d", "y", S));
  auto changes = t.release_all("a");
  CAF_REQUIRE(changes);
  CAF_CHECK_EQUAL(changes->released.size(), 2u);
  CAF_CHECK_EQUAL(names(changes->cancelled), strings{"a:z"});
  CAF_CHECK_EQUAL(names(changes->granted), (strings{"c:x", "d:y"}));
  CAF_CHECK(t.held_by("a").empty());
  CAF_CHECK_EQUAL(t.held_by("c").size(), 1u);
  CAF_CHECK(t.release_all("nobody")->empty());
}

CAF_TEST(asking again for a lock held or awaited changes nothing) {
  acquire(req("a", "x", X));
  auto again = acquire(req("a", "x", X));
  CAF_CHECK(again.status == acquire_status::granted);
  CAF_CHECK_EQUAL(again.ticket.id, 0u);
  // Exclusive covers shared.
  auto weaker = acquire(req("a", "x", S));
  CAF_CHECK(weaker.status == acquire_status::granted);
  CAF_CHECK(weaker.ticket.mode == X);
  auto first = acquire(req("b", "x", X));
  auto second = acquire(req("b", "x", X));
  CAF_CHECK(second.status == acquire_status::waiting);
  CAF_CHECK_EQUAL(second.ticket.id, first.ticket.id);
  CAF_CHECK_EQUAL(t.waiting(), 1u);
  auto other_mode = t.acquire(req("b", "x", S), 0);
  CAF_REQUIRE(!other_mode);
  CAF_CHECK(error_code(other_mode.error()) == errc::illegal_transition);
}

CAF_TEST(an upgrade waits only for the other holders) {
  acquire(req("a", "x", S));
  acquire(req("b", "x", S));
  CAF_CHECK_EQUAL(status(req("w", "x", X)), "waiting");
  // Queued behind the writer it would never run; it waits for b only.
  CAF_CHECK_EQUAL(status(req("a", "x", X)), "waiting");
  CAF_CHECK_EQUAL(names(release("b", "x").granted), strings{"a:x"});
  CAF_CHECK(t.held_by("a").at(0).mode == X);
  CAF_CHECK_EQUAL(names(release("a", "x").granted), strings{"w:x"});
}

CAF_TEST(a sole holder upgrades at once) {
  acquire(req("a", "x", S));
  acquire(req("w", "x", X));
  CAF_CHECK_EQUAL(status(req("a", "x", X)), "granted");
  CAF_CHECK(t.held_by("a").at(0).mode == X);
}

CAF_TEST(releasing a shared lock withdraws its pending upgrade) {
  acquire(req("a", "x", S));
  acquire(req("b", "x", S));
  acquire(req("a", "x", X));
  auto changes = release("a", "x");
  CAF_CHECK_EQUAL(names(changes.cancelled), strings{"a:x"});
  CAF_CHECK_EQUAL(t.waiting(), 0u);
}

CAF_TEST(a waiting request can be cancelled) {
  acquire(req("a", "db", S));
  auto w = acquire(req("w", "db", X));
  acquire(req("r", "db", S));
  auto changes = t.cancel(w.ticket.id);
  CAF_REQUIRE(changes);
  CAF_CHECK_EQUAL(names(changes->cancelled), strings{"w:db"});
  CAF_CHECK_EQUAL(names(changes->granted), strings{"r:db"});
  auto again = t.cancel(w.ticket.id);
  CAF_REQUIRE(!again);
  CAF_CHECK(error_code(again.error()) == errc::invalid_argument);
}

// -- errors -------------------------------------------------------------------

CAF_TEST(releasing a lock not held is an error naming owner and resource) {
  acquire(req("a", "db"));
  acquire(req("b", "db"));
  for (auto owner : {"b", "c"}) {
    auto res = t.release(owner, "db");
    CAF_REQUIRE(!res);
    CAF_CHECK(error_code(res.error()) == errc::illegal_transition);
    auto msg = error_message(res.error());
    CAF_CHECK(msg.find(owner) != std::string::npos);
    CAF_CHECK(msg.find("db") != std::string::npos);
  }
  CAF_CHECK(!t.release("a", "other"));
}

CAF_TEST(empty or oversized names are invalid arguments naming the field) {
  lock_table small{16};
  auto check = [&](caf::error err, const std::string& field) {
    CAF_CHECK(error_code(err) == errc::invalid_argument);
    CAF_CHECK_EQUAL(error_message(err).rfind(field + ":", 0), 0u);
  };
  check(small.acquire(req("", "db"), 0).error(), "owner");
  check(small.acquire(req("a", ""), 0).error(), "resource");
  check(small.acquire(req("a", std::string(17, 'r')), 0).error(), "resource");
  check(small.acquire(req(std::string(17, 'o'), "db"), 0).error(), "owner");
  check(small.release("a", "").error(), "resource");
  check(small.release_all("").error(), "owner");
  CAF_CHECK(small.acquire(req("a", std::string(16, 'r')), 0));
  CAF_CHECK(t.acquire(req("a", std::string(1024, 'r')), 0));
  CAF_CHECK(!t.acquire(req("a", std::string(1025, 'r')), 0));
}

// -- globs --------------------------------------------------------------------

CAF_TEST(globs follow fnmatch with globstar) {
  struct row {
    const char* pattern;
    const char* name;
    bool match;
  };
  row rows[] = {
    {"src/*.cpp", "src/a.cpp", true},  {"src/*.cpp", "src/x/a.cpp", false},
    {"src/**", "src/x/a.cpp", true},   {"src/**/*.cpp", "src/a.cpp", true},
    {"src/**/*.cpp", "src/x/y/a.cpp", true},
    {"src/**/*.cpp", "lib/a.cpp", false},
    {"?.txt", "a.txt", true},          {"?.txt", "/.txt", false},
    {"[abc].h", "b.h", true},          {"[!abc].h", "b.h", false},
    {"[^abc].h", "d.h", true},         {"[a-c]x", "cx", true},
    {"[a-c]x", "dx", false},           {"[]]", "]", true},
    {"a[", "a[", true},                {"*", "", true},
    {"*", "a/b", false},               {"**", "a/b", true},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.pattern << " vs " << r.name);
    CAF_CHECK_EQUAL(glob_match(r.pattern, r.name), r.match);
  }
  CAF_CHECK(is_glob("src/*") && is_glob("a?") && is_glob("[ab]"));
  CAF_CHECK(!is_glob("src/main.cpp") && !is_glob("branch:main"));
}

CAF_TEST(glob overlap is exact for names and conservative for globs) {
  CAF_CHECK(may_overlap("db", "db"));
  CAF_CHECK(!may_overlap("db", "dc"));
  CAF_CHECK(may_overlap("src/*", "src/a"));
  CAF_CHECK(!may_overlap("src/*", "src/a/b"));
  CAF_CHECK(!may_overlap("src/*", "lib/a"));
  CAF_CHECK(!may_overlap("src/*.cpp", "src/*.hpp"));
  CAF_CHECK(!may_overlap("src/a*", "src/b*"));
  CAF_CHECK(may_overlap("src/*", "src/**/x"));
  CAF_CHECK(may_overlap("s*", "src/*.cpp"));
}

CAF_TEST(a glob conflicts with the names it matches and no others) {
  acquire(req("a", "src/a.cpp"));
  CAF_CHECK_EQUAL(status(req("b", "src/*.cpp")), "waiting");
  CAF_CHECK_EQUAL(status(req("c", "lib/x.cpp")), "granted");
  CAF_CHECK_EQUAL(status(req("c", "src/a.hpp")), "granted");
  // Matched by the glob queued ahead of it.
  CAF_CHECK_EQUAL(status(req("d", "src/b.cpp")), "waiting");
  CAF_CHECK_EQUAL(names(release("a", "src/a.cpp").granted),
                  strings{"b:src/*.cpp"});
  CAF_CHECK_EQUAL(names(release("b", "src/*.cpp").granted),
                  strings{"d:src/b.cpp"});
}

CAF_TEST(a held glob blocks matching names and overlapping globs) {
  acquire(req("a", "docs/**", S));
  CAF_CHECK_EQUAL(status(req("b", "docs/x/y.md", X)), "waiting");
  CAF_CHECK_EQUAL(status(req("c", "docs/z.md", S)), "granted");
  CAF_CHECK_EQUAL(status(req("d", "src/*.cpp", X)), "granted");
  CAF_CHECK_EQUAL(status(req("e", "src/*.hpp", X)), "granted");
  CAF_CHECK_EQUAL(status(req("f", "src/**", S)), "waiting");
  CAF_CHECK_EQUAL(names(release("a", "docs/**").granted),
                  strings{"b:docs/x/y.md"});
}

// -- deadlocks ----------------------------------------------------------------

CAF_TEST(a two cycle refuses the lower priority waiter) {
  acquire(req("a", "x"));
  acquire(req("b", "y"));
  acquire(req("a", "y", X, 0));
  auto res = acquire(req("b", "x", X, 5));
  // The victim is a's request; b may go on waiting.
  CAF_CHECK(res.status == acquire_status::waiting);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  auto& d = res.changes.deadlocks[0];
  CAF_CHECK_EQUAL(cycle_owners(d), (strings{"b", "a"}));
  CAF_CHECK_EQUAL(d.cycle[0].waiter.resource, "x");
  CAF_CHECK_EQUAL(d.cycle[1].waiter.resource, "y");
  CAF_CHECK_EQUAL(d.victim.owner + ":" + d.victim.resource, "a:y");
  CAF_CHECK_EQUAL(t.waiting(), 1u);
  CAF_CHECK_EQUAL(t.graph().edge_count(), 1u);
  auto msg = to_string(d);
  CAF_CHECK(msg.find("b waits for x (exclusive) which a holds") == 10u);
  CAF_CHECK_EQUAL(names(t.release_all("a")->granted), strings{"b:x"});
}

CAF_TEST(on equal priority the youngest request is refused) {
  acquire(req("a", "x"));
  acquire(req("b", "y"));
  acquire(req("a", "y"));
  auto res = acquire(req("b", "x"));
  CAF_CHECK(res.status == acquire_status::deadlocked);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  CAF_CHECK_EQUAL(res.changes.deadlocks[0].victim.id, res.ticket.id);
  CAF_CHECK_EQUAL(t.waiting(), 1u);
}

CAF_TEST(ties on the lowest priority go to the youngest in the cycle) {
  acquire(req("a", "ra"));
  acquire(req("b", "rb"));
  acquire(req("c", "rc"));
  acquire(req("a", "rb", X, 1));
  auto b_waits = acquire(req("b", "rc", X, 1));
  auto res = acquire(req("c", "ra", X, 2));
  CAF_CHECK(res.status == acquire_status::waiting);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  CAF_CHECK_EQUAL(res.changes.deadlocks[0].victim.id, b_waits.ticket.id);
}

CAF_TEST(a five owner cycle is found and named in order) {
  strings owners{"o0", "o1", "o2", "o3", "o4"};
  for (auto& o : owners)
    acquire(req(o, "r" + o.substr(1)));
  for (int i = 0; i < 4; ++i)
    CAF_CHECK_EQUAL(status(req(owners[i], "r" + std::to_string(i + 1), X,
                               i == 2 ? -1 : 0)),
                    "waiting");
  auto res = acquire(req("o4", "r0"));
  CAF_CHECK(res.status == acquire_status::waiting);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  auto& d = res.changes.deadlocks[0];
  CAF_CHECK_EQUAL(cycle_owners(d), (strings{"o4", "o0", "o1", "o2", "o3"}));
  CAF_CHECK_EQUAL(d.victim.owner + ":" + d.victim.resource, "o2:r3");
  CAF_CHECK(d.cycle[4].blocker_holds);
  CAF_CHECK_EQUAL(d.cycle[4].blocker_resource, "r4");
  CAF_CHECK_EQUAL(t.waiting(), 4u);
}

CAF_TEST(two upgrades of one shared lock deadlock) {
  acquire(req("a", "x", S));
  acquire(req("b", "x", S));
  CAF_CHECK_EQUAL(status(req("a", "x", X)), "waiting");
  auto res = acquire(req("b", "x", X));
  CAF_CHECK(res.status == acquire_status::deadlocked);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  CAF_CHECK_EQUAL(cycle_owners(res.changes.deadlocks[0]), (strings{"b", "a"}));
  CAF_CHECK_EQUAL(names(release("b", "x").granted), strings{"a:x"});
}

CAF_TEST(a cycle through a queued writer is a deadlock too) {
  acquire(req("a", "x", S));
  acquire(req("b", "x", X));
  acquire(req("c", "y", X));
  acquire(req("a", "y", X));
  // Compatible with a's shared lock, but queued behind b.
  auto res = acquire(req("c", "x", S));
  CAF_CHECK(res.status == acquire_status::deadlocked);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  auto& d = res.changes.deadlocks[0];
  CAF_CHECK_EQUAL(cycle_owners(d), (strings{"c", "b", "a"}));
  CAF_CHECK(!d.cycle[0].blocker_holds);
  CAF_CHECK(d.cycle[1].blocker_holds);
}

CAF_TEST(refusing a victim grants the requests it held back) {
  acquire(req("a", "x"));
  acquire(req("b", "y", S));
  acquire(req("a", "y", X, 0));
  CAF_CHECK_EQUAL(status(req("c", "y", S, 0)), "waiting");
  auto res = acquire(req("b", "x", X, 5));
  CAF_CHECK(res.status == acquire_status::waiting);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  CAF_CHECK_EQUAL(res.changes.deadlocks[0].victim.owner, "a");
  CAF_CHECK_EQUAL(names(res.changes.granted), strings{"c:y"});
}

CAF_TEST(a grant that closes a cycle is detected too) {
  acquire(req("w", "x"));
  acquire(req("n", "x", X, 3));
  acquire(req("h", "r", S));
  acquire(req("w", "r", X, 0));
  // n passes w's lower-priority wait for r; now w waits for n, n for w.
  auto res = acquire(req("n", "r", S, 5));
  CAF_CHECK(res.status == acquire_status::granted);
  CAF_REQUIRE_EQUAL(res.changes.deadlocks.size(), 1u);
  CAF_CHECK_EQUAL(res.changes.deadlocks[0].victim.owner + ":"
                    + res.changes.deadlocks[0].victim.resource,
                  "w:r");
}

// -- listing and replay -------------------------------------------------------

CAF_TEST(the listing shows holders by name and waiters in service order) {
  acquire(req("b", "db", S));
  acquire(req("a", "db", S));
  acquire(req("w1", "db", X, 0));
  acquire(req("w2", "db", X, 9));
  auto all = t.list();
  CAF_REQUIRE_EQUAL(all.size(), 1u);
  CAF_CHECK_EQUAL(all[0].holders.size(), 2u);
  CAF_CHECK_EQUAL(all[0].holders[0].owner, "a");
  CAF_CHECK_EQUAL(names(all[0].waiters), (strings{"w2:db", "w1:db"}));
}

CAF_TEST(the same calls rebuild the same table) {
  auto script = [](lock_table& x) {
    std::vector<std::string> log;
    auto note = [&](const lock_changes& c) {
      for (auto& g : c.granted)
        log.push_back("granted " + std::to_string(g.id));
      for (auto& d : c.deadlocks)
        log.push_back(to_string(d));
    };
    for (int i = 0; i < 6; ++i) {
      auto owner = "task:" + std::to_string(i);
      note(x.acquire(req(owner, "r" + std::to_string(i % 3)), 0)->changes);
      note(x.acquire(req(owner, "src/*", S, i % 2), 0)->changes);
      note(x.acquire(req(owner, "r" + std::to_string((i + 1) % 3), X, 0, 50), 0)
             ->changes);
    }
    note(*x.release_all("task:1"));
    note(x.expire(60));
    return log;
  };
  lock_table a;
  lock_table b;
  CAF_CHECK_EQUAL(script(a), script(b));
  CAF_CHECK(a.list() == b.list());
}

CAF_TEST(random calls keep the table consistent) {
  std::mt19937 rng{7};
  auto pick = [&](auto& xs) { return xs[rng() % xs.size()]; };
  strings owners{"o0", "o1", "o2", "o3", "o4", "o5"};
  strings resources{"a", "b", "c", "src/x", "src/y", "src/*", "**", "s*/x"};
  int64_t now = 0;
  size_t deadlocks = 0;
  size_t granted = 0;
  for (int step = 0; step < 3000; ++step) {
    ++now;
    auto dice = rng() % 20;
    if (dice < 12) {
      auto deadline = rng() % 3 == 0 ? lock_forever
                                     : now + static_cast<int64_t>(rng() % 30);
      auto res = t.acquire(req(pick(owners), pick(resources),
                               rng() % 3 ? S : X,
                               static_cast<int32_t>(rng() % 3), deadline),
                           now);
      // Asking for a resource awaited in the other mode is refused.
      if (!res) {
        CAF_CHECK(error_code(res.error()) == errc::illegal_transition);
        continue;
      }
      deadlocks += res->changes.deadlocks.size();
      granted += res->changes.granted.size();
    } else if (dice < 15) {
      auto owner = pick(owners);
      auto held = t.held_by(owner);
      if (!held.empty())
        granted += release(owner, pick(held).resource).granted.size();
    } else if (dice < 16) {
      granted += t.release_all(pick(owners))->granted.size();
    } else {
      granted += t.expire(now).granted.size();
    }
    auto why = inconsistency(t);
    if (!why.empty())
      CAF_FAIL("step " << step << ": " << why);
  }
  CAF_MESSAGE(deadlocks << " deadlocks, " << granted << " grants after waits");
  CAF_CHECK_GREATER(deadlocks, 10u);
  CAF_CHECK_GREATER(granted, 100u);
}

CAF_TEST(the graph reports only cycles through the start) {
  wait_for_graph g;
  g.add_edge(1, 2, 10);
  g.add_edge(2, 1, 11);
  g.add_edge(0, 1, 12);
  CAF_CHECK(g.find_cycle(0).empty());
  auto cycle = g.find_cycle(1);
  CAF_REQUIRE_EQUAL(cycle.size(), 2u);
  CAF_CHECK(cycle[0] == (wait_for_graph::edge{1, 2, 10}));
  CAF_CHECK(!g.add_edge(1, 2, 10));
  g.remove_edges(2, 11);
  CAF_CHECK(g.find_cycle(1).empty());
  CAF_CHECK_EQUAL(g.edge_count(), 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
