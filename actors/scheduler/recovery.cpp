#include "actors/scheduler/recovery.hpp"

#include <spdlog/spdlog.h>

#include "actors/scheduler/task_table.hpp"
#include "messages/errc.hpp"
#include "persistence/checksum.hpp"
#include "persistence/event_codec.hpp"
#include "persistence/journal.hpp"

namespace cw::actors {

caf::expected<task_recovery>
recover_tasks(const persistence::journal& j, uint64_t up_to,
              bool use_snapshots) {
  task_recovery result;
  result.tasks = std::make_shared<task_table>();
  if (use_snapshots) {
    auto snaps = j.snapshots("tasks");
    if (!snaps)
      return snaps.error();
    for (auto& snap : *snaps) {
      if (snap.seq > up_to)
        continue;
      if (persistence::checksum(snap) != snap.checksum) {
        spdlog::warn("{}: task snapshot at seq {} fails its checksum, trying "
                     "an older one",
                     j.path(), snap.seq);
        continue;
      }
      auto loaded = task_table::load(snap.state);
      if (!loaded) {
        spdlog::warn("{}: task snapshot at seq {} does not load ({}), trying "
                     "an older one",
                     j.path(), snap.seq, describe(loaded.error()));
        continue;
      }
      *result.tasks = std::move(*loaded);
      result.snapshot_seq = snap.seq;
      result.last_seq = snap.seq;
      break;
    }
  }
  caf::error decode_error;
  auto n = j.read(
    result.snapshot_seq + 1,
    [&](event& ev) {
      if (decode_error)
        return;
      result.last_seq = ev.seq;
      if (!persistence::is_task_fold_type(ev.type))
        return; // another fold's event
      auto typed = persistence::decode(ev);
      if (!typed) {
        decode_error = make_error(errc::journal_corrupt,
                                  j.path() + ": " + describe(typed.error()));
        return;
      }
      result.tasks->apply(*typed, ev.time_ms);
    },
    up_to);
  if (!n)
    return n.error();
  if (decode_error)
    return decode_error;
  result.replayed = *n;
  // The phase is "last one wins": one indexed lookup, snapshot or not.
  auto phase = j.last_of_type("scheduler.phase_changed", up_to);
  if (!phase)
    return phase.error();
  if (!phase->empty()) {
    auto change = persistence::decode_phase_changed(phase->front());
    if (!change)
      return change.error();
    result.phase = change->to;
  }
  return result;
}

} // namespace cw::actors
