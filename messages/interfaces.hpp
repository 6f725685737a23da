#pragma once

// The typed contracts between cw's actors. HTTP handlers use them too.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/replies_to.hpp"
#include "caf/timespan.hpp"
#include "caf/typed_actor.hpp"

#include "messages/events.hpp"
#include "messages/locks.hpp"
#include "messages/task.hpp"
#include "messages/type_ids.hpp"
#include "messages/workspace.hpp"

namespace cw {

/// An observer of the journal: an actor that the node hands every committed
/// batch of events (see `spawn_journal_writer`). Plugins add observers.
/// - `committed(events)`: the events of one committed transaction, in seq
///   order, with seqs and checksums filled in. Sent after the commit is
///   durable, before the appends it holds are acknowledged.
using observer_actor
  = caf::typed_actor<caf::reacts_to<committed_atom, std::vector<event>>>;

/// The single writer of the journal.
/// - `append`: stores the events in one transaction (possibly together with
///   other appends: group commit) and replies with the seq of the last one,
///   only after the transaction is durable. Errors: `journal_io`.
/// - `snapshot(x)`: stores a snapshot; failures are logged, not fatal (the
///   next start-up replays more).
/// - `flush`: internal; commits the pending batch.
using journal_actor = caf::typed_actor<
  caf::replies_to<append_atom, std::vector<event>>::with<uint64_t>,
  caf::reacts_to<snapshot_atom, snapshot>,
  caf::reacts_to<flush_atom>>;

/// An agent: runs up to its max load of tasks at a time (the `command`
/// provider: one process each).
/// - `run(id, attempt, spec, log_path)`: starts the task's process; the agent
///   answers the scheduler with `started` and later `finished`.
/// - `cancel(id)`: terminates the task's process group if it runs.
/// - `adopt(id, attempt, process, log_path)`: takes over the process of a
///   task that was running when the node went down. Replies true when the
///   process is found (running: `finished` follows when it ends; ended while
///   the node was down, or its shim died: `finished` follows at once), false
///   when it never started (the task can run again).
/// - `watch(id, attempt)`: internal; time to read a watched run's new output.
/// - `started`, `finished`: internal; reports of the process launcher.
using agent_actor = caf::typed_actor<
  caf::reacts_to<run_atom, task_id, uint32_t, task_spec, std::string>,
  caf::reacts_to<cancel_atom, task_id>,
  caf::replies_to<adopt_atom, task_id, uint32_t, process_ref,
                  std::string>::with<bool>,
  caf::reacts_to<watch_atom, task_id, uint32_t>,
  caf::reacts_to<started_atom, task_id, uint32_t, process_ref>,
  caf::reacts_to<finished_atom, task_id, uint32_t, task_outcome>>;

/// The scheduler: owns task state and dispatches tasks to agents.
/// - `submit(spec)`: validates, journals `task.submitted`, replies with the
///   new task. Errors: `invalid_argument`, `unknown_provider`.
/// - `lookup(id)`: replies with the task. Errors: `no_such_task`.
/// - `list(filter)`: replies with matching tasks, newest first.
/// - `await(id, max_wait)`: replies once the task has ended, or with its
///   current state after `max_wait`. Errors: `no_such_task`.
/// - `register(profile, agent)`: adds an idle agent with its pool,
///   provider, capabilities, max load and weight.
/// - `register(pool, supervisor)`: the supervisor of an elastic pool, which
///   the scheduler asks to `grow` while the pool's ready tasks outnumber its
///   free slots (up to `max_agents`) and to `shrink` an agent idle past the
///   pool's `idle_timeout_ms` (down to `min_agents`).
/// - `shrink(agent, stamp)`: internal; an idle timer fired.
/// - `started(id, attempt, process)`, `finished(id, attempt, outcome)`:
///   reports of agents about their processes.
/// - `cancel(id)`: cancels a queued or running task (its process group is
///   terminated). Errors: `no_such_task`, `illegal_transition` (ended).
/// - `retry(id)`: gives a failed or cancelled task fresh attempts. Errors:
///   `no_such_task`, `illegal_transition`.
/// - `stats`: replies with phase, counts per status, throughput and latency.
/// - `pause`, `resume`, `drain`: life-cycle commands; reply with the status.
///   Errors: `illegal_transition` naming the allowed commands.
/// - `workflow(submit, spec)`: checks the graph, journals the workflow and
///   its tasks, replies with the workflow. Errors: `invalid_argument` naming
///   the field (a cycle with its path, an unknown or duplicate id).
/// - `workflow(lookup, id)`: replies with the workflow, its tasks, progress
///   and critical path. Errors: `no_such_task`.
/// - `workflow(list, limit)`: the newest workflows (0: all).
/// - `workflow(cancel, id)`: cancels every task of the workflow that has not
///   ended. Errors: `no_such_task`, `illegal_transition` (ended).
/// - `agents`: replies with every registered agent (profile, running tasks)
///   and each provider's circuit breaker. `agents(n)` replies with the same
///   once at least n agents are registered (the node waits so at start-up).
/// - `session(list, state, limit)`: the newest sessions (0: all) in `state`
///   (a state name, `open` for all but closed, empty for any).
///   `session(lookup, id)`, `session(command)`: one session; open, pause,
///   resume or close one. Errors: `no_such_task`, `illegal_transition`
///   naming the allowed commands, `invalid_argument` naming the field.
/// - `costs(days)`: the cost ledger, the newest `days` UTC days (0: all).
/// - `interrupt`: the node stops on purpose and terminates its processes:
///   every running task goes back to the queue. Replies, once that is
///   durable, with the number of tasks requeued.
/// - `adopt`: internal; fails the attempts of processes found running at
///   start-up whose agent did not come back.
/// - `expire`: internal; answers the `await`s whose time is up.
/// - `snapshot`: internal; the periodic snapshot timer.
/// - `wake`: internal; a delayed task may be due.
/// - `flush`: internal; sends the decisions buffered during a burst of
///   messages to the journal as one append.
/// - `timeout_(id, attempt)`: internal; an attempt ran out of time.
using scheduler_actor = caf::typed_actor<
  caf::replies_to<submit_atom, task_spec>::with<task_info>,
  caf::replies_to<lookup_atom, task_id>::with<task_info>,
  caf::replies_to<list_atom, task_filter>::with<std::vector<task_info>>,
  caf::replies_to<await_atom, task_id, caf::timespan>::with<task_info>,
  caf::reacts_to<register_atom, agent_profile, agent_actor>,
  caf::reacts_to<started_atom, task_id, uint32_t, process_ref>,
  caf::reacts_to<finished_atom, task_id, uint32_t, task_outcome>,
  caf::replies_to<cancel_atom, task_id>::with<task_info>,
  caf::replies_to<retry_atom, task_id>::with<task_info>,
  caf::replies_to<stats_atom>::with<scheduler_status>,
  caf::replies_to<pause_atom>::with<scheduler_status>,
  caf::replies_to<resume_atom>::with<scheduler_status>,
  caf::replies_to<drain_atom>::with<scheduler_status>,
  caf::replies_to<workflow_atom, submit_atom, workflow_spec>::with<workflow_info>,
  caf::replies_to<workflow_atom, lookup_atom, workflow_id>::with<workflow_info>,
  caf::replies_to<workflow_atom, list_atom,
                  uint32_t>::with<std::vector<workflow_info>>,
  caf::replies_to<workflow_atom, cancel_atom, workflow_id>::with<workflow_info>,
  caf::replies_to<interrupt_atom>::with<uint32_t>,
  caf::replies_to<agents_atom>::with<agent_listing>,
  caf::replies_to<agents_atom, uint32_t>::with<agent_listing>,
  caf::replies_to<session_atom, list_atom, std::string,
                  uint32_t>::with<std::vector<session_info>>,
  caf::replies_to<session_atom, lookup_atom, session_id>::with<session_info>,
  caf::replies_to<session_atom, session_command_spec>::with<session_info>,
  caf::replies_to<costs_atom, uint32_t>::with<cost_report>,
  caf::reacts_to<register_atom, std::string, caf::actor>,
  caf::reacts_to<shrink_atom, std::string, uint64_t>,
  caf::reacts_to<adopt_atom>,
  caf::reacts_to<expire_atom>,
  caf::reacts_to<snapshot_atom>,
  caf::reacts_to<wake_atom>,
  caf::reacts_to<flush_atom>,
  caf::reacts_to<timeout_atom, task_id, uint32_t>>;

/// The lock manager: named resources held exclusively or shared.
/// - `lock(spec)`: replies once the lock is granted, which may take up to
///   `spec.timeout_ms`. Errors: `invalid_argument` naming the field (empty or
///   oversized name, timeout out of range); `illegal_transition` when the
///   request is refused, with a message starting `"deadlock: "` (it was the
///   victim chosen to break a cycle, which the message names), `"timeout: "`
///   or `"cancelled: "` (its owner released everything meanwhile), or when
///   the owner already waits for the resource in the other mode.
/// - `release(owner, resource)`: releases one lock and replies with it.
///   Errors: `invalid_argument`, `illegal_transition` (not held).
/// - `release(owner)`: release-all for an owner that ended; frees its locks,
///   withdraws its waiting requests and replies with both. The scheduler
///   sends it when a task ends (owner `"task:<id>"`); any owner's end may.
/// - `list`: replies with every holder and waiter.
/// - `expire(deadline_ms)`: internal; the timer of the earliest deadline.
/// Every change is journaled (`lock.*` events) before it is answered.
using lock_actor = caf::typed_actor<
  caf::replies_to<lock_atom, lock_spec>::with<lock_grant>,
  caf::replies_to<release_atom, std::string, std::string>::with<lock_holder_view>,
  caf::replies_to<release_atom, std::string>::with<lock_listing>,
  caf::replies_to<list_atom>::with<lock_listing>,
  caf::reacts_to<expire_atom, int64_t>>;

/// What an agent needs of the workspace manager: the two steps around each
/// process it starts.
/// - `prepare(task, spec)`: readies the directory the task's process starts
///   in and replies with it. For a task in a `worktree` workspace it creates
///   the worktree on branch `cw/<task>` (journaled before the reply); in a
///   `shared` one it opens the task's window on the workspace's watcher. A
///   directory in no registered workspace is registered (`shared`).
///   Errors: `invalid_argument` naming `workspace` (a path outside the
///   workspace, a worktree that cannot be made).
/// - `conclude(task)`: closes what `prepare` opened and replies with what
///   the task changed. Errors: none; an unknown task gets an empty report.
using workspace_actor = caf::typed_actor<
  caf::replies_to<prepare_atom, task_id, task_spec>::with<workspace_lease>,
  caf::replies_to<conclude_atom, task_id>::with<workspace_report>>;

/// The workspace manager: the registry of workspaces (a fold over
/// `workspace.*` events), their watchers and the tasks' worktrees.
/// - `prepare`, `conclude`: see `workspace_actor`.
/// - `workspace(info)`: registers a directory (`name`, `root`, `isolation`,
///   `base`, `policy`, `ignore`) and replies with the entry. Registering the
///   same root again with the same settings is no change. Errors:
///   `invalid_argument` naming the field (`path`, `name`, `base`, …).
/// - `workspace()`: replies with every workspace, by name.
/// - `prune(spec)`: removes the worktrees of tasks not running (and their
///   branches when asked) and replies with what it did to each; without
///   `force` a worktree with uncommitted changes, and a branch not merged,
///   stay. Errors: `invalid_argument` naming `workspace` when it names none.
using workspace_manager_actor = workspace_actor::extend<
  caf::replies_to<workspace_atom, workspace_info>::with<workspace_info>,
  caf::replies_to<workspace_atom>::with<std::vector<workspace_info>>,
  caf::replies_to<prune_atom, prune_spec>::with<std::vector<prune_outcome>>>;

} // namespace cw
