#include "actors/journal/journal_writer.hpp"

#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/make_message.hpp"
#include "caf/message_id.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "persistence/journal.hpp"

namespace cw::actors {

namespace {

struct journal_writer_state {
  std::shared_ptr<persistence::journal> journal;
  /// Events of every append since the last commit.
  std::vector<event> batch;
  /// One promise per append and the end index of its events in `batch`.
  std::vector<std::pair<caf::typed_response_promise<uint64_t>, size_t>> waiting;
  /// The promises being answered by the current commit.
  std::vector<std::pair<caf::typed_response_promise<uint64_t>, size_t>>
    delivering;
  bool flush_scheduled = false;
  /// Receive the events of every commit.
  std::vector<observer_actor> observers;

  static inline const char* name = "cw.journal";
};

using self_ptr = journal_actor::stateful_pointer<journal_writer_state>;

journal_actor::behavior_type
journal_writer_impl(self_ptr self, std::shared_ptr<persistence::journal> j,
                    std::vector<observer_actor> observers) {
  self->state.journal = std::move(j);
  self->state.observers = std::move(observers);
  return {
    [self](append_atom, std::vector<event>& events) -> caf::result<uint64_t> {
      auto& st = self->state;
      for (auto& ev : events)
        st.batch.push_back(std::move(ev));
      auto rp = self->make_response_promise<uint64_t>();
      st.waiting.emplace_back(rp, st.batch.size());
      // The flush goes behind every append already in the mailbox: they all
      // join this batch.
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        self->send(self, flush_atom_v);
      }
      return rp;
    },
    [self](snapshot_atom, snapshot& x) {
      if (auto err = self->state.journal->save_snapshot(x))
        spdlog::warn("journal: cannot save {} snapshot at seq {}: {}", x.kind,
                     x.seq, self->system().render(err));
      else
        spdlog::debug("journal: saved {} snapshot at seq {} ({} bytes)", x.kind,
                      x.seq, x.state.size());
    },
    [self](flush_atom) {
      auto& st = self->state;
      st.flush_scheduled = false;
      // Swapped with a spare so that both keep their capacity.
      auto& waiting = st.delivering;
      std::swap(waiting, st.waiting);
      auto res = st.journal->append(st.batch);
      auto count = st.batch.size();
      if (!res) {
        spdlog::error("journal: commit of {} events failed: {}", count,
                      self->system().render(res.error()));
        st.batch.clear();
        for (auto& [rp, end] : waiting)
          rp.deliver(res.error());
        waiting.clear();
        return;
      }
      // Observers hear of a commit before anyone is told it is durable, so
      // what a client saw acknowledged has reached them (in their mailbox).
      if (!st.observers.empty()) {
        // One copy of the batch, shared by every observer's message.
        auto msg = caf::make_message(committed_atom_v, st.batch);
        // A typed actor's send() checks a message's types at compile time
        // and so takes no prebuilt message: enqueue it directly.
        for (auto& obs : st.observers)
          obs->enqueue(caf::strong_actor_ptr{self->ctrl()},
                       caf::make_message_id(), msg, self->context());
      }
      st.batch.clear();
      auto first = *res - count + 1;
      for (auto& [rp, end] : waiting)
        rp.deliver(first + end - 1);
      waiting.clear();
    },
  };
}

} // namespace

journal_actor spawn_journal_writer(caf::actor_system& sys,
                                   std::shared_ptr<persistence::journal> j,
                                   std::vector<observer_actor> observers) {
  return sys.spawn<caf::detached>(journal_writer_impl, std::move(j),
                                  std::move(observers));
}

} // namespace cw::actors
