#include "actors/agent/circuit_breaker.hpp"

#include <algorithm>

namespace cw::actors {

std::string to_string(breaker_state x) {
  switch (x) {
    case breaker_state::closed:
      return "closed";
    case breaker_state::open:
      return "open";
    case breaker_state::half_open:
      return "half_open";
  }
  return "unknown";
}

circuit_breaker::circuit_breaker(breaker_config cfg) : cfg_(cfg) {
  // A threshold of 0 would open before the first failure.
  cfg_.failure_threshold = std::max(cfg_.failure_threshold, uint32_t{1});
  cfg_.half_open_trials = std::max(cfg_.half_open_trials, uint32_t{1});
}

int64_t circuit_breaker::retry_at_ms(int64_t now_ms) const noexcept {
  if (state_ != breaker_state::open)
    return now_ms;
  return opened_ms_ + cfg_.cool_down_ms;
}

breaker_admission circuit_breaker::allow(int64_t now_ms) {
  breaker_admission result;
  if (state_ == breaker_state::open) {
    if (now_ms < opened_ms_ + cfg_.cool_down_ms)
      return result;
    result.transition = move_to(breaker_state::half_open, now_ms,
                                "cool-down of "
                                  + std::to_string(cfg_.cool_down_ms)
                                  + " ms passed");
  }
  if (state_ == breaker_state::half_open) {
    if (trials_ >= cfg_.half_open_trials)
      return result;
    ++trials_;
  }
  result.allowed = true;
  return result;
}

std::optional<breaker_transition> circuit_breaker::on_success(int64_t now_ms) {
  switch (state_) {
    case breaker_state::closed:
      failures_ = 0;
      return std::nullopt;
    case breaker_state::open:
      return std::nullopt;
    case breaker_state::half_open:
      failures_ = 0;
      return move_to(breaker_state::closed, now_ms, "trial succeeded");
  }
  return std::nullopt;
}

std::optional<breaker_transition> circuit_breaker::on_failure(int64_t now_ms) {
  switch (state_) {
    case breaker_state::closed:
      if (++failures_ < cfg_.failure_threshold)
        return std::nullopt;
      return move_to(breaker_state::open, now_ms,
                     std::to_string(failures_) + " consecutive failures");
    case breaker_state::open:
      return std::nullopt;
    case breaker_state::half_open:
      ++failures_;
      return move_to(breaker_state::open, now_ms, "trial failed");
  }
  return std::nullopt;
}

void circuit_breaker::on_abandoned() noexcept {
  if (state_ == breaker_state::half_open && trials_ > 0)
    --trials_;
}

breaker_transition circuit_breaker::move_to(breaker_state to, int64_t now_ms,
                                            std::string reason) {
  breaker_transition result{state_, to, now_ms, failures_, std::move(reason)};
  state_ = to;
  trials_ = 0;
  if (to == breaker_state::open)
    opened_ms_ = now_ms;
  return result;
}

} // namespace cw::actors
