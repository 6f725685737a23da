#define CAF_SUITE actors.lock_manager
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_journal.hpp"

#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include <deque>

#include <nlohmann/json.hpp>

#include "actors/resources/lock_manager.hpp"
#include "messages/errc.hpp"

using namespace cw;
using namespace cw::actors;
using namespace std::chrono_literals;
using json = nlohmann::json;
using cw::test::fake_journal;
using cw::test::journal_data;

namespace {

lock_spec spec(std::string owner, std::string resource, int64_t timeout_ms = 0,
               int32_t priority = 0, bool exclusive = true) {
  return {std::move(owner), std::move(resource), exclusive, priority,
          timeout_ms};
}

/// What one client was answered, in order.
struct inbox {
  std::deque<caf::message> replies;
};

/// A client of the lock manager: forwards the test's requests as its own, so
/// each requester's replies land in its own inbox.
caf::behavior client(caf::event_based_actor* self, lock_actor locks,
                     std::shared_ptr<inbox> in) {
  // An error answering an asynchronous message goes to the error handler,
  // not to the behavior.
  self->set_error_handler(
    [in](caf::error& x) { in->replies.push_back(caf::make_message(x)); });
  return {
    [self, locks](lock_atom, lock_spec& x) {
      self->send(locks, lock_atom_v, std::move(x));
    },
    [self, locks](release_atom, std::string& owner, std::string& resource) {
      self->send(locks, release_atom_v, std::move(owner), std::move(resource));
    },
    [in](lock_grant& x) { in->replies.push_back(caf::make_message(x)); },
    [in](lock_holder_view& x) { in->replies.push_back(caf::make_message(x)); },
  };
}

struct requester {
  caf::actor handle;
  std::shared_ptr<inbox> in = std::make_shared<inbox>();
};

struct fixture : test::actor_fixture {
  std::shared_ptr<journal_data> jd = std::make_shared<journal_data>();
  journal_actor journal;
  lock_actor locks;
  // One client actor per requester, so tests can tell who was answered.
  requester alice;
  requester bob;

  fixture() {
    journal = sys.spawn(fake_journal, jd);
    lock_manager_config cfg;
    cfg.node_name = "node-a";
    cfg.journal = journal;
    cfg.max_name_bytes = 64;
    cfg.wall_clock = [] { return int64_t{1'800'000'000'000}; };
    locks = spawn_lock_manager(sys, std::move(cfg));
    alice = make_requester();
    bob = make_requester();
    drain();
  }

  ~fixture() {
    // A pending timer keeps the manager alive: stop it as the node does.
    self->send_exit(locks, caf::exit_reason::user_shutdown);
    drain();
  }

  requester make_requester() {
    requester r;
    r.handle = sys.spawn(client, locks, r.in);
    return r;
  }

  void acquire(requester& who, lock_spec x) {
    self->send(who.handle, lock_atom_v, std::move(x));
    drain();
  }

  /// Returns the next grant `who` got, failing the test otherwise.
  lock_grant grant(requester& who) {
    CAF_REQUIRE(!who.in->replies.empty());
    auto msg = std::move(who.in->replies.front());
    who.in->replies.pop_front();
    if (msg.match_elements<caf::error>())
      CAF_FAIL("expected a grant, got " << describe(msg.get_as<caf::error>(0)));
    CAF_REQUIRE(msg.match_elements<lock_grant>());
    return msg.get_as<lock_grant>(0);
  }

  /// Returns the next error `who` got, failing the test otherwise.
  caf::error refusal(requester& who) {
    CAF_REQUIRE(!who.in->replies.empty());
    auto msg = std::move(who.in->replies.front());
    who.in->replies.pop_front();
    CAF_REQUIRE(msg.match_elements<caf::error>());
    return msg.get_as<caf::error>(0);
  }

  /// Returns the number of timers due within 10 s: the manager's expire
  /// timers (journal requests add timeouts 30 s out).
  size_t lock_timers() {
    auto now = sched.clock().now();
    size_t n = 0;
    for (auto& entry : sched.clock().schedule())
      if (entry.first - now < std::chrono::seconds(10))
        ++n;
    return n;
  }

  static bool has_reply(requester& who) {
    return !who.in->replies.empty();
  }

  caf::expected<lock_holder_view> release(requester& who, std::string owner,
                                          std::string resource) {
    self->send(who.handle, release_atom_v, std::move(owner),
               std::move(resource));
    drain();
    CAF_REQUIRE(!who.in->replies.empty());
    auto msg = std::move(who.in->replies.front());
    who.in->replies.pop_front();
    if (msg.match_elements<caf::error>())
      return msg.get_as<caf::error>(0);
    CAF_REQUIRE(msg.match_elements<lock_holder_view>());
    return msg.get_as<lock_holder_view>(0);
  }

