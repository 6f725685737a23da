#include "actors/scheduler/scheduler.hpp"

#include "actors/agent/circuit_breaker.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "actors/agent/agent.hpp"
#include "actors/journal/commit_pipe.hpp"
#include "actors/scheduler/lifecycle.hpp"
#include "actors/scheduler/placement.hpp"
#include "actors/scheduler/retry.hpp"
#include "actors/scheduler/task_table.hpp"
#include "actors/scheduler/validate.hpp"
#include "actors/scheduler/workflow.hpp"
#include "messages/errc.hpp"
#include "persistence/event_codec.hpp"

namespace cw::actors {

namespace {

/// Longest a journal append may take before the scheduler gives up (and
/// stops: it cannot know whether the decision was recorded).

/// Upper bound for one `await`.
constexpr auto max_await = std::chrono::minutes(10);

struct agent_slot {
  agent_actor handle;
  /// The tasks the agent runs.
  std::set<task_id> tasks;
  /// Bumped whenever it takes a task: an idle timer armed before is stale.
  uint64_t idle_stamp = 0;
};

/// An elastic pool's supervisor and the agents asked of it.
struct pool_scaler {
  caf::actor supervisor;
  /// `grow` requests without a reply yet.
  uint32_t requests = 0;
  /// Agents grown that have not registered yet.
  std::set<std::string> starting;
  /// After a failed `grow`, no new one before this time (ms).
  int64_t quiet_until_ms = 0;
};

/// A failed `grow` is not tried again for this long.
constexpr int64_t grow_retry_ms = 5'000;

/// How far down the queue dispatch looks for a task that some free agent
/// may run, when the tasks ahead of it fit no free agent.
constexpr size_t dispatch_lookahead = 1024;

/// Work that waits for a journal ticket to commit. The two per-task kinds
/// carry their data inline: a std::function would allocate for each.
struct deferred {
  enum class kind : uint8_t {
    /// Calls `fn`.
    call,
    /// Sends the task's `run` message to `handle`.
    run,
    /// Answers the task's waiters.
    notify,
    /// Delivers the task to `promise`.
    answer_task,
  };
  kind what = kind::call;
  task_id id = 0;
  uint32_t attempt = 0;
  /// `answer_task`: with the reason a waiting task waits.
  bool explain = false;
  agent_actor handle;
  caf::typed_response_promise<task_info> promise;
  std::function<void()> fn;
};

struct waiter {
  task_id id = 0;
  caf::typed_response_promise<task_info> promise;
  caf::actor_clock::time_point deadline;
};

} // namespace

struct scheduler_state {
  scheduler_config cfg;
  task_table tasks;
  std::map<std::string, agent_slot> agents;
  std::map<caf::actor_addr, std::string> agent_names;
  placement place;
  // Running tasks in all and per workspace, for the concurrency limits.
  uint32_t running = 0;
  std::map<std::string, uint32_t> running_per_workspace;
  // Events applied to `tasks` but not yet durable, and what waits for them.
  commit_pipe<deferred> pipe;
  // Seq of the newest durable event, and events since the last snapshot.
  uint64_t last_seq = 0;
  uint64_t since_snapshot = 0;
  lifecycle life;
  // Recently ended tasks for throughput and latency: (end, wait, run) in ms.
  struct ended {
    int64_t end_ms;
    int64_t wait_ms;
    int64_t run_ms;
  };
  std::deque<ended> recent;
  // A flush message to self is on its way.
  bool flush_scheduled = false;
  // The earliest wake-up timer armed for delayed tasks, 0 when none.
  int64_t wake_armed_ms = 0;
  // Attempts stopped by their timeout: their outcome reads "timeout".
  std::set<std::pair<task_id, uint32_t>> timed_out;
  // Tasks that declared locks (`spec.locks`): those that hold all of them,
  // and those acquiring them one after the other.
  std::set<task_id> locks_held;
  std::set<task_id> locks_acquiring;
  std::mt19937_64 rng{std::random_device{}()};
  uint64_t next_waiter = 0;
  std::unordered_map<uint64_t, waiter> waiters;
  // Waiters by deadline; one timer is armed for the earliest (a timer per
  // await would cost a clock entry per request).
  std::set<std::pair<caf::actor_clock::time_point, uint64_t>> deadlines;
  std::optional<caf::actor_clock::time_point> expire_armed;
  std::unordered_multimap<task_id, uint64_t> waiters_by_task;
  // Tasks that were running when the node went down, by the agent that ran
  // them: they wait for that agent to register and adopt their process.
  std::map<std::string, std::vector<task_id>> orphans;
  // Circuit breakers by provider, created on first use.
  std::map<std::string, circuit_breaker> breakers;
  // Elastic pools by name.
  std::map<std::string, pool_scaler> scalers;
  // `agents(n)` requests waiting for n agents to register.
  std::vector<std::pair<size_t, caf::typed_response_promise<agent_listing>>>
    agent_waiters;

