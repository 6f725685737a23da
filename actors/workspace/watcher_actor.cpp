#include "actors/workspace/watcher_actor.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "caf/actor_cast.hpp"
#include "caf/actor_control_block.hpp"
#include "caf/actor_system.hpp"
#include "caf/blocking_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/system_messages.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "messages/errc.hpp"

namespace cw::actors {

namespace {

/// What the watcher actor and its reader share: flush requests and the stop
/// flag, guarded by a mutex, and an eventfd that wakes the reader.
class reader_link {
public:
  reader_link() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    // nop
  }

  ~reader_link() {
    if (wake_fd_ >= 0)
      ::close(wake_fd_);
  }

  reader_link(const reader_link&) = delete;
  reader_link& operator=(const reader_link&) = delete;

  int wake_fd() const noexcept {
    return wake_fd_;
  }

  /// Asks for a flush answering `token`; thread-safe.
  void request_flush(uint64_t token) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      flush_wanted_ = std::max(flush_wanted_, token);
    }
    wake();
  }

  /// Asks the reader to stop; thread-safe.
  void request_stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    wake();
  }

  /// Returns the flush wanted and whether to stop; thread-safe.
  std::pair<uint64_t, bool> wanted() {
    std::lock_guard<std::mutex> guard{mtx_};
    return {flush_wanted_, stop_};
  }

  /// Consumes pending wake-ups.
  void drain_wakeups() {
    uint64_t n;
    while (::read(wake_fd_, &n, sizeof(n)) > 0) {
      // nop
    }
  }

private:
  void wake() {
    uint64_t one = 1;
    // A full counter already wakes the reader; nothing to do on failure.
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
  }

  int wake_fd_;
  std::mutex mtx_;
  uint64_t flush_wanted_ = 0;
  bool stop_ = false;
};

int64_t steady_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
    .count();
}

// Runs on its own thread: polls the inotify descriptor, settles files on the
// steady clock and hands them to the watcher actor.
void run_reader(caf::blocking_actor*, std::shared_ptr<reader_link> link,
                std::shared_ptr<watcher> w, caf::weak_actor_ptr owner) {
  pollfd fds[2] = {{w->fd(), POLLIN, 0}, {link->wake_fd(), POLLIN, 0}};
  uint64_t answered = 0;
  for (;;) {
    int timeout = -1;
    if (auto next = w->next_settle())
      timeout = static_cast<int>(std::max<int64_t>(0, *next - steady_ms()));
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR)
      return;
    link->drain_wakeups();
    // The flush wanted is read before the queue: every write that finished
    // before the flush was asked for is in the queue by now.
    auto [wanted, stop] = link->wanted();
    if (stop)
      return;
    auto now = steady_ms();
    w->read(now);
    std::vector<file_change> batch;
    bool flushing = wanted > answered;
    if (flushing) {
      batch = w->flush();
      answered = wanted;
    } else {
      batch = w->settled(now);
    }
    if (batch.empty() && !flushing)
      continue;
    auto strong = owner.lock();
    if (!strong)
      return;
    caf::anon_send(caf::actor_cast<watcher_actor>(strong), ws_batch_atom::value,
                   std::move(batch), answered);
  }
}

struct watcher_state {
  watcher_state() : ledger("") {
    // nop
  }

  ~watcher_state() {
    if (link)
      link->request_stop();
  }

  /// An operation waiting for a flush to come back.
  struct waiting_op {
    uint64_t token;
    std::function<void()> complete;
  };

  std::string workspace;
  change_ledger ledger;
  std::shared_ptr<reader_link> link;
  std::vector<watch_subscriber_actor> subscribers;
  std::deque<waiting_op> waiting;
  uint64_t next_token = 1;
  uint64_t reported = 0;

  static inline const char* name = "cw.workspace_watcher";
};

using watcher_pointer = watcher_actor::stateful_pointer<watcher_state>;

// Asks the reader for a flush; `complete` runs once it is applied.
void after_flush(watcher_pointer self, std::function<void()> complete) {
  auto& st = self->state;
  auto token = st.next_token++;
  st.waiting.push_back({token, std::move(complete)});
  st.link->request_flush(token);
}

watcher_actor::behavior_type
watcher_behavior(watcher_pointer self, std::string workspace,
                 std::shared_ptr<reader_link> link) {
  self->state.workspace = workspace;
  self->state.ledger = change_ledger{workspace};
  self->state.link = std::move(link);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&](const watch_subscriber_actor& x) {
                                return x.address() == dm.source;
                              }),
               subs.end());
  });
  return {
    [self](ws_subscribe_atom, watch_subscriber_actor subscriber) {
      self->monitor(subscriber);
      self->state.subscribers.push_back(std::move(subscriber));
    },
    [self](ws_begin_atom,
           task_id task) -> caf::result<std::vector<task_id>> {
      if (self->state.ledger.is_open(task))
        return self->state.ledger.begin(task).error();
      auto rp = self->make_response_promise<std::vector<task_id>>();
      after_flush(self, [self, rp, task]() mutable {
        auto others = self->state.ledger.open_tasks();
        if (auto ok = self->state.ledger.begin(task); !ok)
          rp.deliver(ok.error());
        else
          rp.deliver(std::move(others));
      });
      return rp;
    },
    [self](ws_end_atom, task_id task) -> caf::result<task_changes> {
      if (!self->state.ledger.is_open(task))
        return self->state.ledger.end(task).error();
      auto rp = self->make_response_promise<task_changes>();
      after_flush(self, [self, rp, task]() mutable {
        auto result = self->state.ledger.end(task);
        if (!result)
          rp.deliver(result.error());
        else
          rp.deliver(std::move(*result));
      });
      return rp;
    },
    [self](ws_flush_atom) -> caf::result<uint64_t> {
      auto rp = self->make_response_promise<uint64_t>();
      after_flush(self, [self, rp]() mutable {
        rp.deliver(self->state.reported);
      });
      return rp;
    },
    [self](ws_batch_atom, std::vector<file_change>& changes,
           uint64_t answered) {
      auto& st = self->state;
      if (!changes.empty()) {
        st.reported += changes.size();
        auto conflicts = st.ledger.record(changes);
        for (auto& sub : st.subscribers)
          self->send(sub, ws_changed_atom::value, st.workspace, changes);
        for (auto& c : conflicts)
          for (auto& sub : st.subscribers)
            self->send(sub, ws_conflict_atom::value, c);
      }
      while (!st.waiting.empty() && st.waiting.front().token <= answered) {
        auto op = std::move(st.waiting.front());
        st.waiting.pop_front();
        op.complete();
      }
    },
  };
}

} // namespace

caf::expected<watcher_actor> spawn_watcher(caf::actor_system& sys,
                                           std::string workspace,
                                           watcher_config cfg) {
  auto w = watcher::open(std::move(cfg));
  if (!w)
    return std::move(w.error());
  auto link = std::make_shared<reader_link>();
  if (link->wake_fd() < 0)
    return make_error(errc::invalid_argument,
                      "cannot watch workspace '" + (*w)->root().string()
                        + "': eventfd failed");
  auto self = sys.spawn(watcher_behavior, std::move(workspace), link);
  sys.spawn(run_reader, link, std::shared_ptr<watcher>{std::move(*w)},
            caf::actor_cast<caf::weak_actor_ptr>(self));
  return self;
}

} // namespace cw::actors
