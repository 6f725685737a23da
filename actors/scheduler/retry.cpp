#include "actors/scheduler/retry.hpp"

#include <algorithm>
#include <cmath>

namespace cw::actors {

int64_t retry_delay_ms(const retry_policy& policy, uint32_t failed,
                       double unit) {
  auto exponent = failed > 0 ? failed - 1 : 0;
  // Computed in double and capped before converting: factor^exponent grows
  // past any integer quickly.
  auto raw = static_cast<double>(policy.base_delay_ms)
             * std::pow(policy.factor, static_cast<double>(exponent));
  auto capped = std::min(raw, static_cast<double>(policy.max_delay_ms));
  auto spread = capped * policy.jitter * (2.0 * unit - 1.0);
  return std::max<int64_t>(0, std::llround(capped + spread));
}

bool may_retry(const retry_policy& policy, uint32_t attempts) {
  return attempts < std::max<uint32_t>(policy.max_attempts, 1);
}

} // namespace cw::actors
