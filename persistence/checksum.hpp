#pragma once

#include <cstdint>

#include "messages/events.hpp"

namespace cw::persistence {

/// Returns the checksum of an event envelope: 64-bit FNV-1a over every field
/// except `checksum`, each length-prefixed so that moving bytes between fields
/// changes the result.
uint64_t checksum(const event& x);

/// Returns the checksum of a snapshot: the same scheme over seq, time,
/// kind and state.
uint64_t checksum(const snapshot& x);

} // namespace cw::persistence
