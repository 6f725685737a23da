#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace cw::test {

/// A value set once by another thread; `wait` blocks at most `timeout`.
template <class T>
class waiter {
public:
  void set(T value) {
    std::lock_guard<std::mutex> guard{mtx_};
    value_ = std::move(value);
    cv_.notify_all();
  }

  std::optional<T> wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [this] { return value_.has_value(); });
    return value_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

} // namespace cw::test