  lock_listing list() {
    self->send(locks, list_atom_v);
    drain();
    return reply<lock_listing>();
  }

  /// Returns the types of the events journaled so far.
  std::vector<std::string> event_types() const {
    std::vector<std::string> result;
    for (auto& ev : jd->events)
      result.push_back(ev.type);
    return result;
  }

  json payload(size_t i) const {
    return json::parse(jd->events.at(i).payload);
  }
};

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(lock_manager_tests, fixture)

CAF_TEST(a free lock is granted and journaled) {
  acquire(alice, spec("alice", "db"));
  auto g = grant(alice);
  CAF_CHECK_EQUAL(g.request, 1u);
  CAF_CHECK_EQUAL(g.owner, "alice");
  CAF_CHECK_EQUAL(g.resource, "db");
  CAF_CHECK(g.exclusive);
  CAF_CHECK_EQUAL(event_types(), strings{"lock.acquired"});
  CAF_CHECK_EQUAL(jd->events[0].entity, "lock/db");
  CAF_CHECK_EQUAL(jd->events[0].node, "node-a");
  CAF_CHECK(payload(0)["mode"] == "exclusive");
  // Shared locks go to many owners at once.
  acquire(alice, spec("alice", "src/**", 0, 0, false));
  acquire(bob, spec("bob", "src/main.cpp", 0, 0, false));
  CAF_CHECK(!grant(alice).exclusive);
  CAF_CHECK(!grant(bob).exclusive);
  auto l = list();
  CAF_CHECK_EQUAL(l.holders.size(), 3u);
  CAF_CHECK(l.waiters.empty());
}

CAF_TEST(a grant is answered only after the journal committed) {
  jd->hold = true;
  acquire(alice, spec("alice", "db"));
  CAF_CHECK_EQUAL(event_types(), strings{"lock.acquired"});
  CAF_CHECK(!has_reply(alice));
  self->send(journal, flush_atom_v);
  drain();
  CAF_CHECK_EQUAL(grant(alice).resource, "db");
}

CAF_TEST(a waiter is granted when the holder releases) {
  acquire(alice, spec("alice", "db"));
  grant(alice);
  acquire(bob, spec("bob", "db", 10'000, 3));
  CAF_CHECK(!has_reply(bob));
  auto l = list();
  CAF_REQUIRE_EQUAL(l.waiters.size(), 1u);
  CAF_CHECK_EQUAL(l.waiters[0].owner, "bob");
  CAF_CHECK_EQUAL(l.waiters[0].priority, 3);
  CAF_CHECK_EQUAL(l.waiters[0].expires_in_ms, 10'000);
  sched.clock().current_time += 250ms;
  auto released = release(alice, "alice", "db");
  CAF_REQUIRE(released);
  CAF_CHECK_EQUAL(released->owner, "alice");
  auto g = grant(bob);
  CAF_CHECK_EQUAL(g.owner, "bob");
  CAF_CHECK_EQUAL(g.request, 2u);
  CAF_CHECK_EQUAL(g.waited_ms, 250);
  CAF_CHECK_EQUAL(event_types(), (strings{"lock.acquired", "lock.released",
                                          "lock.acquired"}));
  CAF_CHECK(payload(1)["reason"] == "release");
  CAF_CHECK(payload(2)["owner"] == "bob");
  CAF_CHECK(payload(2)["waited_ms"] == 250);
}

CAF_TEST(waiters are served by priority then arrival) {
  auto carol = make_requester();
  acquire(alice, spec("alice", "db"));
  grant(alice);
  acquire(bob, spec("bob", "db", 10'000, 1));
  acquire(carol, spec("carol", "db", 10'000, 5));
  CAF_CHECK(release(alice, "alice", "db"));
  CAF_CHECK_EQUAL(grant(carol).owner, "carol");
  CAF_CHECK(!has_reply(bob));
  CAF_CHECK(release(carol, "carol", "db"));
  CAF_CHECK_EQUAL(grant(bob).owner, "bob");
}

CAF_TEST(a waiter times out on the timer) {
  acquire(alice, spec("alice", "db"));
  grant(alice);
  acquire(bob, spec("bob", "db", 1000));
  CAF_CHECK(!has_reply(bob));
  CAF_CHECK_EQUAL(lock_timers(), 1u);
  sched.clock().advance_time(999ms);
  drain();
  CAF_CHECK(!has_reply(bob));
  sched.clock().advance_time(1ms);
  drain();
  auto err = refusal(bob);
  CAF_CHECK_EQUAL(error_code(err), errc::illegal_transition);
  CAF_CHECK_EQUAL(error_message(err).rfind("timeout: ", 0), 0u);
  CAF_CHECK_EQUAL(event_types(), (strings{"lock.acquired", "lock.refused"}));
  CAF_CHECK(payload(1)["reason"] == "timeout");
  CAF_CHECK(list().waiters.empty());
  // Alice still holds the lock.
  CAF_CHECK_EQUAL(list().holders.size(), 1u);
}

CAF_TEST(one timer serves several deadlines) {
  auto carol = make_requester();
  acquire(alice, spec("alice", "db"));
  grant(alice);
  acquire(bob, spec("bob", "db", 5000));
  CAF_CHECK_EQUAL(lock_timers(), 1u);
  // An earlier deadline needs a timer of its own (timers are not cancelled).
  acquire(carol, spec("carol", "db", 2000));
  CAF_CHECK_EQUAL(lock_timers(), 2u);
  // Nothing new to time: no new timer.
  acquire(alice, spec("alice", "other"));
  grant(alice);
  CAF_CHECK_EQUAL(lock_timers(), 2u);
  sched.clock().advance_time(2000ms);
  drain();
  CAF_CHECK(!has_reply(bob));
  CAF_CHECK_EQUAL(error_message(refusal(carol)).rfind("timeout: ", 0), 0u);
  // Bob's deadline already has its timer in flight.
  CAF_CHECK_EQUAL(lock_timers(), 1u);
  CAF_CHECK(sched.trigger_timeout());
  drain();
  CAF_CHECK_EQUAL(error_message(refusal(bob)).rfind("timeout: ", 0), 0u);
  CAF_CHECK_EQUAL(lock_timers(), 0u);
}

CAF_TEST(a try-lock on a held lock is refused at once) {
  acquire(alice, spec("alice", "db"));
  grant(alice);
  acquire(bob, spec("bob", "db", 0));
  auto err = refusal(bob);
  CAF_CHECK_EQUAL(error_message(err).rfind("timeout: ", 0), 0u);
  CAF_CHECK_EQUAL(event_types(), (strings{"lock.acquired", "lock.refused"}));
  CAF_CHECK_EQUAL(lock_timers(), 0u);
}

CAF_TEST(a deadlock refuses the lowest priority waiter in the cycle) {
  acquire(alice, spec("alice", "a"));
  acquire(bob, spec("bob", "b"));
  grant(alice);
  grant(bob);
  // Alice waits for b at priority 0; bob then waits for a at priority 5:
  // the cycle is broken by refusing alice's waiting request, not bob's new one.
  acquire(alice, spec("alice", "b", 60'000, 0));
  CAF_CHECK(!has_reply(alice));
  acquire(bob, spec("bob", "a", 60'000, 5));
  auto err = refusal(alice);
  CAF_CHECK_EQUAL(error_code(err), errc::illegal_transition);
  auto msg = error_message(err);
  CAF_CHECK_EQUAL(msg.rfind("deadlock: ", 0), 0u);
  CAF_CHECK(msg.find("alice waits for b") != std::string::npos);
  CAF_CHECK(msg.find("bob waits for a") != std::string::npos);
  CAF_CHECK(!has_reply(bob));
  CAF_CHECK_EQUAL(event_types(),
                  (strings{"lock.acquired", "lock.acquired", "lock.deadlock",
                           "lock.refused"}));
  auto dl = payload(2);
  CAF_CHECK_EQUAL(dl["cycle"].size(), 2u);
  CAF_CHECK(dl["victim"]["owner"] == "alice");
  CAF_CHECK(dl["victim"]["resource"] == "b");
  CAF_CHECK(dl["message"] == msg);
  CAF_CHECK(payload(3)["reason"] == "deadlock");
  // Alice gives up a; bob, still waiting, gets it.
  CAF_CHECK(release(alice, "alice", "a"));
  CAF_CHECK_EQUAL(grant(bob).resource, "a");
}

CAF_TEST(on a tie the youngest request is the deadlock victim) {
  acquire(alice, spec("alice", "a"));
  acquire(bob, spec("bob", "b"));
  grant(alice);
  grant(bob);
  acquire(alice, spec("alice", "b", 60'000));
  acquire(bob, spec("bob", "a", 60'000));
  auto err = refusal(bob);
  CAF_CHECK_EQUAL(error_message(err).rfind("deadlock: ", 0), 0u);
  CAF_CHECK(!has_reply(alice));
  CAF_CHECK(release(bob, "bob", "b"));
  CAF_CHECK_EQUAL(grant(alice).resource, "b");
}

CAF_TEST(bad requests are refused and change nothing) {
  acquire(alice, spec("alice", "db"));
  grant(alice);
  auto events = jd->events.size();
  // Releasing a lock one does not hold.
  auto r = release(bob, "bob", "db");
  CAF_REQUIRE(!r);
  CAF_CHECK_EQUAL(error_code(r.error()), errc::illegal_transition);
  CAF_CHECK(error_message(r.error()).find("does not hold db")
            != std::string::npos);
  r = release(alice, "alice", "nothing");
  CAF_CHECK(!r);
  // Empty and oversized names, bad timeouts.
  acquire(bob, spec("", "db"));
  CAF_CHECK_EQUAL(error_message(refusal(bob)), "owner: must not be empty");
  acquire(bob, spec("bob", std::string(65, 'x')));
  auto err = refusal(bob);
  CAF_CHECK_EQUAL(error_code(err), errc::invalid_argument);
  CAF_CHECK_EQUAL(error_message(err).rfind("resource: ", 0), 0u);
  acquire(bob, spec("bob", "db", -1));
  CAF_CHECK_EQUAL(error_message(refusal(bob)).rfind("timeout_ms: ", 0), 0u);
  acquire(bob, spec("bob", "db", max_lock_wait_ms + 1));
  CAF_CHECK_EQUAL(error_code(refusal(bob)), errc::invalid_argument);
  CAF_CHECK_EQUAL(jd->events.size(), events);
  auto l = list();
  CAF_REQUIRE_EQUAL(l.holders.size(), 1u);
  CAF_CHECK_EQUAL(l.holders[0].owner, "alice");
  CAF_CHECK(l.waiters.empty());
}

CAF_TEST(release all frees locks withdraws waits and grants others) {
  auto carol = make_requester();
  acquire(alice, spec("alice", "a"));
  acquire(alice, spec("alice", "b", 0, 0, false));
  acquire(bob, spec("bob", "c"));
  grant(alice);
  grant(alice);
  grant(bob);
  acquire(alice, spec("alice", "c", 60'000)); // waits for bob
  acquire(carol, spec("carol", "a", 60'000)); // waits for alice
  self->send(locks, release_atom_v, std::string{"alice"});
  drain();
  auto gone = reply<lock_listing>();
  CAF_CHECK_EQUAL(gone.holders.size(), 2u);
  CAF_REQUIRE_EQUAL(gone.waiters.size(), 1u);
  CAF_CHECK_EQUAL(gone.waiters[0].resource, "c");
  auto err = refusal(alice);
  CAF_CHECK_EQUAL(error_message(err).rfind("cancelled: ", 0), 0u);
  CAF_CHECK_EQUAL(grant(carol).resource, "a");
  CAF_CHECK_EQUAL(event_types(),
                  (strings{"lock.acquired", "lock.acquired", "lock.acquired",
                           "lock.released", "lock.released", "lock.refused",
                           "lock.acquired"}));
  CAF_CHECK(payload(3)["reason"] == "release_all");
  CAF_CHECK(payload(5)["reason"] == "cancelled");
  // An owner with nothing is fine.
  self->send(locks, release_atom_v, std::string{"nobody"});
  drain();
  CAF_CHECK(reply<lock_listing>().holders.empty());
}

CAF_TEST(a journal that stops answering stops the manager) {
  // Appends carry no request timeout; the manager's own timer watches the
  // oldest one and gives up after 30 s.
  jd->hold = true;
  self->monitor(locks);
  acquire(alice, spec("alice", "db"));
  CAF_CHECK(!has_reply(alice));
  auto got_down = [this] {
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return down;
  };
  sched.clock().advance_time(29s);
  drain();
  CAF_CHECK(!got_down());
  sched.clock().advance_time(2s);
  drain();
  CAF_CHECK(got_down());
  jd->hold = false;
  self->send(journal, flush_atom_v);
  drain();
}

CAF_TEST(a journal that answers in time keeps the manager running) {
  jd->hold = true;
  self->monitor(locks);
  acquire(alice, spec("alice", "db"));
  sched.clock().advance_time(20s);
  drain();
  self->send(journal, flush_atom_v);
  drain();
  CAF_CHECK_EQUAL(grant(alice).resource, "db");
  // A second append 20 s later: the timer armed for the first one must not
  // count from the first append.
  acquire(bob, spec("bob", "cache"));
  sched.clock().advance_time(20s);
  drain();
  self->send(journal, flush_atom_v);
  drain();
  CAF_CHECK_EQUAL(grant(bob).resource, "cache");
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; },
                caf::after(std::chrono::seconds(0)) >> [] {});
  CAF_CHECK(!down);
}

CAF_TEST_FIXTURE_SCOPE_END()
