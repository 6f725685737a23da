#define CAF_SUITE actors.session_table
#include "caf/test/unit_test.hpp"

#include "actors/session/session_table.hpp"
#include "messages/errc.hpp"

using namespace cw;
using namespace cw::actors;

namespace {

constexpr int64_t minute = 60'000;

session_config test_config() {
  session_config cfg;
  cfg.idle_timeout_ms = 10 * minute;
  cfg.binding_timeout_ms = 30 * minute;
  cfg.default_pool_limit = 2;
  return cfg;
}

struct fixture {
  session_table t{test_config()};

  session_id make_session(int64_t now_ms = 0) {
    auto id = t.create("claude", "default", now_ms);
    CAF_REQUIRE(id);
    return *id;
  }

  session_state state(session_id id) {
    auto s = t.find(id);
    CAF_REQUIRE(s != nullptr);
    return s->state;
  }

  /// Checks that `res` failed with `illegal_transition` and `message`.
  void check_refused(const caf::expected<void>& res,
                     const std::string& message) {
    CAF_REQUIRE(!res);
    CAF_CHECK(error_code(res.error()) == errc::illegal_transition);
    CAF_CHECK_EQUAL(error_message(res.error()), message);
  }

  allocation alloc(task_id task, std::optional<std::string> key,
                   int64_t now_ms, const std::string& provider = "claude") {
    return t.allocate(task, provider, "default", key, now_ms);
  }
};

std::vector<std::string> names(const std::vector<session_command>& cmds) {
  std::vector<std::string> result;
  for (auto c : cmds)
    result.push_back(to_string(c));
  return result;
}

using strings = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(session_table_tests, fixture)

// -- state machine ------------------------------------------------------------

CAF_TEST(a new session is idle and allows assign pause and close) {
  auto id = make_session(5);
  CAF_CHECK(state(id) == session_state::idle);
  CAF_CHECK_EQUAL(t.find(id)->created_ms, 5);
  CAF_CHECK_EQUAL(names(t.allowed(id)), (strings{"assign", "pause", "close"}));
}

CAF_TEST(legal transitions walk the whole life cycle) {
  auto id = make_session();
  CAF_REQUIRE(t.assign(id, 7, 1));
  CAF_CHECK(state(id) == session_state::busy);
  CAF_CHECK(t.find(id)->current_task == task_id{7});
  CAF_CHECK_EQUAL(names(t.allowed(id)), (strings{"release", "pause"}));
  CAF_REQUIRE(t.release(id, 2));
  CAF_CHECK(state(id) == session_state::idle);
  CAF_CHECK(!t.find(id)->current_task);
  CAF_REQUIRE(t.pause(id));
  CAF_CHECK(state(id) == session_state::paused);
  CAF_CHECK_EQUAL(names(t.allowed(id)), (strings{"resume", "close"}));
  CAF_REQUIRE(t.resume(id, 3));
  CAF_CHECK(state(id) == session_state::idle);
  CAF_REQUIRE(t.close(id));
  CAF_CHECK(state(id) == session_state::closed);
  CAF_CHECK(t.allowed(id).empty());
  CAF_CHECK_EQUAL(t.find(id)->tasks, (std::vector<task_id>{7}));
}

CAF_TEST(pausing a busy session lets its task finish but takes no new one) {
  auto id = make_session();
  CAF_REQUIRE(t.assign(id, 1, 0));
  CAF_REQUIRE(t.pause(id));
  CAF_CHECK(state(id) == session_state::paused);
  CAF_CHECK_EQUAL(names(t.allowed(id)), (strings{"release", "resume"}));
  check_refused(t.close(id), "cannot close session 1: it is paused with a "
                             "running task; allowed: release, resume");
  // Resuming while the task runs goes back to busy.
  CAF_REQUIRE(t.resume(id, 1));
  CAF_CHECK(state(id) == session_state::busy);
  CAF_REQUIRE(t.pause(id));
  CAF_REQUIRE(t.release(id, 2));
  CAF_CHECK(state(id) == session_state::paused);
  CAF_CHECK(!t.find(id)->current_task);
  CAF_CHECK_EQUAL(names(t.allowed(id)), (strings{"resume", "close"}));
}

CAF_TEST(illegal transitions name the allowed commands) {
  auto id = make_session();
  check_refused(t.release(id, 0),
                "cannot release session 1: it is idle; allowed: assign, "
                "pause, close");
  check_refused(t.resume(id, 0), "cannot resume session 1: it is idle; "
                                 "allowed: assign, pause, close");
  CAF_REQUIRE(t.assign(id, 1, 0));
  check_refused(t.assign(id, 2, 0), "cannot assign session 1: it is busy; "
                                    "allowed: release, pause");
  check_refused(t.close(id), "cannot close session 1: it is busy; allowed: "
                             "release, pause");
  check_refused(t.resume(id, 0), "cannot resume session 1: it is busy; "
                                 "allowed: release, pause");
  CAF_REQUIRE(t.release(id, 0));
  CAF_REQUIRE(t.pause(id));
  check_refused(t.pause(id), "cannot pause session 1: it is paused; allowed: "
                             "resume, close");
  check_refused(t.assign(id, 3, 0), "cannot assign session 1: it is paused; "
                                    "allowed: resume, close");
  check_refused(t.release(id, 0), "cannot release session 1: it is paused; "
                                  "allowed: resume, close");
  CAF_REQUIRE(t.close(id));
  for (auto res : {t.assign(id, 4, 0), t.release(id, 0), t.pause(id),
                   t.resume(id, 0), t.close(id)})
    CAF_CHECK(error_code(res.error()) == errc::illegal_transition);
  check_refused(t.close(id),
                "cannot close session 1: it is closed; allowed: none");
  // The refused commands left the session alone.
  CAF_CHECK(state(id) == session_state::closed);
  CAF_CHECK_EQUAL(t.find(id)->tasks, (std::vector<task_id>{1}));
}

CAF_TEST(commands on unknown sessions are invalid arguments) {
  auto res = t.pause(42);
  CAF_REQUIRE(!res);
  CAF_CHECK(error_code(res.error()) == errc::invalid_argument);
  CAF_CHECK_EQUAL(error_message(res.error()), "no session 42");
  CAF_CHECK(!t.record(42, "x", 1, 0.1));
  CAF_CHECK(t.allowed(42).empty());
}

CAF_TEST(create refuses a full pool) {
  make_session();
  make_session();
  auto third = t.create("claude", "default", 0);
  CAF_REQUIRE(!third);
  CAF_CHECK(error_code(third.error()) == errc::illegal_transition);
  CAF_CHECK_EQUAL(error_message(third.error()),
                  "cannot create a session in pool 'default': it has 2 open "
                  "sessions of 2 allowed");
  // Closed sessions free their place; other pools have their own limit.
  CAF_REQUIRE(t.close(1));
  CAF_CHECK(t.create("claude", "default", 0));
  t.set_pool_limit("big", 5);
  CAF_CHECK_EQUAL(t.pool_limit("big"), 5u);
  CAF_CHECK(t.create("claude", "big", 0));
  CAF_CHECK_EQUAL(t.open_in_pool("default"), 2u);
  CAF_CHECK_EQUAL(t.open_in_pool("big"), 1u);
}

CAF_TEST(record adds turns and cost and learns the cli session id) {
  auto id = make_session();
  CAF_REQUIRE(t.record(id, "", 2, 0.25));
  CAF_CHECK_EQUAL(t.find(id)->cli_session_id, "");
  CAF_REQUIRE(t.record(id, "9f3c2a1e", 3, 0.5));
  CAF_REQUIRE(t.record(id, "", 1, 0.25));
  auto s = t.find(id);
  CAF_CHECK_EQUAL(s->cli_session_id, "9f3c2a1e");
  CAF_CHECK_EQUAL(s->turns, 6u);
  CAF_CHECK_EQUAL(s->cost_usd, 1.0);
}

// -- three-tier allocation ----------------------------------------------------

CAF_TEST(tier three creates a session and binds the key) {
  auto a = alloc(1, "feature-x", 0);
  CAF_CHECK(a.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(a.session, 1u);
  CAF_CHECK(a.reason.empty());
  CAF_CHECK(state(1) == session_state::busy);
  CAF_CHECK(t.bound("feature-x", 0) == session_id{1});
  CAF_CHECK_EQUAL(t.find(1)->resume_key, "feature-x");
}

CAF_TEST(tier one returns to the session bound to the key) {
  alloc(1, "feature-x", 0);
  alloc(2, std::nullopt, 0);
  CAF_REQUIRE(t.release(1, 5 * minute));
  CAF_REQUIRE(t.release(2, 6 * minute));
  // Session 2 is the most recently active idle one, but the key wins.
  auto a = alloc(3, "feature-x", 7 * minute);
  CAF_CHECK(a.tier == allocation_tier::by_key);
  CAF_CHECK_EQUAL(a.session, 1u);
  CAF_CHECK_EQUAL(t.find(1)->tasks, (std::vector<task_id>{1, 3}));
}

CAF_TEST(a task waits for its busy keyed session) {
  alloc(1, "feature-x", 0);
  auto a = alloc(2, "feature-x", 1);
  CAF_CHECK(a.is_wait());
  CAF_CHECK_EQUAL(a.session, 0u);
  CAF_CHECK_EQUAL(a.reason, "session 1 for key 'feature-x' is busy");
  CAF_CHECK_EQUAL(t.size(), 1u);
}

CAF_TEST(tier two reuses the most recently active idle session) {
  alloc(1, std::nullopt, 0);
  alloc(2, std::nullopt, 0);
  CAF_REQUIRE(t.release(2, 1 * minute));
  CAF_REQUIRE(t.release(1, 2 * minute));
  auto a = alloc(3, std::nullopt, 3 * minute);
  CAF_CHECK(a.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(a.session, 1u);
  // A new key also binds to a reused session.
  auto b = alloc(4, "feature-y", 3 * minute);
  CAF_CHECK(b.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(b.session, 2u);
  CAF_CHECK(t.bound("feature-y", 3 * minute) == session_id{2});
}

CAF_TEST(a session kept for a parked task goes to that task and no other) {
  alloc(1, "feature-x", 0);
  CAF_REQUIRE(t.release(1, 1 * minute));
  // Task 1 was parked by a usage limit: its session waits for it.
  t.keep(1, 1);
  CAF_CHECK_EQUAL(t.kept_for(1), 1u);
  // Not tier two for another task (a new session instead), not tier one
  // for its key (the task waits), not closed for idling.
  auto other = alloc(2, std::nullopt, 2 * minute);
  CAF_CHECK(other.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(other.session, 2u);
  auto same_key = alloc(3, "feature-x", 2 * minute);
  CAF_CHECK(same_key.is_wait());
  CAF_CHECK_EQUAL(same_key.reason,
                  "session 1 for key 'feature-x' is kept for parked task 1");
  CAF_CHECK(t.idle_expired(60 * minute).empty());
  CAF_CHECK(!t.next_idle_deadline());
  // The parked task continues in it, and then it is an ordinary session.
  auto own = alloc(1, std::nullopt, 3 * minute);
  CAF_CHECK(own.tier == allocation_tier::own);
  CAF_CHECK_EQUAL(own.session, 1u);
  CAF_CHECK_EQUAL(t.kept_for(1), 0u);
  CAF_CHECK_EQUAL(t.find(1)->tasks, (std::vector<task_id>{1}));
}

CAF_TEST(tier two matches provider and pool) {
  alloc(1, std::nullopt, 0);
  CAF_REQUIRE(t.release(1, 0));
  auto a = alloc(2, std::nullopt, 1, "codex");
  CAF_CHECK(a.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(a.session, 2u);
  CAF_CHECK_EQUAL(t.find(2)->provider, "codex");
  t.set_pool_limit("other", 1);
  auto b = t.allocate(3, "claude", "other", std::nullopt, 2);
  CAF_CHECK(b.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(t.find(b.session)->pool, "other");
}

CAF_TEST(sessions resume only in the workspace of their conversation) {
  t.allocate(1, "claude", "default", "bug-1", 0, "/src/a");
  CAF_REQUIRE(t.release(1, 1));
  CAF_CHECK_EQUAL(t.find(1)->workspace, "/src/a");
  // Another directory: neither the key's session nor the idle one; the key
  // moves to a new session there.
  auto b = t.allocate(2, "claude", "default", "bug-1", 2, "/src/b");
  CAF_CHECK(b.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(t.find(b.session)->workspace, "/src/b");
  CAF_REQUIRE(t.release(b.session, 3));
  // Back in the first directory, an idle session of that directory is taken.
  auto c = t.allocate(3, "claude", "default", std::nullopt, 4, "/src/a");
  CAF_CHECK(c.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(c.session, 1u);
}

CAF_TEST(tier two prefers sessions no other key holds) {
  alloc(1, "feature-x", 0);
  alloc(2, std::nullopt, 0);
  // Session 1 is more recent, but held for feature-x.
  CAF_REQUIRE(t.release(2, 1 * minute));
  CAF_REQUIRE(t.release(1, 2 * minute));
  auto a = alloc(3, std::nullopt, 3 * minute);
  CAF_CHECK_EQUAL(a.session, 2u);
  // With nothing else idle, the held one is taken and its key moves away.
  auto b = alloc(4, "feature-z", 3 * minute);
  CAF_CHECK(b.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(b.session, 1u);
  CAF_CHECK(!t.bound("feature-x", 3 * minute));
  CAF_CHECK(t.bound("feature-z", 3 * minute) == session_id{1});
}

CAF_TEST(a full pool makes the task wait) {
  alloc(1, std::nullopt, 0);
  alloc(2, std::nullopt, 0);
  auto a = alloc(3, "feature-x", 0);
  CAF_CHECK(a.is_wait());
  CAF_CHECK_EQUAL(to_string(a.tier), "wait");
  CAF_CHECK_EQUAL(a.reason, "pool 'default' has all 2 sessions open and none "
                            "idle for provider 'claude'");
  CAF_CHECK(!t.bound("feature-x", 0));
  // Once a task finishes, the waiting one gets that session.
  CAF_REQUIRE(t.release(2, 1));
  auto b = alloc(3, "feature-x", 2);
  CAF_CHECK(b.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(b.session, 2u);
}

CAF_TEST(a new session request skips the key and idle sessions) {
  alloc(1, "feature-x", 0);
  CAF_REQUIRE(t.release(1, 1));
  // Tier 1 would take session 1; the request wants a new conversation, and
  // the key moves to it.
  auto a = t.allocate(2, "claude", "default", "feature-x", 2, {}, true);
  CAF_CHECK(a.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(a.session, 2u);
  CAF_CHECK_EQUAL(a.evict, 0u);
  CAF_CHECK(t.bound("feature-x", 2) == session_id{2});
  CAF_CHECK(t.find(1)->resume_key.empty());
  CAF_CHECK(state(1) == session_state::idle);
  // The next task of the key continues the new conversation.
  CAF_REQUIRE(t.release(2, 3));
  auto b = alloc(3, "feature-x", 4);
  CAF_CHECK(b.tier == allocation_tier::by_key);
  CAF_CHECK_EQUAL(b.session, 2u);
}

CAF_TEST(a new session in a full pool closes the oldest idle one no key holds) {
  alloc(1, std::nullopt, 0);
  alloc(2, "feature-x", 0);
  // Session 2 is the least recently active, but feature-x holds it.
  CAF_REQUIRE(t.release(2, 1 * minute));
  CAF_REQUIRE(t.release(1, 2 * minute));
  auto plan = t.plan("claude", "default", "feature-y", 3 * minute, {}, true);
  CAF_CHECK(plan.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(plan.session, 3u);
  CAF_CHECK_EQUAL(plan.evict, 1u);
  CAF_CHECK(state(1) == session_state::idle); // a plan changes nothing
  auto a = t.allocate(3, "claude", "default", "feature-y", 3 * minute, {}, true);
  CAF_CHECK_EQUAL(a.session, 3u);
  CAF_CHECK_EQUAL(a.evict, 1u);
  CAF_CHECK(state(1) == session_state::closed);
  CAF_CHECK(state(3) == session_state::busy);
  CAF_CHECK(t.bound("feature-x", 3 * minute) == session_id{2});
  // Only a held session idle: it goes, and its key with it.
  auto b = t.allocate(4, "claude", "default", std::nullopt, 5 * minute, {}, true);
  CAF_CHECK_EQUAL(b.evict, 2u);
  CAF_CHECK(!t.bound("feature-x", 5 * minute));
  // Nothing idle: the request waits like any other.
  auto c = t.allocate(5, "claude", "default", std::nullopt, 6 * minute, {}, true);
  CAF_CHECK(c.is_wait());
  CAF_CHECK_EQUAL(c.reason, "pool 'default' has all 2 sessions open and none "
                            "idle for provider 'claude'");
}

CAF_TEST(paused sessions take no new tasks) {
  alloc(1, "feature-x", 0);
  CAF_REQUIRE(t.release(1, 0));
  CAF_REQUIRE(t.pause(1));
  // Neither by key nor as an idle session: a new one is made and the key
  // moves to it.
  auto a = alloc(2, "feature-x", 1);
  CAF_CHECK(a.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(a.session, 2u);
  CAF_CHECK(t.bound("feature-x", 1) == session_id{2});
  CAF_CHECK_EQUAL(t.find(1)->resume_key, "");
  // With the pool full and the only other session paused, tasks wait.
  CAF_REQUIRE(t.release(2, 2));
  CAF_REQUIRE(t.pause(2));
  auto b = alloc(3, std::nullopt, 3);
  CAF_CHECK(b.is_wait());
  CAF_REQUIRE(t.resume(1, 4));
  auto c = alloc(3, std::nullopt, 5);
  CAF_CHECK(c.tier == allocation_tier::idle);
  CAF_CHECK_EQUAL(c.session, 1u);
}

// -- expiry -------------------------------------------------------------------

CAF_TEST(idle sessions past the timeout are closed) {
  alloc(1, std::nullopt, 0);
  alloc(2, "feature-x", 0);
  CAF_REQUIRE(t.release(1, 1 * minute));
  CAF_REQUIRE(t.release(2, 5 * minute));
  CAF_CHECK(t.expire(11 * minute).closed.empty());
  auto e = t.expire(11 * minute + 1);
  CAF_CHECK_EQUAL(e.closed, (std::vector<session_id>{1}));
  CAF_CHECK(e.unbound_keys.empty());
  CAF_CHECK(state(1) == session_state::closed);
  CAF_CHECK(state(2) == session_state::idle);
  e = t.expire(15 * minute + 1);
  CAF_CHECK_EQUAL(e.closed, (std::vector<session_id>{2}));
  CAF_CHECK_EQUAL(e.unbound_keys, (strings{"feature-x"}));
  CAF_CHECK(!t.bound("feature-x", 15 * minute + 1));
  // Expiry is idempotent.
  CAF_CHECK(t.expire(60 * minute).closed.empty());
}

CAF_TEST(busy and paused sessions do not expire) {
  alloc(1, std::nullopt, 0);
  alloc(2, std::nullopt, 0);
  CAF_REQUIRE(t.release(2, 0));
  CAF_REQUIRE(t.pause(2));
  auto e = t.expire(600 * minute);
  CAF_CHECK(e.closed.empty());
  CAF_CHECK(state(1) == session_state::busy);
  CAF_CHECK(state(2) == session_state::paused);
  // A resumed session's idle time starts at the resume.
  CAF_REQUIRE(t.resume(2, 600 * minute));
  CAF_CHECK(t.expire(605 * minute).closed.empty());
  CAF_CHECK_EQUAL(t.expire(611 * minute).closed, (std::vector<session_id>{2}));
}

CAF_TEST(key bindings lapse after the binding timeout) {
  session_config cfg = test_config();
  cfg.idle_timeout_ms = 120 * minute;
  session_table long_idle{cfg};
  long_idle.allocate(1, "claude", "default", "feature-x", 0);
  CAF_REQUIRE(long_idle.release(1, 10 * minute));
  CAF_CHECK(long_idle.bound("feature-x", 40 * minute) == session_id{1});
  CAF_CHECK(!long_idle.bound("feature-x", 40 * minute + 1));
  // A lapsed binding does not route: the task gets an idle session by tier
  // two (here the same one) and binds the key afresh.
  auto a = long_idle.allocate(2, "claude", "default", "feature-x",
                              41 * minute);
  CAF_CHECK(a.tier == allocation_tier::idle);
  CAF_REQUIRE(long_idle.release(1, 42 * minute));
  auto e = long_idle.expire(72 * minute + 1);
  CAF_CHECK_EQUAL(e.unbound_keys, (strings{"feature-x"}));
  CAF_CHECK(e.closed.empty());
  CAF_CHECK_EQUAL(long_idle.find(1)->resume_key, "");
  CAF_CHECK(long_idle.find(1)->state == session_state::idle);
}

CAF_TEST(a binding does not lapse while its task runs) {
  alloc(1, "feature-x", 0);
  CAF_CHECK(t.expire(300 * minute).unbound_keys.empty());
  CAF_CHECK(t.bound("feature-x", 300 * minute) == session_id{1});
  // The timeout counts from the task's end.
  CAF_REQUIRE(t.release(1, 300 * minute));
  CAF_CHECK(t.bound("feature-x", 330 * minute) == session_id{1});
  auto a = alloc(2, "feature-x", 305 * minute);
  CAF_CHECK(a.tier == allocation_tier::by_key);
}

CAF_TEST(a closed session releases its key) {
  alloc(1, "feature-x", 0);
  CAF_REQUIRE(t.release(1, 0));
  CAF_REQUIRE(t.close(1));
  CAF_CHECK(!t.bound("feature-x", 0));
  auto a = alloc(2, "feature-x", 1);
  CAF_CHECK(a.tier == allocation_tier::fresh);
  CAF_CHECK_EQUAL(a.session, 2u);
}

CAF_TEST(enum names) {
  CAF_CHECK_EQUAL(to_string(session_state::idle), "idle");
  CAF_CHECK_EQUAL(to_string(session_state::busy), "busy");
  CAF_CHECK_EQUAL(to_string(session_state::paused), "paused");
  CAF_CHECK_EQUAL(to_string(session_state::closed), "closed");
  CAF_CHECK_EQUAL(to_string(allocation_tier::by_key), "by_key");
  CAF_CHECK_EQUAL(to_string(allocation_tier::idle), "idle");
  CAF_CHECK_EQUAL(to_string(allocation_tier::fresh), "fresh");
  CAF_CHECK_EQUAL(to_string(session_command::close), "close");
}

CAF_TEST_FIXTURE_SCOPE_END()
