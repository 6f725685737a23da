#pragma once

#include "caf/test/dsl.hpp"

#include "messages/register_types.hpp"

namespace cw::test {

/// An actor system config with every cw type registered.
struct cw_test_config : caf::actor_system_config {
  cw_test_config() {
    register_types(*this);
  }
};

/// Deterministic actor tests: one simulated scheduler, simulated time.
struct actor_fixture : test_coordinator_fixture<cw_test_config> {
  /// Runs every pending message but fires no timer: unlike `run()`, which
  /// also fires every pending timeout once the mailboxes are empty. Time
  /// moves only through `advance_time`.
  void drain() {
    sched.run();
  }

  /// Returns the next message of type `T` in the test's own mailbox; fails
  /// the test when there is none (or an error came instead).
  template <class T>
  T reply() {
    T result{};
    bool got = false;
    self->receive([&](T& x) { result = std::move(x); got = true; },
                  [&](caf::error& err) {
                    CAF_FAIL("expected a reply, got " << sys.render(err));
                  },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    CAF_REQUIRE(got);
    return result;
  }

  /// Returns the next error in the test's own mailbox; fails the test when
  /// there is none.
  caf::error error_reply() {
    caf::error result;
    self->receive([&](caf::error& x) { result = std::move(x); },
                  caf::after(std::chrono::seconds(0))
                    >> [] { CAF_FAIL("expected an error reply"); });
    return result;
  }
};

} // namespace cw::test
