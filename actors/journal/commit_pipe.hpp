#pragma once

// The durability pipeline of every deciding actor (scheduler, lock manager,
// workspace manager): a decision is applied to the actor's state at once and
// its events are buffered; one append carries the buffer to the journal; what
// depends on a decision (an answer, a process start) waits for the append
// that covers it. Included only by those actors' .cpp files: `append` needs
// the actor's full type.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "caf/actor_clock.hpp"
#include "caf/timespan.hpp"
#include "caf/sec.hpp"

#include "messages/events.hpp"
#include "messages/interfaces.hpp"

namespace cw::actors {

/// Longest an append may stay unanswered before its actor gives up (and
/// stops: it cannot know whether its decisions were recorded).
constexpr auto journal_timeout = std::chrono::seconds(30);

/// Buffered rows, appends in flight (tickets) and the work waiting for them.
/// The journal answers appends in order, so every ticket up to the last one
/// answered is durable (`settled`). `Deferred` is what waits: a
/// `std::function<void()>`, or a struct of the actor's own when allocating a
/// closure per step costs too much.
template <class Deferred>
class commit_pipe {
public:
  using time_point = caf::actor_clock::time_point;

  /// Buffers `ev` for the next append.
  void record(event ev) {
    rows_.push_back(std::move(ev));
  }

  bool has_rows() const noexcept {
    return !rows_.empty();
  }

  /// Returns how many rows are buffered.
  size_t pending() const noexcept {
    return rows_.size();
  }

  /// Takes the buffered rows for one append issued at `now`; returns them
  /// with the append's ticket.
  std::pair<uint64_t, std::vector<event>> take(time_point now) {
    auto rows = std::move(rows_);
    rows_.clear();
    // The next burst is likely as large: one allocation instead of a chain
    // of reallocations that move every row.
    rows_.reserve(rows.size());
    in_flight_.emplace_back(++issued_, now);
    return {issued_, std::move(rows)};
  }

  /// Returns the ticket that covers every decision made so far.
  uint64_t covering() const noexcept {
    return rows_.empty() ? issued_ : issued_ + 1;
  }

  /// Whether every decision made so far is durable.
  bool settled() const noexcept {
    return covering() == committed_;
  }

  /// Whether an append is unanswered.
  bool busy() const noexcept {
    return !in_flight_.empty();
  }

  /// Holds `d` until `ticket` is durable.
  void defer(uint64_t ticket, Deferred d) {
    waiting_.emplace_back(ticket, std::move(d));
  }

  /// Holds `d` until every decision made so far is durable.
  void defer(Deferred d) {
    defer(covering(), std::move(d));
  }

  /// Records that the append of `ticket` committed and calls `run` with each
  /// held item it covers, oldest first.
  template <class F>
  void acknowledge(uint64_t ticket, F&& run) {
    committed_ = ticket;
    while (!in_flight_.empty() && in_flight_.front().first <= ticket)
      in_flight_.pop_front();
    while (!waiting_.empty() && waiting_.front().first <= ticket) {
      auto d = std::move(waiting_.front().second);
      waiting_.pop_front();
      run(d);
    }
  }

  /// When the oldest unanswered append must have been answered.
  std::optional<time_point> deadline() const {
    if (in_flight_.empty())
      return std::nullopt;
    return in_flight_.front().second + journal_timeout;
  }

  /// Whether the oldest unanswered append is past `journal_timeout`.
  bool overdue(time_point now) const {
    auto due = deadline();
    return due && *due <= now;
  }

private:
  std::vector<event> rows_;
  uint64_t issued_ = 0;
  uint64_t committed_ = 0;
  /// Tickets not yet answered and when each was issued. Appends carry no
  /// request timeout (each would wake CAF's clock thread twice): the actor's
  /// own timer checks `overdue` instead.
  std::deque<std::pair<uint64_t, time_point>> in_flight_;
  std::deque<std::pair<uint64_t, Deferred>> waiting_;
};

/// Sends `pipe`'s buffered rows to `journal` as one append, if
/// there are any. Once it commits, `on_commit(ticket, seq)` runs (it
/// normally calls `acknowledge`); if it fails, `self` stops with the error,
/// logged under `who`. A journal that dies is seen by the actor's monitor or
/// link, one that hangs by its `overdue` check. Returns the ticket sent, or
/// 0 when nothing was buffered.
template <class Self, class Pipe, class OnCommit>
uint64_t append(Self* self, Pipe& pipe, const journal_actor& journal,
                const char* who, OnCommit on_commit) {
  if (!pipe.has_rows())
    return 0;
  auto [ticket, rows] = pipe.take(self->clock().now());
  self->request(journal, caf::infinite, append_atom_v, std::move(rows))
    .then(
      [ticket = ticket, on_commit = std::move(on_commit)](uint64_t seq) mutable {
        on_commit(ticket, seq);
      },
      [self, who](caf::error& err) {
        spdlog::critical("{}: journal append failed, stopping: {}", who,
                         self->system().render(err));
        self->quit(err);
      });
  return ticket;
}

/// Stops `self` if `pipe`'s oldest append is overdue; returns whether it
/// did. For the actor's timer.
template <class Self, class Pipe>
bool stop_if_overdue(Self* self, const Pipe& pipe, const char* who) {
  if (!pipe.overdue(self->clock().now()))
    return false;
  spdlog::critical("{}: journal append unanswered for {} s, stopping", who,
                   journal_timeout.count());
  self->quit(caf::sec::request_timeout);
  return true;
}

} // namespace cw::actors
