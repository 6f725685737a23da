#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "caf/fwd.hpp"

#include "messages/interfaces.hpp"

namespace cw::actors {

/// What a lock manager starts with.
struct lock_manager_config {
  /// Name of the node, stamped on every event.
  std::string node_name;
  /// The journal every lock event goes to.
  journal_actor journal;
  /// Longest owner or resource name accepted, in bytes.
  size_t max_name_bytes = 1024;
  /// Returns wall-clock milliseconds since the epoch for event envelopes;
  /// null means the system clock. Deadlines use the actor clock instead,
  /// which the test coordinator drives.
  std::function<int64_t()> wall_clock = nullptr;
};

/// Spawns the lock manager, a thin shell around `lock_table`: it keeps the
/// response promises of waiting requests, arms one timer for the earliest
/// deadline, and journals every grant, release, refusal and deadlock before
/// anyone is told of it.
///
/// It starts empty. Locks do not survive a node restart: their owners (tasks,
/// agents, sessions) belong to the run that ended and are re-run, so they
/// acquire again. The `lock.*` events are a record, not replayed state.
///
/// Owner death: whoever sees an owner end sends `release(owner)` (release-
/// all); the scheduler does so for `"task:<id>"` when a task ends.
lock_actor spawn_lock_manager(caf::actor_system& sys, lock_manager_config cfg);

} // namespace cw::actors
