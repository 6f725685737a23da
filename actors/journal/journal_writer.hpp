#pragma once

#include <memory>
#include <vector>

#include "caf/fwd.hpp"

#include "messages/interfaces.hpp"

namespace cw::persistence {
class journal;
} // namespace cw::persistence

namespace cw::actors {

/// Spawns the journal's single writer on a thread of its own (SQLite commits
/// never run on a scheduler thread other actors need). Appends that arrive
/// while a commit runs share the next transaction (group commit); each is
/// acknowledged only after its transaction committed. Each of `observers`
/// gets the events of every commit (`committed`), in commit order, before
/// the commit's appends are acknowledged; the writer keeps them alive.
journal_actor spawn_journal_writer(caf::actor_system& sys,
                                   std::shared_ptr<persistence::journal> j,
                                   std::vector<observer_actor> observers = {});

} // namespace cw::actors
