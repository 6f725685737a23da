#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/agent.hpp"
#include "messages/task.hpp"

namespace cw::actors {

/// Where a task goes and why.
struct placement_choice {
  std::string agent;
  /// Names the strategy and what decided, e.g.
  /// `"least_loaded: load 0/2, 3 fitting agents"`.
  std::string reason;
};

/// The agents of a node, their pools and loads, and the choice of an agent
/// for a task: provider, pool, capability and affinity rules filter the
/// agents, the pool's strategy picks one. Plain logic, owned by the
/// scheduler; one choice costs one pass over the agents of the provider.
class placement {
public:
  /// Pools not named here use the defaults of `pool_settings`.
  void configure(std::map<std::string, pool_settings> pools,
                 std::map<std::string, uint32_t> provider_limits);

  /// Adds an agent; false if one of that name exists.
  bool add(const agent_profile& profile);

  /// Removes an agent (its load goes with it).
  void remove(const std::string& name);

  /// Returns the agent named `name`, or null.
  const agent_profile* find(const std::string& name) const;

  /// Returns the number of tasks agent `name` runs.
  uint32_t load(const std::string& name) const;

  /// Counts a task started (+1) or ended (-1) on agent `name`.
  void change_load(const std::string& name, int delta);

  /// Returns whether some agent could take one more task.
  bool has_capacity() const noexcept {
    return free_slots_ > 0;
  }

  /// Returns the number of agents, and of agents with no task.
  size_t size() const noexcept {
    return agents_.size();
  }
  size_t idle() const;

  /// Returns the agents of `pool`, their free task slots, and the tasks
  /// they run.
  uint32_t pool_agents(const std::string& pool) const;
  uint32_t pool_free_slots(const std::string& pool) const;
  uint32_t pool_load(const std::string& pool) const;

  /// Returns whether some agent or configured pool offers capability `cap`.
  bool knows_capability(const std::string& cap) const;

  /// Returns whether some agent or configured pool runs `provider`.
  bool knows_provider(const std::string& provider) const;

  /// Returns the providers known, for error messages.
  std::vector<std::string> providers() const;

  /// Returns whether `pool` is configured or has agents.
  bool knows_pool(const std::string& pool) const;

  /// Returns whether some agent, or some configured pool whose agents have
  /// not registered yet, could ever run `spec` (loads aside): provider,
  /// pool, capabilities, required and excluded agents all at once.
  bool could_run(const task_spec& spec) const;

  /// Chooses an agent for `spec`, or nothing if none may take it now.
  /// `affinity_agent` is the agent that ran the task named by
  /// `spec.same_agent_as` (empty if none yet); `backlog` the queued tasks per
  /// pool (for work stealing); `unit` a number in [0, 1) from the caller's
  /// random source (for the `random` and `weighted` strategies).
  std::optional<placement_choice>
  choose(const task_spec& spec, const std::string& affinity_agent,
         const std::map<std::string, uint64_t>& backlog, double unit);

  /// Says why `choose` finds no agent for `spec` now (for a person: which
  /// rule or which busy agents keep it waiting), or "" when one would fit.
  std::string why_not(const task_spec& spec,
                      const std::string& affinity_agent) const;

  /// Returns the settings of `pool`.
  const pool_settings& settings(const std::string& pool) const;

  /// Sets the (provider, account) pairs a usage limit holds back: their
  /// agents take no task until the next call lifts them.
  void hold(std::set<std::pair<std::string, std::string>> accounts);

  /// Returns whether some agent could run `spec` (loads aside) and a usage
  /// limit holds back every such agent's account: the task waits for the
  /// hold, not for an agent.
  bool all_held(const task_spec& spec, const std::string& affinity_agent) const;

  /// Returns the account of agent `name` (its pool's), empty when unknown.
  std::string account_of(const std::string& name) const;

  /// Prefix of `why_not` when only held accounts keep the task waiting.
  static constexpr std::string_view held_prefix = "held: ";

private:
  struct pool_state {
    pool_settings settings;
    /// Tasks its agents run.
    uint32_t load = 0;
    /// Its agents, and the sum of their max loads.
    uint32_t agents = 0;
    uint32_t slots = 0;
  };

  struct entry {
    agent_profile profile;
    /// The agent's pool (map nodes do not move).
    pool_state* pool = nullptr;
    uint32_t load = 0;
    /// When it was last given a task (a counter), for tie-breaks.
    uint64_t last_used = 0;
  };

  /// Whether agent `e` may take `spec` now: not full, and allowed.
  bool fits(const entry& e, const task_spec& spec,
            const std::string& affinity_agent) const;
  /// Whether `e` runs as many tasks as it (or its pool) may.
  bool full(const entry& e) const;
  /// Whether a usage limit holds back the account of `e`.
  bool held(const entry& e) const;
  /// Whether the task's provider, affinity and capability rules allow `e`.
  bool allows(const entry& e, const task_spec& spec,
              const std::string& affinity_agent) const;
  bool provider_has_room(const std::string& provider) const;
  pool_state& pool_of(const std::string& name);
  std::vector<entry>::iterator find_entry(const std::string& name);
  std::vector<entry>::const_iterator find_entry(const std::string& name) const;

  /// Sorted by name: one contiguous pass per choice.
  std::vector<entry> agents_;
  std::map<std::string, pool_state> pools_;
  std::map<std::string, uint32_t> provider_limits_;
  std::map<std::string, uint32_t> capability_count_;
  std::map<std::string, uint32_t> provider_count_;
  std::map<std::string, uint32_t> provider_load_;
  /// The agent each pool chose last (round robin).
  std::map<std::string, std::string> cursor_;
  /// The fitting agents of the current choice (kept to reuse its memory).
  std::vector<const entry*> scratch_;
  /// (provider, account) pairs held back by usage limits.
  std::set<std::pair<std::string, std::string>> held_;
  /// Sum over agents of max_load - load.
  int64_t free_slots_ = 0;
  uint64_t clock_ = 0;
  pool_settings default_settings_;
};

} // namespace cw::actors
