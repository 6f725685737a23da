#pragma once

#include <memory>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "messages/interfaces.hpp"
#include "runtime/config.hpp"

namespace cw::runtime {

/// Applies cw's settings for CAF's scheduler to `cfg` (one worker per core
/// but one, at least one);
/// every actor system of a node, and of `cw-bench`, starts with them.
void tune_scheduler(caf::actor_system_config& cfg);

/// One cw node: its actor system, journal, scheduler, agents and HTTP API.
/// Start-up opens the journal, folds it into the scheduler's state, and has
/// each agent adopt the processes of the tasks that were running (they run
/// under cw-shim and outlive the node); `stop` tears down in reverse order.
class node {
public:
  /// Starts a node. Errors: `invalid_argument` (bad config, data dir in use
  /// by another node, API address taken), `journal_io`, `journal_corrupt`,
  /// `journal_too_new`.
  static caf::expected<std::unique_ptr<node>> start(node_config cfg);

  /// Stops the node if it still runs.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops serving; requeues running tasks and terminates their processes
  /// (unless `keep_agents`: then they run on for the next start); closes
  /// the journal and waits for every actor. Idempotent.
  void stop();

  /// Returns the port the HTTP API listens on.
  uint16_t api_port() const noexcept;

  /// Returns the number of agents the node started, over all pools.
  size_t agent_count() const noexcept;

  /// Returns the configuration the node runs with.
  const node_config& config() const noexcept;

  /// Returns the node's actor system.
  caf::actor_system& system() noexcept;

  /// Returns the scheduler.
  scheduler_actor scheduler() const;

  /// Returns the root supervisor of the agents: its children are one
  /// supervisor per pool (`pool/NAME`), theirs the pool's agents.
  caf::actor agents() const;

  /// Returns the number of events replayed at start-up (after the snapshot,
  /// if one was loaded).
  uint64_t recovered_events() const noexcept;

private:
  struct impl;
  explicit node(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace cw::runtime
