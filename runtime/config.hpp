#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "caf/expected.hpp"

#include "actors/cost/ledger.hpp"
#include "messages/agent.hpp"
#include "persistence/journal.hpp"

namespace cw::runtime {

/// A pool of agents from the `[pools.NAME]` tables of the config file.
struct pool_config {
  std::string name;
  /// A registered provider: `command` (processes), `noop` (in-process,
  /// completes at once) or one a plugin adds; checked when the node starts.
  std::string provider = "command";
  /// Agents always running, and at most running: the pool grows while
  /// its tasks wait and shrinks back after `idle_timeout_s` without work.
  /// `agents = N` in the file sets both.
  uint32_t min_agents = 1;
  uint32_t max_agents = 1;
  /// An agent above `min_agents` idle this long is stopped.
  uint32_t idle_timeout_s = 300;
  /// Capabilities of every agent of the pool.
  std::vector<std::string> capabilities;
  /// Tasks each agent runs at once.
  uint32_t max_load = 1;
  /// Share of the work of each agent under the `weighted` strategy.
  uint32_t weight = 1;
  /// Strategy, pool-wide concurrency cap, work-stealing threshold.
  pool_settings settings;
  /// An agent process with no output and no CPU time for this long is hung:
  /// killed, its attempt failed (`hung`). 0: never.
  uint32_t hung_after_s = 0;
  /// Settings the provider reads (`[pools.NAME.options]`), e.g. the
  /// `claude` provider's `binary`, `model`, `allowed_tools` (arrays become
  /// one value a line).
  std::map<std::string, std::string> options;
  /// Variables the pool's processes get (`env = { NAME = "value" }`), and
  /// names of the node's own variables passed on when set (`env_pass`;
  /// default for `claude` pools: `claude_env_pass`). Config, never
  /// journaled: the place for API keys. The task's own `env` wins.
  std::map<std::string, std::string> env;
  std::vector<std::string> env_pass;
};

/// What a `claude` pool passes on of the node's environment unless its
/// `env_pass` says otherwise: the variables the Claude Code CLI reads for
/// its credentials and endpoint.
std::vector<std::string> claude_env_pass();

/// Returns the variables `pool` gives its processes: its `env`, plus the
/// node's own values of the names in its `env_pass` that are set (`env`
/// wins).
std::map<std::string, std::string> pool_environment(const pool_config& pool);

/// Everything a node needs to start; every field has a working default.
struct node_config {
  /// Journal, logs and lock file live here.
  std::string data_dir;
  /// Address of the HTTP API; loopback by default.
  std::string api_host = "127.0.0.1";
  uint16_t api_port = 7420;
  /// Number of agents of the `command` provider.
  uint32_t agents = 0;
  /// spdlog level: trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  /// Name stamped on events; the host name by default.
  std::string node_name;
  /// How hard journal commits try to reach the disk.
  persistence::durability durability = persistence::durability::full;
  /// Workspace of tasks that name none; the node's working directory.
  std::string default_workspace;
  /// At most this many tasks run at once (0: one per agent).
  uint32_t max_running = 0;
  /// At most this many tasks run at once in one workspace (0: no limit).
  uint32_t max_running_per_workspace = 0;
  /// Attempts of tasks that name no retry policy.
  uint32_t retry_max_attempts = 1;
  /// Snapshot the task state after this many events (0: never by count).
  uint64_t snapshot_every_events = 100'000;
  /// Snapshot at least this often while events arrive (0: never by time).
  uint32_t snapshot_interval_s = 300;
  /// Pools of agents; none means one pool `default` of `agents` command
  /// agents.
  std::vector<pool_config> pools;
  /// At most this many tasks of a provider run at once (absent: no limit).
  std::map<std::string, uint32_t> provider_limits;
  /// Longest prompt a task may carry, bytes.
  uint64_t max_prompt_bytes = 1 << 20;
  /// The cw-shim executable that owns each agent process; empty: next to
  /// cw-node, else on PATH (see `default_shim_path`).
  std::string shim_path;
  /// A stop on purpose leaves agent processes running, for the next start to
  /// adopt; otherwise they are terminated and their tasks requeued.
  bool keep_agents = false;
  /// Each provider's circuit breaker (`[circuit_breaker]`).
  breaker_config breaker;
  /// Plugin libraries to load at start-up, in order.
  std::vector<std::string> plugins;
  /// The Claude Code CLI of the default `claude` pool (a name on PATH or a
  /// path); with no pools configured and this found, the node runs one.
  std::string claude_binary = "claude";
  /// Whether `claude_binary` was given (`--claude`, the config): then the
  /// node does not start without it.
  bool claude_binary_set = false;
  /// A task that hit its provider's usage or rate limit without a reset
  /// time waits this long.
  uint32_t limit_backoff_s = 300;
  /// Parked tasks continue by themselves at the reset (else: `cw retry`).
  bool auto_resume = true;
  /// Spending limits of claude tasks in USD (`[budgets]`: per_task_usd,
  /// per_workflow_usd, per_pool_usd a day, per_day_usd); 0: none.
  actors::budgets budgets;
  /// Sessions (`[sessions]`): idle ones close after `idle_timeout_s`, a
  /// resume key routes to its session for `binding_timeout_s` after its
  /// last task, at most `max_per_pool` are open per pool.
  uint32_t session_idle_timeout_s = 1800;
  uint32_t session_binding_timeout_s = 3600;
  uint32_t max_sessions_per_pool = 8;
  /// Workspaces (`[workspaces]`): the conflict policy of implicitly
  /// registered ones (`warn` or `lock`), ignore patterns every watcher adds,
  /// the largest tree a watcher follows, how long an idle watcher lives,
  /// how long a file must be quiet to be reported, and where task worktrees
  /// go (default `<data_dir>/worktrees`).
  std::string workspace_conflict_policy = "warn";
  std::vector<std::string> workspace_ignore;
  uint32_t max_watched_dirs = 20'000;
  uint32_t watcher_idle_s = 60;
  uint32_t watch_settle_ms = 50;
  std::string worktree_dir;
};

/// Returns the pools a node with `cfg` runs: the configured ones, else the
/// default pool of `cfg.agents` command agents plus, when `claude_binary`
/// is found, a `claude` pool of one agent running two tasks at a time.
std::vector<pool_config> effective_pools(const node_config& cfg);

/// Returns why a node with `cfg` runs no default `claude` pool although it
/// would with the CLI found (no pools configured, `claude_binary` not
/// found), or "" when it runs one or pools are configured.
std::string missing_claude(const node_config& cfg);

/// Returns the defaults: data dir `$XDG_DATA_HOME/cw` (else
/// `~/.local/share/cw`), one agent per core, the host name.
node_config default_node_config();

/// Overrides `cfg` with the keys of a TOML file (`data_dir`, `api`,
/// `agents`, `log_level`, `node_name`, `durability`,
/// `snapshot_every_events`, `snapshot_interval_s`, `max_running`,
/// `max_running_per_workspace`, `retry_max_attempts`, `max_prompt_bytes`,
/// `shim_path`, `keep_agents`, `plugins` (paths relative to the file's
/// directory), `[pools.NAME]`, `[provider_limits]`, `[circuit_breaker]`).
/// Errors name the file, the key and the line.
caf::expected<node_config> load_config_file(const std::string& path,
                                            node_config cfg);

/// Parses `HOST:PORT` into `cfg`. Errors: `invalid_argument`.
caf::error parse_api_address(const std::string& str, node_config& cfg);

/// Checks values a user may have mistyped. Errors name the setting.
caf::error validate(const node_config& cfg);

} // namespace cw::runtime
