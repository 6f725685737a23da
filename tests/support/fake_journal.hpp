#pragma once

// A journal actor that keeps appended events in memory and, when asked to,
// holds commits back until the test releases them one by one with `flush`.

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "messages/interfaces.hpp"

namespace cw::test {

/// What the fake journal stored; `hold` keeps appends uncommitted until a
/// `flush` message releases the oldest one.
/// Tests whose actors run on threads of their own lock `mtx` to read or
/// change `events` and `snapshots` while the journal may still write them.
struct journal_data {
  std::mutex mtx;
  bool hold = false;
  std::vector<event> events;
  std::vector<snapshot> snapshots;
  std::vector<std::pair<caf::typed_response_promise<uint64_t>, uint64_t>> held;
};

inline journal_actor::behavior_type
fake_journal(journal_actor::pointer self, std::shared_ptr<journal_data> d) {
  return {
    [self, d](append_atom, std::vector<event>& evs) -> caf::result<uint64_t> {
      std::unique_lock guard{d->mtx};
      for (auto& ev : evs) {
        ev.seq = d->events.size() + 1;
        d->events.push_back(ev);
      }
      uint64_t last = d->events.size();
      guard.unlock();
      if (!d->hold)
        return last;
      auto rp = self->make_response_promise<uint64_t>();
      d->held.emplace_back(rp, last);
      return rp;
    },
    [d](snapshot_atom, snapshot& x) {
      std::lock_guard guard{d->mtx};
      d->snapshots.push_back(std::move(x));
    },
    [d](flush_atom) {
      if (d->held.empty())
        return;
      d->held.front().first.deliver(d->held.front().second);
      d->held.erase(d->held.begin());
    },
  };
}

} // namespace cw::test
