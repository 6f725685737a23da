#pragma once

#include <chrono>
#include <thread>

namespace cw::test {

/// Asks `done` again and again until it returns true or `limit` has passed;
/// returns its last answer. For state the test can only observe from outside
/// (an HTTP view, a journal row, a process table): bounded by time, not by a
/// count of calls, whose duration varies between machines and sanitizers.
template <class Predicate>
bool poll_until(Predicate done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return done();
    std::this_thread::yield();
  }
  return true;
}

} // namespace cw::test