  static inline const char* name = "cw.scheduler";
};

namespace {

using self_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

int64_t system_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Returns the scheduler's wall clock (injectable for virtual-time tests).
int64_t now_ms(self_ptr self) {
  auto& clock = self->state.cfg.wall_clock;
  return clock ? clock() : system_ms();
}

/// Returns whether tasks of `spec` cost money (and budgets apply).
bool costs_money(const task_spec& spec) {
  return spec.provider == "claude";
}

/// Returns the budget of task `info` in USD (its own, else the per-task
/// budget of the config); 0: none.
double task_budget_usd(self_ptr self, const task_info& info) {
  if (!costs_money(info.spec))
    return 0;
  return info.spec.budget_usd > 0 ? info.spec.budget_usd
                                  : self->state.cfg.spending.per_task_usd;
}

// -- the durability pipeline --------------------------------------------------

/// Applies a decision to the state and buffers its row for the journal.
void record(self_ptr self, const task_event& ev) {
  auto& st = self->state;
  auto now = now_ms(self);
  st.tasks.apply(ev, now);
  st.pipe.record(persistence::encode(ev, now, st.cfg.node_name));
}

void take_snapshot(self_ptr self);

void arm_expiry(self_ptr self);

void notify_waiters(self_ptr self, task_id id);

caf::expected<task_info> find_task(self_ptr self, task_id id,
                                   bool explain = false);

/// Runs one piece of work whose ticket has committed.
void run_deferred(self_ptr self, deferred& d) {
  switch (d.what) {
    case deferred::kind::call:
      d.fn();
      break;
    case deferred::kind::run:
      // The spec is read from the table (it never changes after the
      // submission) rather than copied into the closure.
      if (auto info = self->state.tasks.find(d.id)) {
        auto log = task_log_path(self->state.cfg.log_dir, d.id);
        auto session = info->session != 0
                         ? self->state.tasks.sessions().find(info->session)
                         : nullptr;
        auto spec = info->spec;
        if (!info->progress->continue_session.empty()) {
          // A parked task continues its conversation where the limit cut
          // it off.
          spec.resume_session = info->progress->continue_session;
          spec.prompt = self->state.cfg.continuation_prompt;
        } else if (session != nullptr && !session->cli_session_id.empty()
                   && info->spec.resume_session.empty()) {
          // The task continues its session's conversation.
          spec.resume_session = session->cli_session_id;
        }
        // The agent stops a run that spends what its earlier attempts left.
        if (auto budget = task_budget_usd(self, *info); budget > 0)
          spec.budget_usd = std::max(
            budget - self->state.tasks.costs().for_task(d.id).usd(), 1e-9);
        self->send(d.handle, run_atom_v, d.id, d.attempt, std::move(spec),
                   std::move(log));
      }
      break;
    case deferred::kind::notify:
      notify_waiters(self, d.id);
      break;
    case deferred::kind::answer_task:
      if (auto info = find_task(self, d.id, d.explain))
        d.promise.deliver(std::move(*info));
      else
        d.promise.deliver(std::move(info.error()));
      break;
  }
}

/// Records a life-cycle change: applied at once, journaled with the rest.
void change_phase(self_ptr self, scheduler_phase to) {
  auto& st = self->state;
  auto from = st.life.phase();
  if (from == to)
    return;
  st.life.apply(to);
  st.pipe.record(persistence::encode(scheduler_phase_changed{from, to},
                                    now_ms(self), st.cfg.node_name));
  spdlog::info("scheduler: {} -> {}", to_string(from), to_string(to));
}

/// Sends the buffered rows to the journal as one append, now.
void flush_rows(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  st.since_snapshot += st.pipe.pending();
  auto was_busy = st.pipe.busy();
  auto ticket = append(self, st.pipe, st.cfg.journal, "scheduler",
                       [self](uint64_t ticket, uint64_t seq) {
    auto& st = self->state;
    // Deferred steps below run for tickets up to this one, so `last_seq`
    // is the seq their state covers.
    st.last_seq = seq;
    st.pipe.acknowledge(ticket, [self](deferred& d) { run_deferred(self, d); });
    if (st.cfg.snapshot_every_events != 0
        && st.since_snapshot >= st.cfg.snapshot_every_events)
      take_snapshot(self);
  });
  if (ticket != 0 && !was_busy)
    arm_expiry(self);
}

/// Asks for the buffered rows to be sent once the messages already in the
/// mailbox have been handled: one append carries the decisions of a whole
/// burst of messages instead of one append per message.
void commit(self_ptr self) {
  auto& st = self->state;
  if (!st.pipe.has_rows() || st.flush_scheduled)
    return;
  st.flush_scheduled = true;
  self->send(self, flush_atom_v);
}

/// Runs `d` once every decision made so far is durable.
void when_durable(self_ptr self, deferred d) {
  auto& st = self->state;
  commit(self);
  if (st.pipe.settled())
    run_deferred(self, d);
  else
    st.pipe.defer(std::move(d));
}

/// Runs `fn` once every decision made so far is durable.
void when_durable(self_ptr self, std::function<void()> fn) {
  deferred d;
  d.fn = std::move(fn);
  when_durable(self, std::move(d));
}

/// Saves the task state as of now. The blob covers every event issued so
/// far, so it is tagged with the seq of the last of them once durable.
void take_snapshot(self_ptr self) {
  auto& st = self->state;
  st.since_snapshot = 0;
  auto blob = std::make_shared<std::string>(st.tasks.save());
  when_durable(self, [self, blob] {
    auto& st = self->state;
    self->send(st.cfg.journal, snapshot_atom_v,
               snapshot{st.last_seq, now_ms(self), "tasks", std::move(*blob), 0});
  });
}

/// Answers a request once every decision made so far is durable, so that no
/// one observes a state the journal might not have.
template <class T, class F>
caf::result<T> answer(self_ptr self, F compute) {
  auto& st = self->state;
  commit(self);
  if (st.pipe.settled())
    return compute();
  auto rp = self->make_response_promise<T>();
  when_durable(self, [rp, compute]() mutable {
    caf::expected<T> res = compute();
    if (res)
      rp.deliver(std::move(*res));
    else
      rp.deliver(std::move(res.error()));
  });
  return rp;
}

/// Answers with task `id` once every decision made so far is durable; the
/// common case of `answer` without a std::function. With `explain`, a
/// waiting task's answer says why it waits (`task_info::waiting`).
caf::result<task_info> answer_task(self_ptr self, task_id id,
                                   bool explain = false);

// -- decisions ----------------------------------------------------------------

std::string waiting_reason(self_ptr self, const task_info& info);

/// Returns task `id`; with `explain`, a waiting one says why it waits.
caf::expected<task_info> find_task(self_ptr self, task_id id, bool explain) {
  auto info = self->state.tasks.find(id);
  if (info == nullptr)
    return make_error(errc::no_such_task,
                      "no task with id " + std::to_string(id));
  auto result = *info;
  if (explain)
    result.waiting = waiting_reason(self, result);
  return result;
}

caf::result<task_info> answer_task(self_ptr self, task_id id, bool explain) {
  auto& st = self->state;
  commit(self);
  if (st.pipe.settled())
    return find_task(self, id, explain);
  deferred d;
  d.what = deferred::kind::answer_task;
  d.id = id;
  d.explain = explain;
  d.promise = self->make_response_promise<task_info>();
  auto result = d.promise;
  when_durable(self, std::move(d));
  return result;
}

/// Returns the agent that ran the task `spec` wants to share an agent with,
/// or an empty string.
std::string affinity_of(self_ptr self, const task_spec& spec) {
  if (spec.same_agent_as == 0)
    return {};
  auto other = self->state.tasks.find(spec.same_agent_as);
  return other != nullptr ? other->agent : std::string{};
}

/// Counts task `id` as running on `agent`.
void occupy(self_ptr self, const std::string& agent, const task_info& info) {
  auto& st = self->state;
  auto& slot = st.agents[agent];
  slot.tasks.insert(info.id);
  ++slot.idle_stamp;
  st.place.change_load(agent, +1);
  ++st.running;
  ++st.running_per_workspace[info.spec.workspace];
}

circuit_breaker& breaker_of(self_ptr self, const std::string& provider) {
  auto& st = self->state;
  auto i = st.breakers.find(provider);
  if (i == st.breakers.end())
    i = st.breakers.emplace(provider, circuit_breaker{st.cfg.breaker}).first;
  return i->second;
}

/// Journals a breaker's change; an opened breaker wakes dispatch once its
/// cool-down has passed.
void note_breaker(self_ptr self, const std::string& provider,
                  const std::optional<breaker_transition>& change) {
  if (!change)
    return;
  auto& st = self->state;
  st.pipe.record(persistence::encode(
    breaker_changed{provider, to_string(change->from), to_string(change->to),
                    change->failures, change->reason},
    now_ms(self), st.cfg.node_name));
  spdlog::warn("scheduler: provider {} breaker {} -> {}: {}", provider,
               to_string(change->from), to_string(change->to), change->reason);
  if (change->to == breaker_state::open)
    self->delayed_send(self, std::chrono::milliseconds(st.cfg.breaker.cool_down_ms),
                       wake_atom_v);
}

/// Returns whether `provider`'s breaker lets a task through at `now` (without
/// counting it).
bool breaker_admits(self_ptr self, const std::string& provider, int64_t now) {
  auto& st = self->state;
  if (st.cfg.breaker.failure_threshold == 0)
    return true;
  auto& b = breaker_of(self, provider);
  switch (b.state()) {
    case breaker_state::closed:
      return true;
    case breaker_state::open:
      return now >= b.retry_at_ms(now);
    default:
      return b.trials_in_flight() < st.cfg.breaker.half_open_trials;
  }
}

/// Returns whether `outcome` is the provider's failure rather than the
/// task's: the process did not start, did not end on its own terms (its
/// shim or agent died) or hung. A program that exits non-zero, or that a
/// timeout or a cancel stopped, shows the provider works.
bool is_provider_failure(const task_outcome& outcome) {
  if (outcome.status != task_status::failed)
    return false;
  if (outcome.reason.rfind("hung: ", 0) == 0)
    return true;
  return outcome.exit_code == -1 && outcome.signal == 0
         && outcome.reason != "timeout" && outcome.reason.rfind("cancel", 0) != 0;
}

/// Assigns queued tasks to agents chosen by placement; each process starts
/// only after its assignment is durable.
/// Asks elastic pools for more agents while their ready tasks outnumber
/// the free and coming task slots, up to each pool's `max_agents`.
void grow_pools(self_ptr self, int64_t now) {
  auto& st = self->state;
  for (auto& [pool, sc] : st.scalers) {
    const auto& s = st.place.settings(pool);
    if (!sc.supervisor || s.max_agents <= s.min_agents
        || now < sc.quiet_until_ms)
      continue;
    auto have = st.place.pool_agents(pool) + sc.requests
                + static_cast<uint32_t>(sc.starting.size());
    if (have >= s.max_agents)
      continue;
    if (s.max_running != 0 && st.place.pool_load(pool) >= s.max_running)
      continue;
    if (st.cfg.breaker.failure_threshold != 0) {
      auto b = st.breakers.find(s.provider);
      if (b != st.breakers.end() && b->second.state() == breaker_state::open)
        continue;
    }
    auto demand = st.tasks.ready_for(s.provider, pool)
                  + st.tasks.ready_for(s.provider, "");
    auto per_agent = std::max<uint32_t>(1, s.max_load);
    auto coming = uint64_t{st.place.pool_free_slots(pool)}
                  + uint64_t{sc.requests + sc.starting.size()} * per_agent;
    if (demand <= coming)
      continue;
    auto wanted = (demand - coming + per_agent - 1) / per_agent;
    auto n = static_cast<uint32_t>(
      std::min<uint64_t>(wanted, s.max_agents - have));
    for (uint32_t i = 0; i < n; ++i) {
      ++sc.requests;
      auto sup = sc.supervisor;
      self->request(sc.supervisor, std::chrono::seconds(30), grow_atom_v)
        .then(
          [self, pool = pool, sup](std::string& name) {
            auto& st = self->state;
            auto i = st.scalers.find(pool);
            if (i == st.scalers.end() || i->second.supervisor != sup)
              return;
            --i->second.requests;
            if (st.agents.count(name) == 0)
              i->second.starting.insert(std::move(name));
          },
          [self, pool = pool, sup](caf::error& err) {
            auto& st = self->state;
            auto i = st.scalers.find(pool);
            if (i == st.scalers.end() || i->second.supervisor != sup)
              return;
            --i->second.requests;
            i->second.quiet_until_ms = now_ms(self) + grow_retry_ms;
            spdlog::warn("scheduler: pool {} cannot grow: {}", pool,
                         describe(err));
          });
    }
    spdlog::debug("scheduler: pool {} grows by {} ({} ready tasks)", pool, n,
                  demand);
  }
}

/// Arms the idle timer of agent `name` if it runs nothing and its pool is
/// elastic.
void arm_idle(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto slot = st.agents.find(name);
  auto profile = st.place.find(name);
  if (slot == st.agents.end() || profile == nullptr
      || !slot->second.tasks.empty())
    return;
  const auto& s = st.place.settings(profile->pool);
  if (s.max_agents <= s.min_agents || s.idle_timeout_ms <= 0)
    return;
  self->delayed_send(self, std::chrono::milliseconds{s.idle_timeout_ms},
                     shrink_atom_v, name, ++slot->second.idle_stamp);
}

/// Returns whether tasks of `spec` run in sessions: prompt-driven ones that
/// do not name a provider session themselves.
bool uses_sessions(const task_spec& spec) {
  return spec.provider == "claude" && spec.resume_session.empty();
}

/// Returns the start of the UTC day after `now` (ms since the epoch).
int64_t next_utc_midnight(int64_t now) {
  return (utc_day(now) + 1) * 86'400'000;
}

/// Closes sessions idle past their timeout; returns when the next one
/// will be (the scheduler wakes for it, see `dispatch`). Sessions the
/// dispatch that follows assigns only make that time come later, which
/// costs a wake-up at most.
std::optional<int64_t> close_idle_sessions(self_ptr self, int64_t now) {
  auto& st = self->state;
  const auto& sessions = st.tasks.sessions();
  auto due = sessions.next_idle_deadline();
  if (!due || now < *due)
    return due;
  for (auto id : sessions.idle_expired(now))
    record(self, session_changed{id, "closed", {}, {}, {},
                                 "idle for more than "
                                   + std::to_string(st.cfg.sessions.idle_timeout_ms
                                                    / 1000)
                                   + " s"});
  return sessions.next_idle_deadline();
}

void cancel_task(self_ptr self, task_id id, std::string reason);

void dispatch(self_ptr self);

/// Asks the lock manager for lock `index` of task `id` (in name order, so
/// that tasks never wait for each other in a circle through their declared
/// locks); once it has them all, the task may start.
void acquire_locks(self_ptr self, task_id id, size_t index) {
  auto& st = self->state;
  auto info = st.tasks.find(id);
  if (info == nullptr || is_terminal(info->status)) {
    st.locks_acquiring.erase(id);
    return;
  }
  std::vector<lock_need> needs;
  for (auto& text : info->spec.locks)
    needs.push_back(parse_lock_need(text));
  std::sort(needs.begin(), needs.end(), [](auto& x, auto& y) {
    return x.resource < y.resource;
  });
  if (index == needs.size()) {
    st.locks_acquiring.erase(id);
    st.locks_held.insert(id);
    dispatch(self);
    return;
  }
  lock_spec req{"task:" + std::to_string(id), needs[index].resource,
                needs[index].exclusive, info->spec.priority, max_lock_wait_ms};
  auto resource = req.resource;
  self
    ->request(st.cfg.locks, std::chrono::milliseconds{max_lock_wait_ms + 30'000},
              lock_atom_v, std::move(req))
    .then([self, id, index](const lock_grant&) {
            acquire_locks(self, id, index + 1);
          },
          [self, id, index, resource](caf::error& err) {
            auto& st = self->state;
            auto info = st.tasks.find(id);
            if (info == nullptr || is_terminal(info->status)) {
              st.locks_acquiring.erase(id);
              return; // withdrawn when the task ended
            }
            auto msg = error_message(err);
            if (msg.rfind("timeout: ", 0) == 0) {
              acquire_locks(self, id, index); // a task waits as long as it takes
              return;
            }
            spdlog::warn("scheduler: task {} did not get lock {}: {}", id,
                         resource, describe(err));
            st.locks_acquiring.erase(id);
            cancel_task(self, id, "lock " + resource + ": " + msg);
            dispatch(self);
          });
}

/// Returns whether task `info` holds the locks it declared; starts
/// acquiring them when it does not.
bool has_locks(self_ptr self, const task_info& info) {
  auto& st = self->state;
  if (info.spec.locks.empty() || st.locks_held.count(info.id) != 0)
    return true;
  if (st.locks_acquiring.insert(info.id).second)
    acquire_locks(self, info.id, 0);
  return false;
}

/// What keeps a queued task from starting, in the order it is checked.
enum class start_hold : uint8_t {
  none,
  session,
  breaker,
  usage_limit,
  workspace_cap,
  locks,
  placement,
  budget,
};

/// What starting a queued task takes (`seat`, `choice`), or what holds it.
struct start_check {
  start_hold hold = start_hold::none;
  std::optional<allocation> seat;
  std::optional<placement_choice> choice;
  /// `budget`: the budget it would cross.
  std::string budget;
};

/// Tells placement which provider accounts usage limits hold back at `now`.
void sync_holds(self_ptr self, int64_t now) {
  std::set<std::pair<std::string, std::string>> held;
  for (auto& hold : self->state.tasks.holds(now))
    held.emplace(hold.provider, hold.account);
  self->state.place.hold(std::move(held));
}

/// Checks queued task `info` against everything but its place in the queue.
/// Agents whose account a usage limit holds back take nothing (see
/// `sync_holds`). A `dry` check changes nothing (no lock request, no
/// placement decision): it tells a person why the task waits.
start_check check_start(self_ptr self, const task_info& info, int64_t now,
                        bool budgets_apply, bool dry) {
  auto& st = self->state;
  start_check result;
  auto held = [&](start_hold why) {
    result.hold = why;
    return std::move(result); // each use returns at once
  };
  if (uses_sessions(info.spec)) {
    result.seat = st.tasks.sessions().plan(
      info.spec.provider, info.spec.pool,
      info.spec.resume_key.empty() ? std::nullopt
                                   : std::optional{info.spec.resume_key},
      // A new conversation once: later attempts (a retry, the continuation
      // after a usage limit) go on in the session it started.
      now, info.spec.workspace, info.spec.new_session && info.session == 0,
      info.id);
    if (result.seat->is_wait())
      return held(start_hold::session);
  }
  if (!breaker_admits(self, info.spec.provider, now))
    return held(start_hold::breaker);
  if (auto cap = st.cfg.max_running_per_workspace; cap != 0) {
    auto i = st.running_per_workspace.find(info.spec.workspace);
    if (i != st.running_per_workspace.end() && i->second >= cap)
      return held(start_hold::workspace_cap);
  }
  auto affinity = affinity_of(self, info.spec);
  // Before the locks: a task whose every agent is held back by a usage limit
  // must not sit on locks for the length of the hold.
  if (st.place.all_held(info.spec, affinity))
    return held(start_hold::usage_limit);
  if (dry ? !info.spec.locks.empty() && st.locks_held.count(info.id) == 0
          : !has_locks(self, info))
    return held(start_hold::locks);
  if (dry) {
    auto why = st.place.why_not(info.spec, affinity);
    if (why.rfind(placement::held_prefix, 0) == 0)
      return held(start_hold::usage_limit);
    if (!why.empty())
      return held(start_hold::placement);
  } else {
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    result.choice = st.place.choose(info.spec, affinity,
                                    st.tasks.queued_per_pool(), unit(st.rng));
    if (!result.choice)
      return held(start_hold::placement);
  }
  auto workflow = costs_money(info.spec) && info.spec.workflow != 0
                    ? st.tasks.find_workflow(info.spec.workflow)
                    : nullptr;
  if (costs_money(info.spec)
      && (budgets_apply || info.spec.budget_usd > 0
          || (workflow != nullptr && workflow->budget_usd > 0))) {
    auto agent = result.choice ? st.place.find(result.choice->agent) : nullptr;
    auto why = st.tasks.costs().over_budget(
      st.cfg.spending, info.id, info.spec.workflow,
      agent != nullptr ? agent->pool : info.spec.pool, now,
      info.spec.budget_usd, workflow != nullptr ? workflow->budget_usd : 0);
    if (why) {
      result.budget = std::move(*why);
      return held(start_hold::budget);
    }
  }
  return result;
}

/// Says, for a person, why task `info` has not started yet ("" when it
/// does not wait or nothing holds it back).
std::string waiting_reason(self_ptr self, const task_info& info) {
  auto& st = self->state;
  auto now = now_ms(self);
  auto in = [now](int64_t at) {
    return std::to_string(std::max<int64_t>(0, (at - now + 999) / 1000))
           + " s";
  };
  if (info.status == task_status::blocked) {
    std::string deps;
    for (auto dep : info.spec.depends_on)
      if (auto d = st.tasks.find(dep); d && d->status != task_status::completed)
        deps += (deps.empty() ? "" : ", ") + std::to_string(dep) + " ("
                + to_string(d->status) + ")";
    return deps.empty() ? "" : "waits for tasks " + deps + " to complete";
  }
  if (info.status != task_status::queued)
    return "";
  if (!st.life.may_start_tasks())
    return "the scheduler is " + to_string(st.life.phase())
           + ": it starts no tasks";
  auto due = std::max(info.not_before_ms, info.spec.run_at_ms);
  if (due > now)
    return (info.attempts > 0 ? "retry back-off: starts in " : "delayed: starts in ")
           + in(due);
  sync_holds(self, now);
  auto check = check_start(self, info, now, true, true);
  const auto& provider = info.spec.provider;
  switch (check.hold) {
    case start_hold::session:
      return "no session: " + check.seat->reason;
    case start_hold::breaker: {
      auto& b = breaker_of(self, provider);
      if (b.state() == breaker_state::open)
        return "the circuit breaker of provider " + provider
               + " is open; a trial task may start in " + in(b.retry_at_ms(now));
      return "the circuit breaker of provider " + provider + " is half-open: "
             + std::to_string(b.trials_in_flight()) + " trial tasks run";
    }
    case start_hold::usage_limit: {
      // The hold that lifts first frees an agent first.
      std::optional<limit_hold> first;
      for (auto& h : st.tasks.holds(now))
        if (h.provider == provider && (!first || h.until_ms < first->until_ms))
          first = h;
      if (!first)
        break;
      return "provider " + provider + " (account "
             + (first->account.empty() ? "default" : first->account)
             + ") hit a usage limit in task " + std::to_string(first->task)
             + "; its tasks start in " + in(first->until_ms);
    }
    case start_hold::workspace_cap:
      return "workspace " + info.spec.workspace + " runs "
             + std::to_string(st.cfg.max_running_per_workspace)
             + " tasks (max_running_per_workspace)";
    case start_hold::locks: {
      std::string names;
      for (auto& l : info.spec.locks)
        names += (names.empty() ? "" : ", ") + l;
      return "waits for its locks: " + names;
    }
    case start_hold::placement:
      return st.place.why_not(info.spec, affinity_of(self, info.spec));
    case start_hold::budget:
      return check.budget;
    case start_hold::none:
      break;
  }
  if (st.cfg.max_running != 0 && st.running >= st.cfg.max_running)
    return std::to_string(st.running) + " tasks run, the node's max_running";
  return "";
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  auto now = now_ms(self);
  if (!st.life.may_start_tasks()) {
    commit(self);
    return;
  }
  for (auto& hold : st.tasks.due_holds(now))
    record(self, limit_changed{hold.task, "lifted", hold.provider,
                               hold.account, 0, "its reset time came"});
  for (auto id : st.tasks.due_parked(now))
    record(self, task_requeued{id, "limit lifted: continues its session"});
  auto next_idle = close_idle_sessions(self, now);
  // An account a usage limit holds starts nothing new before the reset.
  sync_holds(self, now);
  // Tasks that would start over a budget: parked once the loop is done (the
  // queue must not change while it is being walked).
  std::map<task_id, std::string> over_budget;
  auto budgets_apply = st.cfg.spending.per_task_usd > 0
                       || st.cfg.spending.per_workflow_usd > 0
                       || st.cfg.spending.per_pool_usd > 0
                       || st.cfg.spending.per_day_usd > 0;
  while (st.place.has_capacity()
         && (st.cfg.max_running == 0 || st.running < st.cfg.max_running)) {
    start_check check;
    auto eligible = [&](const task_info& info) {
      if (over_budget.count(info.id) != 0)
        return false;
      check = check_start(self, info, now, budgets_apply, false);
      if (check.hold == start_hold::budget)
        over_budget.emplace(info.id, std::move(check.budget));
      return check.hold == start_hold::none;
    };
    auto next = st.tasks.next_queued(now, eligible, dispatch_lookahead);
    if (!next)
      break;
    const auto& info = *st.tasks.find(*next);
    auto attempt = info.attempts + 1;
    auto agent = check.choice->agent;
    if (st.cfg.breaker.failure_threshold != 0)
      note_breaker(self, info.spec.provider,
                   breaker_of(self, info.spec.provider).allow(now).transition);
    occupy(self, agent, info);
    task_assigned assigned{*next, agent, attempt,
                           std::move(check.choice->reason)};
    if (auto& seat = check.seat) {
      // A new session for a full pool takes the place of an idle one.
      if (seat->evict != 0)
        record(self, session_changed{seat->evict, "closed", {}, {}, {},
                                     "made room for a new session (task "
                                       + std::to_string(*next) + ")"});
      assigned.session = seat->session;
      assigned.tier = to_string(seat->tier);
      if (auto p = st.place.find(agent))
        assigned.pool = p->pool;
    }
    record(self, std::move(assigned));
    deferred run;
    run.what = deferred::kind::run;
    run.id = *next;
    run.attempt = attempt;
    run.handle = st.agents[agent].handle;
    when_durable(self, std::move(run));
  }
  for (auto& [id, why] : over_budget) {
    // A day's budget frees at midnight (UTC); a task's, workflow's or
    // pool's spent budget waits for a retry.
    auto daily = why.find(" today") != std::string::npos;
    spdlog::info("scheduler: task {} parked: {}", id, why);
    record(self, task_parked{id, why, daily ? next_utc_midnight(now) : 0, ""});
  }
  if (!st.scalers.empty())
    grow_pools(self, now);
  commit(self);
  // Delayed tasks wait on a timer, not a loop. Delayed messages cannot be
  // cancelled, so one is armed only when it is earlier than the armed one.
  auto due = st.tasks.next_due(now);
  // Idle sessions close at their timeout, not at the next dispatch.
  if (next_idle && *next_idle > now && (!due || *next_idle < *due))
    due = next_idle;
  if (due && (st.wake_armed_ms == 0 || *due < st.wake_armed_ms)) {
    st.wake_armed_ms = *due;
    self->delayed_send(self, std::chrono::milliseconds(*due - now),
                       wake_atom_v);
  }
}

/// Arms the expiry timer for the earliest waiter or journal deadline unless
/// one is armed that fires no later.
void arm_expiry(self_ptr self) {
  auto& st = self->state;
  auto journal_due = st.pipe.deadline();
  if (st.deadlines.empty() && !journal_due)
    return;
  auto earliest = caf::actor_clock::time_point::max();
  if (!st.deadlines.empty())
    earliest = st.deadlines.begin()->first;
  if (journal_due)
    earliest = std::min(earliest, *journal_due);
  if (st.expire_armed && *st.expire_armed <= earliest)
    return;
  st.expire_armed = earliest;
  self->delayed_send(self, earliest - self->clock().now(), expire_atom_v);
}

void notify_waiters(self_ptr self, task_id id) {
  auto& st = self->state;
  auto [first, last] = st.waiters_by_task.equal_range(id);
  for (auto i = first; i != last; ++i) {
    auto w = st.waiters.find(i->second);
    if (w != st.waiters.end()) {
      w->second.promise.deliver(*st.tasks.find(id));
      st.deadlines.erase({w->second.deadline, w->first});
      st.waiters.erase(w);
    }
  }
  st.waiters_by_task.erase(id);
}

/// Returns the agent that ran task `id` to the idle list, if it still exists
/// and still runs that task.
void free_agent(self_ptr self, const std::string& agent, task_id id) {
  auto& st = self->state;
  auto i = st.agents.find(agent);
  if (i == st.agents.end() || i->second.tasks.erase(id) == 0)
    return;
  st.place.change_load(agent, -1);
  --st.running;
  if (i->second.tasks.empty() && !st.scalers.empty())
    arm_idle(self, agent);
  if (auto info = st.tasks.find(id)) {
    auto w = st.running_per_workspace.find(info->spec.workspace);
    if (w != st.running_per_workspace.end() && --w->second == 0)
      st.running_per_workspace.erase(w);
  }
}

/// A drained scheduler with nothing running is stopped.
void check_drained(self_ptr self) {
  auto& st = self->state;
  if (st.life.phase() != scheduler_phase::stopping)
    return;
  if (st.running != 0)
    return;
  change_phase(self, scheduler_phase::stopped);
  commit(self);
}

/// Records a terminal event for `id` and answers its waiters once durable.
void workflow_task_ended(self_ptr self, workflow_id wid, const task_info& info);

void end_task(self_ptr self, task_event ev) {
  auto& st = self->state;
  auto id = subject(ev);
  record(self, ev);
  const auto& info = *st.tasks.find(id);
  if (info.started_ms != 0 && info.finished_ms >= info.started_ms) {
    auto ready = std::max(info.submitted_ms, info.not_before_ms);
    st.recent.push_back({info.finished_ms,
                         std::max<int64_t>(0, info.started_ms - ready),
                         info.finished_ms - info.started_ms});
    if (st.recent.size() > 10'000)
      st.recent.pop_front();
  }
  deferred notify;
  notify.what = deferred::kind::notify;
  notify.id = id;
  when_durable(self, std::move(notify));
  // The task's locks die with it (its process is gone or going).
  st.locks_held.erase(id);
  st.locks_acquiring.erase(id);
  if (st.cfg.locks)
    self->request(st.cfg.locks, std::chrono::seconds(30), release_atom_v,
                  "task:" + std::to_string(id))
      .then([](const lock_listing&) {},
            [id](caf::error& err) {
              spdlog::warn("scheduler: releasing the locks of task {} failed: {}",
                           id, describe(err));
            });
  // Dependents of a task that failed for good or was cancelled cannot run:
  // they are cancelled too, naming the cause (and so on down the graph).
  if (info.status == task_status::failed
      || info.status == task_status::cancelled) {
    auto why = "dependency " + std::to_string(id) + " " + to_string(info.status);
    for (auto dependent : st.tasks.blocked_on(id))
      if (st.tasks.find(dependent)->status == task_status::blocked)
        end_task(self, task_cancelled{dependent, why});
  }
  if (info.spec.workflow != 0)
    workflow_task_ended(self, info.spec.workflow, info);
}

/// Cancels task `id` (not ended) and stops its process if it runs.
void cancel_task(self_ptr self, task_id id, std::string reason) {
  auto& st = self->state;
  const auto& info = *st.tasks.find(id);
  auto running = info.status == task_status::running;
  auto agent = info.agent;
  end_task(self, task_cancelled{id, std::move(reason)});
  if (running)
    if (auto i = st.agents.find(agent); i != st.agents.end())
      self->send(i->second.handle, cancel_atom_v, id);
}

/// Applies the workflow's failure policy after one of its tasks ended, and
/// ends the workflow once all its tasks have.
void workflow_task_ended(self_ptr self, workflow_id wid, const task_info& info) {
  auto& st = self->state;
  auto rec = st.tasks.find_workflow(wid);
  if (rec == nullptr || rec->status != workflow_status::running)
    return;
  if (rec->policy == failure_policy::fail_fast
      && info.status == task_status::failed) {
    auto why = "workflow " + rec->name + " fails fast: task " + info.spec.key
               + " failed";
    // A copy: cancelling re-enters this function.
    for (auto other : std::vector<task_id>{rec->tasks})
      if (auto t = st.tasks.find(other); t != nullptr && !is_terminal(t->status))
        cancel_task(self, other, why);
  }
  // Cancelling above re-entered here and may have ended the workflow.
  if (rec->status != workflow_status::running)
    return;
  if (auto settled = settled_status(st.tasks, *rec))
    record(self, workflow_finished{wid, settled->first, settled->second});
}

int64_t percentile(std::vector<int64_t> xs, double p) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k),
                   xs.end());
  return xs[k];
}

/// Returns what clients see of the scheduler.
scheduler_status status_of(self_ptr self) {
  auto& st = self->state;
  scheduler_status result;
  result.phase = st.life.phase();
  result.counts = st.tasks.counts();
  result.agents = static_cast<uint32_t>(st.place.size());
  result.idle_agents = static_cast<uint32_t>(st.place.idle());
  auto now = now_ms(self);
  std::vector<int64_t> waits;
  std::vector<int64_t> runs;
  for (auto& e : st.recent) {
    if (now - e.end_ms <= 60'000)
      ++result.finished_last_minute;
    waits.push_back(e.wait_ms);
    runs.push_back(e.run_ms);
  }
  result.wait_p50_ms = percentile(waits, 0.50);
  result.wait_p99_ms = percentile(waits, 0.99);
  result.run_p50_ms = percentile(runs, 0.50);
  result.run_p99_ms = percentile(runs, 0.99);
  const auto& costs = st.tasks.costs();
  result.cost_today = figures_of(costs.today(now));
  result.cost_total = figures_of(costs.node_total());
  for (auto& name : costs.pools())
    if (auto today = costs.for_pool_day(name, utc_day(now));
        today != cost_totals{})
      result.pool_cost_today[name] = figures_of(today);
  result.holds = st.tasks.holds(now);
  return result;
}

/// Parks task `id`, whose attempt hit its provider's limit: until the reset
/// the run named, else for the back-off; with auto-resume off until a retry.
/// The account of the agent that ran it is held back until then either way.
void park(self_ptr self, task_id id, const run_report& report) {
  auto& st = self->state;
  auto now = now_ms(self);
  const auto& info = *st.tasks.find(id);
  int64_t until = report.limit_reset_ms > now ? report.limit_reset_ms
                                              : now + st.cfg.limit_backoff_ms;
  auto reason = report.limit
                + (report.limit_reset_ms > 0
                     ? ": resets at " + std::to_string(report.limit_reset_ms)
                     : ": no reset time given, back-off "
                         + std::to_string(st.cfg.limit_backoff_ms / 1000)
                         + " s");
  // The agent may be gone (its pool shrank): its pool's account then.
  auto account = st.place.find(info.agent) != nullptr
                   ? st.place.account_of(info.agent)
                   : st.place.settings(info.pool).account;
  record(self, limit_changed{id, "held", info.spec.provider, account, until,
                             reason});
  if (!st.cfg.auto_resume) {
    until = 0;
    reason += "; auto-resume is off: continue it with retry";
  }
  spdlog::info("scheduler: task {} parked ({})", id, reason);
  record(self, task_parked{id, std::move(reason), until, report.session, report});
}

/// Ends the current attempt of `id`: the task completes, is retried after
/// its back-off, or fails for good (dead letter).
void end_attempt(self_ptr self, task_id id, task_outcome outcome) {
  auto& st = self->state;
  const auto& info = *st.tasks.find(id);
  if (outcome.status != task_status::completed && !outcome.report.limit.empty()) {
    // The provider's limit, not the task's failure: no attempt used, no
    // breaker count.
    park(self, id, outcome.report);
    dispatch(self);
    check_drained(self);
    return;
  }
  if (st.cfg.breaker.failure_threshold != 0) {
    auto& b = breaker_of(self, info.spec.provider);
    auto now = now_ms(self);
    note_breaker(self, info.spec.provider,
                 is_provider_failure(outcome) ? b.on_failure(now)
                                              : b.on_success(now));
  }
  // A task whose attempts spent its own budget gets no further attempt.
  auto budget = task_budget_usd(self, info);
  auto spent = st.tasks.costs().for_task(id).usd() + outcome.report.cost_usd;
  auto stopped = outcome.reason.rfind("budget:", 0) == 0;
  if (outcome.status != task_status::completed && budget > 0
      && (stopped || spent >= budget)) {
    outcome.reason = "budget: task " + std::to_string(id) + " spent "
                     + format_usd(spent) + " of " + format_usd(budget)
                     + (stopped ? "; its running attempt was stopped"
                                : "; its last attempt: " + outcome.reason);
    end_task(self, task_finished{id, std::move(outcome)});
  } else if (outcome.status != task_status::completed
             && may_retry(info.spec.retry, info.attempts)) {
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    auto delay = retry_delay_ms(info.spec.retry, info.attempts, unit(st.rng));
    record(self, task_retry_scheduled{id, outcome.reason, now_ms(self) + delay,
                                      std::move(outcome.report)});
  } else {
    end_task(self, task_finished{id, std::move(outcome)});
  }
  dispatch(self);
  check_drained(self);
}

bool is_current_attempt(self_ptr self, task_id id, uint32_t attempt) {
  auto info = self->state.tasks.find(id);
  return info != nullptr && info->status == task_status::running
         && info->attempts == attempt;
}

/// Runs a life-cycle command and answers with the status once durable.
caf::result<scheduler_status> command(self_ptr self, lifecycle_command cmd) {
  auto& st = self->state;
  auto to = st.life.next(cmd);
  if (!to)
    return to.error();
  change_phase(self, *to);
  dispatch(self);
  check_drained(self);
  return answer<scheduler_status>(self, [self] {
    return caf::expected<scheduler_status>{status_of(self)};
  });
}

/// Checks a spec against the node: validation, defaults, then what only the
/// scheduler knows (providers, capabilities, agents, tasks). Errors name the
/// field.
/// Says that no agent runs `provider`: why, when the node knows (its CLI
/// was not found), else which providers there are.
caf::error unknown_provider(self_ptr self, const std::string& provider) {
  auto& st = self->state;
  auto prefix = "provider: no agent runs provider '" + provider + "'";
  if (auto i = st.cfg.absent_providers.find(provider);
      i != st.cfg.absent_providers.end())
    return make_error(errc::unknown_provider, prefix + ": " + i->second);
  std::string known;
  for (auto& name : st.place.providers())
    known += (known.empty() ? "" : ", ") + name;
  return make_error(errc::unknown_provider,
                    prefix + " (known: " + (known.empty() ? "none" : known)
                      + ")");
}

caf::error admit(self_ptr self, task_spec& spec) {
  auto& st = self->state;
  if (spec.retry.max_attempts == 0)
    spec.retry = st.cfg.default_retry;
  if (auto err = validate(spec, st.cfg.default_workspace, st.cfg.max_prompt_bytes))
    return err;
  auto& place = st.place;
  if (!place.knows_provider(spec.provider))
    return unknown_provider(self, spec.provider);
  auto invalid = [](std::string msg) {
    return make_error(errc::invalid_argument, std::move(msg));
  };
  if (!spec.pool.empty() && !place.knows_pool(spec.pool))
    return invalid("pool: unknown pool '" + spec.pool + "'");
  for (auto& cap : spec.capabilities)
    if (!place.knows_capability(cap))
      return invalid("capabilities: no agent offers '" + cap + "'");
  if (!spec.required_agent.empty() && place.find(spec.required_agent) == nullptr)
    return invalid("required_agent: unknown agent '" + spec.required_agent + "'");
  for (auto& name : spec.excluded_agents)
    if (place.find(name) == nullptr)
      return invalid("excluded_agents: unknown agent '" + name + "'");
  if (!spec.locks.empty() && !st.cfg.locks)
    return invalid("locks: this scheduler has no lock manager");
  if (spec.same_agent_as != 0 && st.tasks.find(spec.same_agent_as) == nullptr)
    return invalid("same_agent_as: no task with id "
                   + std::to_string(spec.same_agent_as));
  if (!place.could_run(spec))
    return invalid("placement: no agent can ever run this task (provider "
                   + spec.provider
                   + (spec.pool.empty() ? "" : ", pool " + spec.pool)
                   + (spec.capabilities.empty() ? ""
                                                : ", capabilities required")
                   + (spec.required_agent.empty()
                        ? ""
                        : ", agent " + spec.required_agent)
                   + ")");
  return {};
}

caf::expected<workflow_info> find_workflow(self_ptr self, workflow_id wid) {
  auto& st = self->state;
  if (auto rec = st.tasks.find_workflow(wid))
    return view_workflow(st.tasks, *rec, now_ms(self));
  return make_error(errc::no_such_task,
                    "no workflow with id " + std::to_string(wid));
}

/// Checks a workflow and records it with its tasks, dependencies first.
caf::expected<workflow_id> submit_workflow(self_ptr self, workflow_spec spec) {
  auto& st = self->state;
  if (spec.name.size() > task_limits::max_name_bytes)
    return make_error(errc::invalid_argument,
                      "name: longer than "
                        + std::to_string(task_limits::max_name_bytes) + " bytes");
  if (!(spec.budget_usd >= 0) || spec.budget_usd > task_limits::max_budget_usd)
    return make_error(errc::invalid_argument,
                      "budget_usd: must be a number of USD from 0 (the node's "
                      "per_workflow_usd) to "
                        + std::to_string(static_cast<int64_t>(
                          task_limits::max_budget_usd)));
  auto order = check_workflow(spec);
  if (!order)
    return order.error();
  // Every task is checked before anything is recorded: all or nothing.
  for (size_t i = 0; i < spec.tasks.size(); ++i) {
    auto& t = spec.tasks[i];
    if (!t.spec.depends_on.empty())
      return make_error(errc::invalid_argument,
                        "tasks[" + std::to_string(i)
                          + "].depends_on: name tasks of the workflow by id");
    if (auto err = admit(self, t.spec))
      return make_error(error_code(err), "tasks[" + std::to_string(i) + "]."
                                           + error_message(err));
  }
  auto wid = st.tasks.next_workflow_id();
  if (spec.name.empty())
    spec.name = "workflow-" + std::to_string(wid);
  std::map<std::string, task_id> ids;
  workflow_submitted ev{wid, spec.name, spec.policy, {}, spec.budget_usd};
  auto next = st.tasks.next_id();
  for (auto i : *order) {
    ids.emplace(spec.tasks[i].key, next);
    ev.tasks.push_back(next++);
  }
  record(self, ev);
  for (auto i : *order) {
    auto& t = spec.tasks[i];
    t.spec.workflow = wid;
    t.spec.key = t.key;
    for (auto& dep : t.depends_on)
      t.spec.depends_on.push_back(ids.at(dep));
    record(self, task_submitted{ids.at(t.key), std::move(t.spec)});
  }
  return wid;
}

/// Arms the timeout of attempt `attempt` of task `id`, counted from when it
/// started (an adopted process has used part of it already).
void arm_attempt_timeout(self_ptr self, task_id id, uint32_t attempt) {
  auto info = self->state.tasks.find(id);
  if (info == nullptr || info->spec.timeout_ms <= 0)
    return;
  auto left = std::max<int64_t>(
    0, info->started_ms + info->spec.timeout_ms - now_ms(self));
  self->delayed_send(self, std::chrono::milliseconds(left), timeout_atom_v, id,
                     attempt);
}

/// A task found running at start-up whose process cannot be adopted: it goes
/// back to the queue when its process never started, else its attempt fails.
void give_up_orphan(self_ptr self, task_id id, std::string why,
                    bool never_started = false) {
  auto info = self->state.tasks.find(id);
  if (info == nullptr || info->status != task_status::running)
    return;
  free_agent(self, info->agent, id);
  if (never_started || info->pid == 0)
    record(self, task_requeued{id, why + "; its process had not started"});
  else
    end_attempt(self, id, task_outcome{task_status::failed, -1, 0, why});
}

/// Forgets agent `name`: the attempts it was running fail (`agent_crashed`)
/// and follow their retry policy.
void agent_gone(self_ptr self, std::string name, const std::string& why) {
  auto& st = self->state;
  auto slot = st.agents.find(name);
  if (slot == st.agents.end())
    return;
  st.agent_names.erase(slot->second.handle.address());
  auto tasks = slot->second.tasks;
  for (auto id : tasks)
    free_agent(self, name, id);
  st.agents.erase(name);
  st.place.remove(name);
  spdlog::warn("scheduler: agent {} went down: {}", name, why);
  for (auto id : tasks)
    if (st.tasks.find(id)->status == task_status::running)
      end_attempt(self, id,
                  task_outcome{task_status::failed, -1, 0,
                               "agent_crashed: " + why});
}

/// Hands the tasks that agent `name` ran before the restart back to it.
void adopt_orphans(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto i = st.orphans.find(name);
  if (i == st.orphans.end())
    return;
  auto ids = std::move(i->second);
  st.orphans.erase(i);
  auto agent = st.agents[name].handle;
  for (auto id : ids) {
    const auto& info = *st.tasks.find(id);
    if (info.status != task_status::running)
      continue;
    occupy(self, name, info);
    auto attempt = info.attempts;
    self
      ->request(agent, std::chrono::seconds(30), adopt_atom_v, id, attempt,
                info.process, task_log_path(st.cfg.log_dir, id))
      .then(
        [self, id, attempt](bool found) {
          if (!is_current_attempt(self, id, attempt))
            return;
          if (found) {
            spdlog::info("scheduler: task {} attempt {}: process adopted", id,
                         attempt);
            arm_attempt_timeout(self, id, attempt);
            return;
          }
          give_up_orphan(self, id, "node restarted while the task was running",
                         true);
          dispatch(self);
        },
        [self, id, attempt](caf::error& err) {
          if (!is_current_attempt(self, id, attempt))
            return;
          give_up_orphan(self, id,
                         "cannot adopt the process after the restart: "
                           + self->system().render(err));
          dispatch(self);
        });
  }
}

/// Every registered agent and each provider's breaker.
agent_listing list_agents(self_ptr self) {
  auto& st = self->state;
  agent_listing result;
  for (auto& [name, slot] : st.agents) {
    agent_view view;
    if (auto p = st.place.find(name))
      view.profile = *p;
    view.profile.name = name;
    view.tasks.assign(slot.tasks.begin(), slot.tasks.end());
    result.agents.push_back(std::move(view));
  }
  auto now = now_ms(self);
  for (auto& [provider, b] : st.breakers)
    result.breakers.push_back(
      breaker_view{provider, to_string(b.state()), b.failures(),
                   b.state() == breaker_state::open ? b.retry_at_ms(now)
                                                    : 0});
  const auto& costs = st.tasks.costs();
  for (auto& pool : costs.pools())
    result.costs.push_back(
      pool_cost{pool, figures_of(costs.for_pool_day(pool, utc_day(now))),
                figures_of(costs.for_pool(pool))});
  return result;
}

/// Returns session `s` as clients see it: its key only while the binding
/// is fresh (a lapsed key routes nowhere).
session_info view_session(self_ptr self, const session_info& s) {
  auto result = s;
  if (!result.resume_key.empty()
      && self->state.tasks.sessions().bound(result.resume_key, now_ms(self))
           != std::optional<session_id>{s.id})
    result.resume_key.clear();
  return result;
}

caf::expected<session_info> find_session(self_ptr self, session_id id) {
  if (auto s = self->state.tasks.sessions().find(id))
    return view_session(self, *s);
  return make_error(errc::no_such_task, "no session " + std::to_string(id));
}

/// Returns the newest `limit` sessions (0: all) in `state`: a state's name,
/// `open` (all but closed) or empty (any).
std::vector<session_info> list_sessions(self_ptr self, const std::string& state,
                                        uint32_t limit) {
  std::vector<session_info> result;
  for (auto& s : self->state.tasks.sessions().list())
    if (state.empty() || to_string(s.state) == state
        || (state == "open" && s.state != session_state::closed))
      result.push_back(view_session(self, s));
  if (limit != 0 && result.size() > limit)
    result.erase(result.begin(),
                 result.begin() + static_cast<ptrdiff_t>(result.size() - limit));
  return result;
}

/// Opens, pauses, resumes or closes a session on a client's word; refuses
/// illegal transitions naming the allowed ones.
caf::result<session_info> command_session(self_ptr self,
                                          session_command_spec cmd) {
  auto& st = self->state;
  const auto& sessions = st.tasks.sessions();
  auto reply = [self](session_id id) {
    return answer<session_info>(self, [self, id] { return find_session(self, id); });
  };
  if (cmd.what == "open") {
    if (cmd.provider.empty())
      return make_error(errc::invalid_argument, "provider: required");
    if (!st.place.knows_provider(cmd.provider))
      return unknown_provider(self, cmd.provider);
    task_spec probe;
    probe.provider = cmd.provider;
    if (!uses_sessions(probe))
      return make_error(errc::invalid_argument,
                        "provider: tasks of provider '" + cmd.provider
                          + "' do not run in sessions (only claude's do)");
    if (auto err = validate_name("resume_key", cmd.resume_key, true))
      return err;
    if (!cmd.pool.empty() && !st.place.knows_pool(cmd.pool))
      return make_error(errc::invalid_argument,
                        "pool: unknown pool '" + cmd.pool.substr(0, 64)
                          + (cmd.pool.size() > 64 ? "…" : "") + "'");
    auto open = sessions.open_in_pool(cmd.pool);
    if (open >= sessions.pool_limit(cmd.pool))
      return make_error(errc::illegal_transition,
                        "pool '" + cmd.pool + "' has all "
                          + std::to_string(open) + " sessions open");
    auto id = sessions.next_id();
    record(self, session_changed{id, "opened", cmd.provider, cmd.pool,
                                 cmd.resume_key, "opened by request"});
    return reply(id);
  }
  auto s = find_session(self, cmd.id);
  if (!s)
    return s.error();
  session_command verb;
  if (cmd.what == "pause")
    verb = session_command::pause;
  else if (cmd.what == "resume")
    verb = session_command::resume;
  else if (cmd.what == "close")
    verb = session_command::close;
  else
    return make_error(errc::invalid_argument,
                      "command: '" + cmd.what
                        + "' is not one of open, pause, resume, close");
  auto allowed = sessions.allowed(cmd.id);
  if (std::find(allowed.begin(), allowed.end(), verb) == allowed.end()) {
    std::string names;
    // Only the commands a client may give: assign and release are the
    // scheduler's own.
    for (auto a : allowed)
      if (a != session_command::assign && a != session_command::release)
        names += (names.empty() ? "" : ", ") + to_string(a);
    return make_error(errc::illegal_transition,
                      "cannot " + cmd.what + " session " + std::to_string(cmd.id)
                        + ": it is " + to_string(s->state)
                        + (s->current_task != 0 ? " with a running task" : "")
                        + "; allowed: " + (names.empty() ? "none" : names));
  }
  static const std::map<std::string, std::string> past{
    {"pause", "paused"}, {"resume", "resumed"}, {"close", "closed"}};
  record(self, session_changed{cmd.id, past.at(cmd.what), {}, {}, {},
                               cmd.what + " by request"});
  // A resumed session may take a waiting task.
  dispatch(self);
  return reply(cmd.id);
}

scheduler_actor::behavior_type scheduler_impl(self_ptr self,
                                              scheduler_config cfg) {
  auto& st = self->state;
  if (cfg.recovered)
    st.tasks = std::move(*cfg.recovered);
  cfg.recovered.reset();
  st.cfg = std::move(cfg);
  st.tasks.configure_sessions(st.cfg.sessions, {});
  st.place.configure(st.cfg.pools, st.cfg.provider_limits);
  st.last_seq = st.cfg.last_seq;
  // A pause outlives a restart; a drain does not (it was for the shutdown).
  if (st.cfg.recovered_phase == scheduler_phase::paused)
    st.life.apply(scheduler_phase::paused);
  if (st.cfg.snapshot_interval.count() > 0)
    self->delayed_send(self, st.cfg.snapshot_interval, snapshot_atom_v);
  // Processes run under cw-shim and outlive the node: each running task
  // waits for its agent to come back and adopt its process.
  for (auto id : st.tasks.running())
    st.orphans[st.tasks.find(id)->agent].push_back(id);
  if (!st.orphans.empty())
    self->delayed_send(self, st.cfg.adopt_timeout, adopt_atom_v);
  commit(self);
  if (st.cfg.journal)
    self->monitor(st.cfg.journal);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.cfg.journal.address()) {
      spdlog::critical("scheduler: journal went down, stopping: {}",
                       self->system().render(dm.reason));
      self->quit(dm.reason ? dm.reason
                           : caf::error{caf::sec::request_receiver_down});
      return;
    }
    auto i = st.agent_names.find(dm.source);
    if (i == st.agent_names.end())
      return;
    agent_gone(self, i->second, self->system().render(dm.reason));
  });
  return {
    [self](submit_atom, task_spec spec) -> caf::result<task_info> {
      auto& st = self->state;
      if (auto err = admit(self, spec))
        return err;
      for (auto dep : spec.depends_on)
        if (st.tasks.find(dep) == nullptr)
          return make_error(errc::invalid_argument,
                            "depends_on: no task with id " + std::to_string(dep));
      // A task joins a workflow only through the workflow's submission.
      spec.workflow = 0;
      spec.key.clear();
      auto id = st.tasks.next_id();
      auto deps = spec.depends_on;
      record(self, task_submitted{id, std::move(spec)});
      // A dependency that already failed or was cancelled dooms the task.
      for (auto dep : deps) {
        auto status = st.tasks.find(dep)->status;
        if (status == task_status::failed || status == task_status::cancelled) {
          end_task(self, task_cancelled{id, "dependency " + std::to_string(dep)
                                              + " " + to_string(status)});
          break;
        }
      }
      auto result = answer_task(self, id);
      dispatch(self);
      return result;
    },
    [self](lookup_atom, task_id id) -> caf::result<task_info> {
      return answer_task(self, id, true);
    },
    [self](list_atom, task_filter filter) -> caf::result<std::vector<task_info>> {
      return answer<std::vector<task_info>>(self, [self, filter] {
        return caf::expected<std::vector<task_info>>{
          self->state.tasks.list(filter)};
      });
    },
    [self](await_atom, task_id id,
           caf::timespan max_wait) -> caf::result<task_info> {
      auto& st = self->state;
      auto info = st.tasks.find(id);
      if (info == nullptr || is_terminal(info->status))
        return answer_task(self, id);
      auto wid = ++st.next_waiter;
      auto rp = self->make_response_promise<task_info>();
      auto wait = std::min(max_wait, caf::timespan{max_await});
      auto deadline = self->clock().now() + wait;
      st.waiters.emplace(wid, waiter{id, rp, deadline});
      st.waiters_by_task.emplace(id, wid);
      st.deadlines.emplace(deadline, wid);
      arm_expiry(self);
      return rp;
    },
    [self](register_atom, agent_profile profile, agent_actor agent) {
      auto& st = self->state;
      auto name = profile.name;
      if (name.empty() || profile.max_load == 0 || profile.weight == 0) {
        spdlog::error("scheduler: agent '{}' refused: a name, a max load and a "
                      "weight of at least 1 are required",
                      name);
        return;
      }
      // A restarted agent comes back under its name, possibly before the
      // scheduler saw the old instance go down.
      if (auto old = st.agents.find(name); old != st.agents.end()) {
        if (old->second.handle == agent)
          return;
        agent_gone(self, name, "replaced by a new instance");
      }
      if (!st.place.add(profile)) {
        spdlog::error("scheduler: agent name {} registered twice", name);
        return;
      }
      self->monitor(agent);
      st.agent_names.emplace(agent.address(), name);
      st.agents.emplace(name, agent_slot{agent, {}});
      adopt_orphans(self, name);
      if (auto sc = st.scalers.find(profile.pool); sc != st.scalers.end()) {
        sc->second.starting.erase(name);
        arm_idle(self, name);
      }
      if (!st.agent_waiters.empty()) {
        auto listing = list_agents(self);
        std::erase_if(st.agent_waiters, [&](auto& w) {
          if (st.agents.size() < w.first)
            return false;
          w.second.deliver(listing);
          return true;
        });
      }
      if (st.life.phase() == scheduler_phase::idle)
        change_phase(self, scheduler_phase::running);
      dispatch(self);
    },
    [self](started_atom, task_id id, uint32_t attempt, process_ref process) {
      if (!is_current_attempt(self, id, attempt))
        return;
      record(self, task_started{id, process.pid, process});
      commit(self);
      arm_attempt_timeout(self, id, attempt);
    },
    [self](session_atom, list_atom, std::string state,
           uint32_t limit) -> caf::result<std::vector<session_info>> {
      return answer<std::vector<session_info>>(self, [self, state, limit] {
        return caf::expected<std::vector<session_info>>{
          list_sessions(self, state, limit)};
      });
    },
    [self](costs_atom, uint32_t days) -> caf::result<cost_report> {
      return answer<cost_report>(self, [self, days] {
        return caf::expected<cost_report>{
          self->state.tasks.costs().report(days)};
      });
    },
    [self](session_atom, lookup_atom, session_id id) -> caf::result<session_info> {
      return answer<session_info>(self, [self, id] { return find_session(self, id); });
    },
    [self](session_atom, session_command_spec cmd) -> caf::result<session_info> {
      return command_session(self, std::move(cmd));
    },
    [self](agents_atom) -> caf::result<agent_listing> {
      return list_agents(self);
    },
    [self](register_atom, const std::string& pool, caf::actor supervisor) {
      // A pool supervisor (again, after a restart): what was asked of the
      // old one is void.
      auto& st = self->state;
      pool_scaler sc;
      sc.supervisor = std::move(supervisor);
      st.scalers[pool] = std::move(sc);
      // A pool that may grow is as good as an agent to start with.
      if (st.life.phase() == scheduler_phase::idle)
        change_phase(self, scheduler_phase::running);
      dispatch(self);
    },
    [self](shrink_atom, const std::string& name, uint64_t stamp) {
      auto& st = self->state;
      auto slot = st.agents.find(name);
      auto profile = st.place.find(name);
      if (slot == st.agents.end() || profile == nullptr
          || slot->second.idle_stamp != stamp || !slot->second.tasks.empty())
        return;
      auto pool = profile->pool;
      const auto& s = st.place.settings(pool);
      auto sc = st.scalers.find(pool);
      if (sc == st.scalers.end() || !sc->second.supervisor
          || st.place.pool_agents(pool) <= s.min_agents)
        return;
      // Out of placement first: no task may go to it from now on.
      st.agent_names.erase(slot->second.handle.address());
      self->demonitor(slot->second.handle.address());
      st.agents.erase(slot);
      st.place.remove(name);
      auto why = "idle for " + std::to_string(s.idle_timeout_ms / 1000) + " s";
      spdlog::info("scheduler: agent {} of pool {} stops: {}", name, pool, why);
      caf::anon_send(sc->second.supervisor, shrink_atom_v, name, why);
    },
    [self](agents_atom, uint32_t n) -> caf::result<agent_listing> {
      auto& st = self->state;
      if (st.agents.size() >= n)
        return list_agents(self);
      auto rp = self->make_response_promise<agent_listing>();
      st.agent_waiters.emplace_back(n, rp);
      return rp;
    },
    [self](interrupt_atom) -> caf::result<uint32_t> {
      auto& st = self->state;
      uint32_t count = 0;
      for (auto id : st.tasks.running()) {
        free_agent(self, st.tasks.find(id)->agent, id);
        record(self, task_requeued{id, "node stopped while the task was running"});
        ++count;
      }
      st.orphans.clear();
      // No new starts: the node is going down (a stop, unlike a pause, does
      // not outlive the restart).
      change_phase(self, scheduler_phase::stopping);
      check_drained(self);
      return answer<uint32_t>(
        self, [count] { return caf::expected<uint32_t>{count}; });
    },
    [self](adopt_atom) {
      // The agents that did not come back: their tasks run again.
      auto& st = self->state;
      auto orphans = std::move(st.orphans);
      st.orphans.clear();
      for (auto& [agent, ids] : orphans)
        for (auto id : ids)
          give_up_orphan(self, id,
                         "agent " + agent
                           + " did not come back after the node restarted");
      // Locks do not outlive the node: tasks that run on take theirs again
      // before any queued task may ask.
      if (st.cfg.locks)
        for (auto& info : st.tasks.list(task_filter{false, task_status::running, 0, false}))
          for (auto& text : info.spec.locks) {
            auto need = parse_lock_need(text);
            st.locks_held.insert(info.id);
            self
              ->request(st.cfg.locks, std::chrono::seconds(30), lock_atom_v,
                        lock_spec{"task:" + std::to_string(info.id),
                                  need.resource, need.exclusive,
                                  info.spec.priority, 0})
              .then([](const lock_grant&) {},
                    [id = info.id, r = need.resource](caf::error& err) {
                      spdlog::warn("scheduler: task {} could not take lock {} "
                                   "again: {}",
                                   id, r, describe(err));
                    });
          }
      dispatch(self);
    },
    [self](finished_atom, task_id id, uint32_t attempt, task_outcome outcome) {
      auto& st = self->state;
      auto info = st.tasks.find(id);
      if (info == nullptr)
        return;
      // The agent is free again whatever became of the task meanwhile (it
      // may have been cancelled while its process was ending).
      free_agent(self, info->agent, id);
      bool timed_out = st.timed_out.erase({id, attempt}) > 0;
      if (!is_current_attempt(self, id, attempt)) {
        dispatch(self);
        check_drained(self);
        return;
      }
      if (timed_out) {
        outcome.status = task_status::failed;
        outcome.reason = "timeout";
        outcome.report.limit.clear(); // the task's own limit wins
      }
      end_attempt(self, id, std::move(outcome));
    },
    [self](timeout_atom, task_id id, uint32_t attempt) {
      auto& st = self->state;
      if (!is_current_attempt(self, id, attempt))
        return;
      st.timed_out.emplace(id, attempt);
      if (auto i = st.agents.find(st.tasks.find(id)->agent); i != st.agents.end())
        self->send(i->second.handle, cancel_atom_v, id);
    },
    [self](flush_atom) { flush_rows(self); },
    [self](wake_atom) {
      self->state.wake_armed_ms = 0;
      dispatch(self);
    },
    [self](cancel_atom, task_id id) -> caf::result<task_info> {
      auto& st = self->state;
      auto info = st.tasks.find(id);
      if (info == nullptr)
        return find_task(self, id).error();
      if (is_terminal(info->status))
        return make_error(errc::illegal_transition,
                          "task " + std::to_string(id) + " has already ended ("
                            + to_string(info->status) + ")");
      cancel_task(self, id, "cancelled by request");
      auto result = answer_task(self, id);
      dispatch(self);
      return result;
    },
    [self](workflow_atom, submit_atom,
           workflow_spec spec) -> caf::result<workflow_info> {
      auto wid = submit_workflow(self, std::move(spec));
      if (!wid)
        return wid.error();
      auto result = answer<workflow_info>(self, [self, wid = *wid] {
        return find_workflow(self, wid);
      });
      dispatch(self);
      return result;
    },
    [self](workflow_atom, lookup_atom,
           workflow_id wid) -> caf::result<workflow_info> {
      return answer<workflow_info>(self,
                                   [self, wid] { return find_workflow(self, wid); });
    },
    [self](workflow_atom, list_atom,
           uint32_t limit) -> caf::result<std::vector<workflow_info>> {
      return answer<std::vector<workflow_info>>(self, [self, limit] {
        auto& st = self->state;
        std::vector<workflow_info> result;
        auto now = now_ms(self);
        for (auto rec : st.tasks.workflows(limit))
          result.push_back(view_workflow(st.tasks, *rec, now));
        return caf::expected<std::vector<workflow_info>>{std::move(result)};
      });
    },
    [self](workflow_atom, cancel_atom,
           workflow_id wid) -> caf::result<workflow_info> {
      auto& st = self->state;
      auto rec = st.tasks.find_workflow(wid);
      if (rec == nullptr)
        return find_workflow(self, wid).error();
      if (rec->status != workflow_status::running)
        return make_error(errc::illegal_transition,
                          "workflow " + std::to_string(wid) + " has already ended ("
                            + to_string(rec->status) + ")");
      for (auto id : std::vector<task_id>{rec->tasks})
        if (auto t = st.tasks.find(id); t != nullptr && !is_terminal(t->status))
          cancel_task(self, id, "workflow cancelled by request");
      auto result = answer<workflow_info>(self, [self, wid] {
        return find_workflow(self, wid);
      });
      dispatch(self);
      return result;
    },
    [self](retry_atom, task_id id) -> caf::result<task_info> {
      auto& st = self->state;
      auto info = st.tasks.find(id);
      if (info == nullptr)
        return find_task(self, id).error();
      if (info->status == task_status::parked) {
        // Continues now, without waiting for the reset: the hold its limit
        // put on the account goes too.
        for (auto& hold : st.tasks.holds(now_ms(self)))
          if (hold.task == id)
            record(self, limit_changed{id, "lifted", hold.provider,
                                       hold.account, 0,
                                       "task " + std::to_string(id)
                                         + " continued by request"});
        record(self, task_requeued{id, "continued by request"});
      }
      else if (info->status != task_status::failed
               && info->status != task_status::cancelled)
        return make_error(errc::illegal_transition,
                          "task " + std::to_string(id) + " is "
                            + to_string(info->status)
                            + "; only failed, cancelled or parked tasks can "
                              "be retried");
      else
        record(self, task_retried{id});
      auto result = answer_task(self, id);
      dispatch(self);
      return result;
    },
    [self](stats_atom) -> caf::result<scheduler_status> {
      return answer<scheduler_status>(self, [self] {
        return caf::expected<scheduler_status>{status_of(self)};
      });
    },
    [self](pause_atom) -> caf::result<scheduler_status> {
      return command(self, lifecycle_command::pause);
    },
    [self](resume_atom) -> caf::result<scheduler_status> {
      return command(self, lifecycle_command::resume);
    },
    [self](drain_atom) -> caf::result<scheduler_status> {
      return command(self, lifecycle_command::drain);
    },
    [self](snapshot_atom) {
      auto& st = self->state;
      if (st.since_snapshot > 0)
        take_snapshot(self);
      self->delayed_send(self, st.cfg.snapshot_interval, snapshot_atom_v);
    },
    [self](expire_atom) {
      auto& st = self->state;
      st.expire_armed.reset();
      auto now = self->clock().now();
      if (stop_if_overdue(self, st.pipe, "scheduler"))
        return;
      while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
        auto wid = st.deadlines.begin()->second;
        st.deadlines.erase(st.deadlines.begin());
        auto i = st.waiters.find(wid);
        if (i == st.waiters.end())
          continue;
        auto id = i->second.id;
        auto promise = std::move(i->second.promise);
        st.waiters.erase(i);
        auto [first, last] = st.waiters_by_task.equal_range(id);
        for (auto j = first; j != last; ++j) {
          if (j->second == wid) {
            st.waiters_by_task.erase(j);
            break;
          }
        }
        when_durable(self, [self, id, promise]() mutable {
          promise.deliver(*self->state.tasks.find(id));
        });
      }
      arm_expiry(self);
    },
  };
}

} // namespace

scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_config cfg) {
  return sys.spawn(scheduler_impl, std::move(cfg));
}

} // namespace cw::actors
