#pragma once

#include <cstdint>

#include "messages/task.hpp"

namespace cw::actors {

/// Returns the delay before the attempt after `failed` failed attempts
/// (1 for the first failure): `base * factor^(failed-1)`, capped at
/// `max_delay_ms`, then spread by the jitter using `unit` (a number in
/// [0, 1) from the caller's random source; 0.5 means no spread).
int64_t retry_delay_ms(const retry_policy& policy, uint32_t failed, double unit);

/// Returns whether a task that used `attempts` may try again under `policy`.
bool may_retry(const retry_policy& policy, uint32_t attempts);

} // namespace cw::actors
