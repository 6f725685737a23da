#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

#include "messages/task.hpp"

namespace cw {

/// How a pool picks one of the agents that may run a task.
enum class placement_strategy : uint8_t {
  /// The agent with the lowest load relative to its max load.
  least_loaded,
  /// The next agent after the one chosen last, in name order.
  round_robin,
  /// The agent whose capabilities match the task's most closely (fewest
  /// capabilities beyond the required ones), then the least loaded.
  capability_match,
  /// Any fitting agent, uniformly.
  random,
  /// A fitting agent with probability proportional to its weight.
  weighted,
};

/// Returns the name of `x`, e.g. `"least_loaded"`.
std::string to_string(placement_strategy x);

/// Parses a strategy name; returns false if `str` names none.
bool from_string(const std::string& str, placement_strategy& x);

/// What an agent tells the scheduler about itself when it registers.
struct agent_profile {
  /// Unique on the node, e.g. `"default-3"`.
  std::string name;
  /// The pool it belongs to.
  std::string pool = "default";
  /// The provider it runs tasks with, e.g. `"command"`.
  std::string provider = "command";
  /// What it can do; tasks may require some.
  std::vector<std::string> capabilities;
  /// Tasks it may run at once.
  uint32_t max_load = 1;
  /// Share of the work under the `weighted` strategy.
  uint32_t weight = 1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_profile& x) {
  return f(caf::meta::type_name("cw.agent_profile"), x.name, x.pool,
           x.provider, x.capabilities, x.max_load, x.weight);
}

/// What the scheduler knows of a pool before its agents register, and how
/// the pool places and shares work.
struct pool_settings {
  /// The provider its agents run.
  std::string provider = "command";
  /// Capabilities its agents offer.
  std::vector<std::string> capabilities;
  placement_strategy strategy = placement_strategy::least_loaded;
  /// At most this many of the pool's tasks run at once (0: no cap).
  uint32_t max_running = 0;
  /// Idle agents of another pool of the same provider take this pool's tasks
  /// when more than this many wait (0: never).
  uint32_t steal_threshold = 0;
  /// Elastic when `max_agents > min_agents`: the scheduler asks the pool's
  /// supervisor for more agents while its tasks wait and it is below
  /// `max_agents`, and stops agents idle for `idle_timeout_ms` while above
  /// `min_agents`. Fixed pools leave both equal.
  uint32_t min_agents = 0;
  uint32_t max_agents = 0;
  int64_t idle_timeout_ms = 300'000;
  /// Each agent's max load (for the number of agents a backlog needs).
  uint32_t max_load = 1;
  /// The provider account its agents use: a usage limit one of them hits
  /// holds back every pool of the same provider and account. Empty: the
  /// node's own (the default credentials).
  std::string account = {};
};

/// When a circuit breaker trips and how it recovers.
struct breaker_config {
  /// Consecutive failures that open a closed breaker.
  uint32_t failure_threshold = 5;
  /// Time an open breaker refuses tasks before admitting trials.
  int64_t cool_down_ms = 30'000;
  /// Trial tasks a half-open breaker admits at a time.
  uint32_t half_open_trials = 1;
};

/// An agent as the scheduler sees it (`cw agents`).
struct agent_view {
  agent_profile profile;
  /// The tasks it runs now.
  std::vector<uint64_t> tasks;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_view& x) {
  return f(caf::meta::type_name("cw.agent_view"), x.profile, x.tasks);
}

/// A provider's circuit breaker as the scheduler sees it.
struct breaker_view {
  std::string provider;
  /// `closed`, `open` or `half_open`.
  std::string state;
  /// Consecutive provider failures counted.
  uint32_t failures = 0;
  /// When an open breaker admits its next trial, ms since the epoch; 0 when
  /// not open.
  int64_t retry_at_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, breaker_view& x) {
  return f(caf::meta::type_name("cw.breaker_view"), x.provider, x.state,
           x.failures, x.retry_at_ms);
}

/// What the tasks of one pool cost (see the cost ledger).
struct pool_cost {
  std::string pool;
  cost_figures today;
  cost_figures total;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_cost& x) {
  return f(caf::meta::type_name("cw.pool_cost"), x.pool, x.today, x.total);
}

/// Every registered agent, every provider's breaker and the cost of every
/// pool that has spent anything.
struct agent_listing {
  std::vector<agent_view> agents;
  std::vector<breaker_view> breakers;
  std::vector<pool_cost> costs = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_listing& x) {
  return f(caf::meta::type_name("cw.agent_listing"), x.agents, x.breakers,
           x.costs);
}

} // namespace cw
