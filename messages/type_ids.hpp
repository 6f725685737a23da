#pragma once

// The single type-ID block of cw: every message type and every atom.

#include <cstdint>
#include <string>
#include <vector>

#include "caf/type_id.hpp"

#include "messages/agent.hpp"
#include "messages/events.hpp"
#include "messages/locks.hpp"
#include "messages/session.hpp"
#include "messages/task.hpp"
#include "messages/workflow.hpp"
#include "messages/workspace.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(cw, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(cw, (cw::retry_policy))
  CAF_ADD_TYPE_ID(cw, (cw::task_spec))
  CAF_ADD_TYPE_ID(cw, (cw::task_outcome))
  CAF_ADD_TYPE_ID(cw, (cw::task_info))
  CAF_ADD_TYPE_ID(cw, (cw::task_filter))
  CAF_ADD_TYPE_ID(cw, (cw::scheduler_status))
  CAF_ADD_TYPE_ID(cw, (cw::event))
  CAF_ADD_TYPE_ID(cw, (cw::snapshot))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::task_info>))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::event>))
  CAF_ADD_TYPE_ID(cw, (cw::workflow_spec))
  CAF_ADD_TYPE_ID(cw, (cw::workflow_info))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::workflow_info>))
  CAF_ADD_TYPE_ID(cw, (cw::agent_profile))
  CAF_ADD_TYPE_ID(cw, (cw::process_ref))
  CAF_ADD_TYPE_ID(cw, (cw::agent_listing))
  CAF_ADD_TYPE_ID(cw, (cw::session_info))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::session_info>))
  CAF_ADD_TYPE_ID(cw, (cw::session_command_spec))

  /// Submits work (scheduler).
  CAF_ADD_ATOM(cw, cw, submit_atom, "submit")
  /// Looks up one entity by id.
  CAF_ADD_ATOM(cw, cw, lookup_atom, "lookup")
  /// Lists entities matching a filter.
  CAF_ADD_ATOM(cw, cw, list_atom, "list")
  /// Waits until a task ends, with a bound.
  CAF_ADD_ATOM(cw, cw, await_atom, "await")
  /// Registers an agent with the scheduler.
  CAF_ADD_ATOM(cw, cw, register_atom, "register")
  /// Reports that an agent process started.
  CAF_ADD_ATOM(cw, cw, started_atom, "started")
  /// Reports that an agent process ended.
  CAF_ADD_ATOM(cw, cw, finished_atom, "finished")
  /// Tells an agent to run a task.
  CAF_ADD_ATOM(cw, cw, run_atom, "run")
  /// Cancels a task.
  CAF_ADD_ATOM(cw, cw, cancel_atom, "cancel")
  /// Life-cycle commands of the scheduler.
  CAF_ADD_ATOM(cw, cw, pause_atom, "pause")
  CAF_ADD_ATOM(cw, cw, resume_atom, "resume")
  CAF_ADD_ATOM(cw, cw, drain_atom, "drain")
  /// Gives a dead task fresh attempts.
  CAF_ADD_ATOM(cw, cw, retry_atom, "retry")
  /// Internal: a delayed task may be due (scheduler).
  CAF_ADD_ATOM(cw, cw, wake_atom, "wake")
  /// Internal: an attempt ran out of time (scheduler).
  CAF_ADD_ATOM(cw, cw, timeout_atom, "timeout_")
  /// Appends events to the journal.
  CAF_ADD_ATOM(cw, cw, append_atom, "append")
  /// Asks for counters.
  CAF_ADD_ATOM(cw, cw, stats_atom, "stats")
  /// Saves a snapshot (journal); time to take one (scheduler).
  CAF_ADD_ATOM(cw, cw, snapshot_atom, "snapshot")
  /// Internal: commit the pending batch (journal), expire waiters (scheduler).
  CAF_ADD_ATOM(cw, cw, flush_atom, "flush")
  CAF_ADD_ATOM(cw, cw, expire_atom, "expire")
  /// Internal: restart a child after its back-off (supervisor).
  CAF_ADD_ATOM(cw, cw, restart_atom, "restart")
  /// Asks a supervisor for its children.
  CAF_ADD_ATOM(cw, cw, children_atom, "children")
  /// Workflow commands (scheduler): with submit, lookup, list, cancel.
  CAF_ADD_ATOM(cw, cw, workflow_atom, "workflow")
  /// Lock manager: acquire (`lock`), release and release-all (`release`);
  /// with `list` and `expire`.
  CAF_ADD_TYPE_ID(cw, (cw::lock_spec))
  CAF_ADD_TYPE_ID(cw, (cw::lock_grant))
  CAF_ADD_TYPE_ID(cw, (cw::lock_holder_view))
  CAF_ADD_TYPE_ID(cw, (cw::lock_waiter_view))
  CAF_ADD_TYPE_ID(cw, (cw::lock_listing))
  CAF_ADD_ATOM(cw, cw, lock_atom, "lock")
  CAF_ADD_ATOM(cw, cw, release_atom, "release")
  /// Takes over a process that outlived the node (agent); internal: orphans
  /// whose agent did not return (scheduler).
  CAF_ADD_ATOM(cw, cw, adopt_atom, "adopt")
  /// The node stops on purpose: running tasks go back to the queue.
  CAF_ADD_ATOM(cw, cw, interrupt_atom, "interrupt")
  /// Lists the agents and the providers' breakers (scheduler).
  CAF_ADD_ATOM(cw, cw, agents_atom, "agents")
  /// One more dynamic child; internal: a pool wants one more agent
  /// (supervisor, scheduler).
  CAF_ADD_ATOM(cw, cw, grow_atom, "grow")
  /// Stops a child for good (supervisor); internal: an agent was idle past
  /// its pool's timeout (scheduler).
  CAF_ADD_ATOM(cw, cw, shrink_atom, "shrink")
  /// Hands an observer the events of one journal commit.
  CAF_ADD_ATOM(cw, cw, committed_atom, "committed")
  /// Session commands and listings (scheduler).
  CAF_ADD_ATOM(cw, cw, session_atom, "session")
  /// Internal: read a running attempt's new output (agent).
  CAF_ADD_ATOM(cw, cw, watch_atom, "watch")
  /// Workspace manager: register and list (`workspace`), remove ended
  /// tasks' worktrees (`prune`), ready a task's directory before its process
  /// starts (`prepare`) and summarise its changes after (`conclude`).
  CAF_ADD_TYPE_ID(cw, (cw::workspace_info))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::workspace_info>))
  CAF_ADD_TYPE_ID(cw, (cw::worktree_entry))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::worktree_entry>))
  CAF_ADD_TYPE_ID(cw, (cw::prune_spec))
  CAF_ADD_TYPE_ID(cw, (cw::workspace_lease))
  CAF_ADD_TYPE_ID(cw, (cw::workspace_report))
  CAF_ADD_ATOM(cw, cw, workspace_atom, "workspace")
  CAF_ADD_ATOM(cw, cw, prune_atom, "prune")
  CAF_ADD_ATOM(cw, cw, prepare_atom, "prepare")
  CAF_ADD_ATOM(cw, cw, conclude_atom, "conclude")
  CAF_ADD_TYPE_ID(cw, (cw::prune_outcome))
  CAF_ADD_TYPE_ID(cw, (std::vector<cw::prune_outcome>))
  /// The cost ledger by day (scheduler).
  CAF_ADD_TYPE_ID(cw, (cw::cost_report))
  CAF_ADD_ATOM(cw, cw, costs_atom, "costs")

CAF_END_TYPE_ID_BLOCK(cw)
