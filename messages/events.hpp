#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "caf/meta/type_name.hpp"

#include "messages/task.hpp"
#include "messages/workflow.hpp"

namespace cw {

/// One journal row: an immutable fact with its envelope. The payload is the
/// JSON encoding of a typed event (see persistence/event_codec.hpp).
struct event {
  /// Journal order, dense and increasing from 1; 0 until appended.
  uint64_t seq = 0;
  /// Wall-clock time of the decision, milliseconds since the epoch.
  int64_t time_ms = 0;
  /// Name of the node that decided it.
  std::string node;
  /// Event type without version, e.g. `"task.submitted"`.
  std::string type;
  /// Schema version of the payload for this type.
  uint32_t version = 1;
  /// The entity the fact is about, e.g. `"task/42"`.
  std::string entity;
  /// JSON object text.
  std::string payload;
  /// Checksum over all other fields; filled in by the journal.
  uint64_t checksum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(caf::meta::type_name("cw.event"), x.seq, x.time_ms, x.node, x.type,
           x.version, x.entity, x.payload, x.checksum);
}

/// A saved fold: the state of one kind of actor after the event `seq`.
struct snapshot {
  /// The last event the state covers.
  uint64_t seq = 0;
  /// When it was taken, milliseconds since the epoch.
  int64_t time_ms = 0;
  /// Whose state it is, e.g. `"tasks"`.
  std::string kind;
  /// The serialized state (format owned by the folding class).
  std::string state;
  /// Checksum over all other fields; filled in by the journal.
  uint64_t checksum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot& x) {
  return f(caf::meta::type_name("cw.snapshot"), x.seq, x.time_ms, x.kind,
           x.state, x.checksum);
}

// -- typed task events --------------------------------------------------------

/// A client submitted a task (`task.submitted@3`; version 1 had no retry
/// policy, timeout or run_at; version 2 no workflow, key or placement).
struct task_submitted {
  task_id id = 0;
  task_spec spec;
};

/// The scheduler assigned a task to an agent and counted an attempt
/// (`task.assigned@2`; version 1 had no reason). Recorded before the agent
/// starts the process.
struct task_assigned {
  task_id id = 0;
  std::string agent;
  uint32_t attempt = 0;
  /// Why this agent was chosen; empty in events of version 1.
  std::string reason;
  /// The session the task runs in (0: none) and the tier that found it
  /// (`by_key`, `own`, `idle` or `fresh`: a new session with this id).
  uint64_t session = 0;
  std::string tier = {};
  /// The agent's pool (with a session only: costs are booked per pool).
  std::string pool = {};
};

/// The agent's process for a task is running (`task.started@1`).
struct task_started {
  task_id id = 0;
  int64_t pid = 0;
  /// The process and its shim (`task.started@2`; zero in version 1).
  process_ref process;
};

/// A task's attempt ended and so did the task (`task.finished@1`).
struct task_finished {
  task_id id = 0;
  task_outcome outcome;
};

/// A task went back to the queue, e.g. after its node died (`task.requeued@1`).
struct task_requeued {
  task_id id = 0;
  std::string reason;
};

/// An attempt failed and another is due at `run_at_ms`
/// (`task.retry_scheduled@1`); the task waits in the queue until then.
struct task_retry_scheduled {
  task_id id = 0;
  /// Why the attempt failed.
  std::string reason;
  int64_t run_at_ms = 0;
  /// What the failed attempt of a prompt-driven task reported (its cost
  /// counts).
  run_report report = {};
};

/// The task was cancelled (`task.cancelled@1`).
struct task_cancelled {
  task_id id = 0;
  std::string reason;
};

/// An attempt hit its provider's usage or rate limit (`task.parked@1`): the
/// task waits in `parked` until `until_ms` (0: until a `retry`) without
/// using up the attempt, then continues provider session `session`.
struct task_parked {
  task_id id = 0;
  /// The limit and what the run said, e.g. `usage_limit: resets 3pm`.
  std::string reason;
  int64_t until_ms = 0;
  std::string session;
  /// What the limited run reported (it may have spent money before the
  /// limit); empty for a task parked before it started (budgets).
  run_report report = {};
};

/// A client opened, paused, resumed or closed a session, or it was closed
/// for idling (`session.<what>@1`, entity `session/<id>`). Assignments and
/// releases are facts of the tasks (`task.assigned`, the task's end).
struct session_changed {
  uint64_t id = 0;
  /// `opened`, `paused`, `resumed` or `closed`.
  std::string what;
  /// `opened` only: the session's provider, pool and resume key.
  std::string provider = {};
  std::string pool = {};
  std::string resume_key = {};
  std::string reason = {};
};

/// A provider account hit a usage or rate limit, or the hold that put on it
/// ended (`limit.held@1`, `limit.lifted@1`, entity
/// `limit/<provider>/<account>`): while held, no pool of that provider and
/// account starts a task. Held from the limited run's end until `until_ms`,
/// whatever becomes of the task that hit it.
struct limit_changed {
  /// The task whose run hit the limit (`held`), or whose retry lifted it.
  task_id id = 0;
  /// `held` or `lifted`.
  std::string what;
  std::string provider;
  /// The pools' `account`, empty for the node's own.
  std::string account;
  /// `held`: when it lifts (ms since the epoch).
  int64_t until_ms = 0;
  /// `held`: the limit and what the run said; `lifted`: why.
  std::string reason = {};
};

/// A failed task was given fresh attempts (`task.retried@1`).
struct task_retried {
  task_id id = 0;
};

/// The scheduler's life cycle moved (`scheduler.phase_changed@1`).
struct scheduler_phase_changed {
  scheduler_phase from = scheduler_phase::idle;
  scheduler_phase to = scheduler_phase::idle;
};

/// A supervisor started, lost, restarts, gave up on or stopped a child
/// (`supervisor.<what>@1`, entity `supervisor/<supervisor>/<child>`).
struct supervisor_event {
  /// `started`, `crashed`, `restarting`, `gave_up` or `stopped`.
  std::string what;
  std::string supervisor;
  std::string child;
  /// The exit reason or cause; empty for `started`.
  std::string reason;
  /// Consecutive restarts of the child.
  uint32_t restarts = 0;
  /// Back-off before the restart (`restarting` only).
  int64_t delay_ms = 0;
};

/// A provider's circuit breaker changed state (`provider.breaker@1`, entity
/// `provider/<name>`).
struct breaker_changed {
  std::string provider;
  /// `closed`, `open` or `half_open`.
  std::string from;
  std::string to;
  uint32_t failures = 0;
  std::string reason;
};

// -- typed workflow events ----------------------------------------------------

/// A client submitted a workflow (`workflow.submitted@1`). Recorded before
/// the `task.submitted` events of its tasks, which follow in `tasks` order.
struct workflow_submitted {
  workflow_id id = 0;
  std::string name;
  failure_policy policy = failure_policy::fail_fast;
  /// Its tasks in topological order (dependencies first).
  std::vector<task_id> tasks;
  /// Its own budget in USD (0: the node's `per_workflow_usd`).
  double budget_usd = 0;
};

/// Every task of a workflow ended (`workflow.finished@1`).
struct workflow_finished {
  workflow_id id = 0;
  workflow_status status = workflow_status::completed;
  std::string reason;
};

/// Any typed event of the task fold (tasks and the workflows they form).
using task_event
  = std::variant<task_submitted, task_assigned, task_started, task_finished,
                 task_requeued, task_retry_scheduled, task_cancelled,
                 task_retried, task_parked, workflow_submitted,
                 workflow_finished, session_changed, limit_changed>;

/// Returns the id of the entity a typed event is about: a task id, or a
/// workflow id for workflow events.
uint64_t subject(const task_event& x);

/// Returns whether `x` is about a workflow rather than a task.
bool is_workflow_event(const task_event& x);

/// Returns whether `x` is about a limit hold rather than a task.
bool is_limit_event(const task_event& x);

/// Returns whether `x` is about a session rather than a task.
bool is_session_event(const task_event& x);

/// Returns the entity of `x` as the journal names it: `"task/42"`,
/// `"workflow/7"`, `"session/3"` or `"limit/claude/default"`.
std::string entity_of(const task_event& x);

} // namespace cw
