#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/atom.hpp"
#include "caf/fwd.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "actors/workspace/ledger.hpp"
#include "actors/workspace/watcher.hpp"

namespace cw::actors {

// The watcher's atoms live here rather than in messages/type_ids.hpp: only
// the watcher and its users need them, and they never cross the network yet.

/// Subscribes an actor to a workspace's changes and conflicts.
using ws_subscribe_atom = caf::atom_constant<caf::atom("ws_sub")>;
/// Opens a task's attribution window.
using ws_begin_atom = caf::atom_constant<caf::atom("ws_begin")>;
/// Closes a task's attribution window.
using ws_end_atom = caf::atom_constant<caf::atom("ws_end")>;
/// Reports everything written so far, settled or not.
using ws_flush_atom = caf::atom_constant<caf::atom("ws_flush")>;
/// To subscribers: `(ws_changed, workspace, std::vector<file_change>)`.
using ws_changed_atom = caf::atom_constant<caf::atom("ws_changed")>;
/// To subscribers: `(ws_conflict, workspace_conflict)`.
using ws_conflict_atom = caf::atom_constant<caf::atom("wsconflict")>;
/// Internal: the reader hands over changes (and the flush it answers).
using ws_batch_atom = caf::atom_constant<caf::atom("ws_batch")>;

/// Whoever follows a workspace: receives every batch of settled files (with
/// the workspace's name) and every conflict.
using watch_subscriber_actor = caf::typed_actor<
  caf::reacts_to<ws_changed_atom, std::string, std::vector<file_change>>,
  caf::reacts_to<ws_conflict_atom, workspace_conflict>>;

/// A workspace's watcher.
/// - `subscribe(subscriber)`: the subscriber receives the workspace's changes
///   and conflicts until it terminates.
/// - `begin(task)`: opens the task's window once everything written before
///   is reported (so earlier writes do not count for it); replies with the
///   other tasks open in the workspace, in the order they began. Errors:
///   `illegal_transition` when the task is open already.
/// - `end(task)`: closes the window once everything written before is
///   reported (so no write of the task is missed, settled or not); replies
///   with the task's changes and conflicts. Errors: `illegal_transition`
///   when the task is not open.
/// - `flush()`: replies, once everything written before is reported to the
///   subscribers, with the number of changes reported since the start.
/// - `batch(changes, flush)`: internal, from the reader.
using watcher_actor = caf::typed_actor<
  caf::reacts_to<ws_subscribe_atom, watch_subscriber_actor>,
  caf::replies_to<ws_begin_atom, task_id>::with<std::vector<task_id>>,
  caf::replies_to<ws_end_atom, task_id>::with<task_changes>,
  caf::replies_to<ws_flush_atom>::with<uint64_t>,
  caf::reacts_to<ws_batch_atom, std::vector<file_change>, uint64_t>>;

/// Opens a watcher on `cfg.root` (the initial scan runs on the caller's
/// thread) and spawns the actor that owns its results, named `workspace` in
/// messages. The inotify descriptor is read by a blocking actor of its own
/// (its own thread, which the actor system waits for at shutdown): it sleeps
/// in poll(2) on the descriptor and an eventfd, runs the watcher's clock
/// (steady time) and hands settled files to the watcher actor, which never
/// blocks. The reader holds only a weak reference; it stops when the watcher
/// actor terminates (e.g. on an exit message or once unreachable). Errors:
/// as `watcher::open`.
caf::expected<watcher_actor> spawn_watcher(caf::actor_system& sys,
                                           std::string workspace,
                                           watcher_config cfg);

} // namespace cw::actors
