#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"

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
};

} // namespace cw
