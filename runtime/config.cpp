#include "runtime/config.hpp"

#include "actors/claude/claude_provider.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <thread>

#include <unistd.h>

#include <spdlog/common.h>
#include <toml++/toml.h>

#include "actors/scheduler/validate.hpp"
#include "messages/errc.hpp"

namespace cw::runtime {

namespace {

caf::error invalid(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

/// Reads one `[pools.NAME]` table.
caf::expected<pool_config> parse_pool(const std::string& path,
                                      const std::string& name,
                                      const toml::table& tbl) {
  pool_config pool;
  pool.name = name;
  auto where = [&](const std::string& key) {
    auto node = tbl.get(key);
    auto line = node != nullptr ? node->source().begin.line : 0;
    return "config " + path + " line " + std::to_string(line) + ": pools."
           + name + "." + key;
  };
  struct {
    std::optional<uint32_t> agents, min, max;
  } sizes;
  bool env_pass_given = false;
  for (auto& [key, value] : tbl) {
    auto k = std::string{key.str()};
    if (k == "provider" || k == "strategy" || k == "account") {
      auto str = value.value<std::string>();
      if (!str)
        return invalid(where(k) + " must be a string");
      if (k == "account") {
        if (str->empty() || str->size() > 128
            || std::any_of(str->begin(), str->end(), [](unsigned char c) {
                 return c < 0x21 || c == 0x7f || c == '/';
               }))
          return invalid(where(k) + " must be 1 to 128 printable characters "
                                    "without spaces or '/'");
        if (*str == "default")
          return invalid(where(k) + ": 'default' names the node's own "
                                    "account; leave account out for it");
        pool.settings.account = *str;
      } else if (k == "provider") {
        // Plugins add providers, so the name is checked when the node
        // starts, against its registry.
        if (str->empty())
          return invalid(where(k) + " must not be empty");
        pool.provider = *str;
      } else if (!from_string(*str, pool.settings.strategy)) {
        return invalid(where(k) + ": unknown strategy '" + *str
                       + "' (known: least_loaded, round_robin, "
                         "capability_match, random, weighted)");
      }
    } else if (k == "agents" || k == "min_agents" || k == "max_agents"
               || k == "idle_timeout_s" || k == "max_load" || k == "weight"
               || k == "max_running" || k == "steal_threshold"
               || k == "hung_after_s") {
      auto n = value.value<int64_t>();
      int64_t lo = k == "max_running" || k == "steal_threshold"
                       || k == "hung_after_s" || k == "min_agents"
                     ? 0
                     : 1;
      int64_t hi = k.ends_with("agents")                        ? 4096
                   : k == "hung_after_s" || k == "idle_timeout_s" ? 604'800
                                                                  : 100'000;
      if (!n || *n < lo || *n > hi)
        return invalid(where(k) + " must be an integer from "
                       + std::to_string(lo) + " to " + std::to_string(hi));
      auto v = static_cast<uint32_t>(*n);
      if (k == "agents")
        sizes.agents = v;
      else if (k == "min_agents")
        sizes.min = v;
      else if (k == "max_agents")
        sizes.max = v;
      else if (k == "idle_timeout_s")
        pool.idle_timeout_s = v;
      else if (k == "max_load")
        pool.max_load = v;
      else if (k == "weight")
        pool.weight = v;
      else if (k == "max_running")
        pool.settings.max_running = v;
      else if (k == "hung_after_s")
        pool.hung_after_s = v;
      else
        pool.settings.steal_threshold = v;
    } else if (k == "capabilities") {
      auto arr = value.as_array();
      if (arr == nullptr)
        return invalid(where(k) + " must be an array of strings");
      for (auto& item : *arr) {
        auto str = item.value<std::string>();
        if (!str || str->empty())
          return invalid(where(k) + " must be an array of non-empty strings");
        pool.capabilities.push_back(*str);
      }
    } else if (k == "options") {
      auto opts = value.as_table();
      if (opts == nullptr)
        return invalid(where(k) + " must be a table");
      for (auto& [okey, ovalue] : *opts) {
        auto name = std::string{okey.str()};
        auto bad = [&] {
          return invalid(where(k) + "." + name
                         + " must be a string, an integer, a boolean or an "
                           "array of strings");
        };
        if (auto str = ovalue.value<std::string>(); str && ovalue.is_string())
          pool.options[name] = *str;
        else if (auto n = ovalue.as_integer())
          pool.options[name] = std::to_string(n->get());
        else if (auto b = ovalue.as_boolean())
          pool.options[name] = b->get() ? "true" : "false";
        else if (auto arr = ovalue.as_array()) {
          std::string joined;
          for (auto& item : *arr) {
            auto str = item.value<std::string>();
            if (!str || !item.is_string())
              return bad();
            joined += (joined.empty() ? "" : "\n") + *str;
          }
          pool.options[name] = joined;
        } else
          return bad();
      }
    } else if (k == "env") {
      auto vars = value.as_table();
      if (vars == nullptr)
        return invalid(where(k) + " must be a table of strings");
      for (auto& [vkey, vvalue] : *vars) {
        auto name = std::string{vkey.str()};
        if (!actors::is_variable_name(name))
          return invalid(where(k) + ": '" + name
                         + "' is not a variable name (letters, digits, _; "
                           "not starting with a digit)");
        auto str = vvalue.value<std::string>();
        if (!str || !vvalue.is_string())
          return invalid(where(k) + "." + name + " must be a string");
        pool.env[name] = *str;
      }
    } else if (k == "env_pass") {
      auto arr = value.as_array();
      if (arr == nullptr)
        return invalid(where(k) + " must be an array of variable names");
      env_pass_given = true;
      for (auto& item : *arr) {
        auto str = item.value<std::string>();
        if (!str || !item.is_string() || !actors::is_variable_name(*str))
          return invalid(where(k) + " must be an array of variable names "
                                    "(letters, digits, _; not starting with "
                                    "a digit)");
        pool.env_pass.push_back(*str);
      }
    } else {
      return invalid(where(k) + " is not a known pool setting");
    }
  }
  if (!env_pass_given && pool.provider == "claude")
    pool.env_pass = claude_env_pass();
  if (sizes.agents) {
    if (sizes.min || sizes.max)
      return invalid(where("agents") + ": give either agents (a fixed size) "
                                       "or min_agents and max_agents");
    pool.min_agents = pool.max_agents = *sizes.agents;
  } else {
    // max alone: the pool starts with one agent; min alone: fixed.
    pool.min_agents = sizes.min.value_or(std::min(1u, sizes.max.value_or(1)));
    pool.max_agents = sizes.max.value_or(std::max(pool.min_agents, 1u));
    if (pool.min_agents > pool.max_agents)
      return invalid(where("min_agents") + ": "
                     + std::to_string(pool.min_agents) + " is above max_agents "
                     + std::to_string(pool.max_agents));
  }
  return pool;
}

} // namespace

node_config default_node_config() {
  node_config cfg;
  if (auto xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
    cfg.data_dir = std::string{xdg} + "/cw";
  else if (auto home = std::getenv("HOME"); home != nullptr && *home != '\0')
    cfg.data_dir = std::string{home} + "/.local/share/cw";
  else
    cfg.data_dir = ".cw";
  cfg.agents = std::max(1u, std::thread::hardware_concurrency());
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
    cfg.node_name = host;
  else
    cfg.node_name = "cw-node";
  char cwd[4096] = {};
  if (::getcwd(cwd, sizeof(cwd) - 1) != nullptr)
    cfg.default_workspace = cwd;
  else
    cfg.default_workspace = "/";
  return cfg;
}

caf::error parse_api_address(const std::string& str, node_config& cfg) {
  auto colon = str.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return invalid("api: expected HOST:PORT, got '" + str + "'");
  auto host = str.substr(0, colon);
  auto port_str = str.substr(colon + 1);
  char* end = nullptr;
  auto port = std::strtol(port_str.c_str(), &end, 10);
  if (port_str.empty() || *end != '\0' || port < 0 || port > 65535)
    return invalid("api: port must be a number from 0 to 65535, got '"
                   + port_str + "'");
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  cfg.api_host = host;
  cfg.api_port = static_cast<uint16_t>(port);
  return {};
}

caf::expected<node_config> load_config_file(const std::string& path,
                                            node_config cfg) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return invalid("config " + path + " line "
                   + std::to_string(err.source().begin.line) + ": "
                   + std::string{err.description()});
  }
  auto where = [&](const char* key) {
    auto line = tbl[key].node() ? tbl[key].node()->source().begin.line : 0;
    return "config " + path + " line " + std::to_string(line) + ": " + key;
  };
  for (auto& [key, value] : tbl) {
    auto k = std::string{key.str()};
    if (k == "data_dir" || k == "api" || k == "log_level" || k == "node_name"
        || k == "durability" || k == "shim_path") {
      if (!value.is_string())
        return invalid(where(k.c_str()) + " must be a string");
      auto str = *value.value<std::string>();
      if (k == "data_dir")
        cfg.data_dir = str;
      else if (k == "api") {
        if (auto err = parse_api_address(str, cfg))
          return invalid(where("api") + ": " + error_message(err));
      } else if (k == "log_level")
        cfg.log_level = str;
      else if (k == "node_name")
        cfg.node_name = str;
      else if (k == "shim_path")
        cfg.shim_path = str;
      else if (!persistence::from_string(str, cfg.durability))
        return invalid(where("durability") + " must be \"full\" or \"normal\"");
    } else if (k == "agents") {
      auto n = value.value<int64_t>();
      if (!n || *n < 1 || *n > 4096)
        return invalid(where("agents") + " must be an integer from 1 to 4096");
      cfg.agents = static_cast<uint32_t>(*n);
    } else if (k == "max_running" || k == "max_running_per_workspace"
               || k == "retry_max_attempts") {
      auto n = value.value<int64_t>();
      auto lo = k == "retry_max_attempts" ? 1 : 0;
      auto hi = k == "retry_max_attempts" ? 100 : 100'000;
      if (!n || *n < lo || *n > hi)
        return invalid(where(k.c_str()) + " must be an integer from "
                       + std::to_string(lo) + " to " + std::to_string(hi));
      if (k == "max_running")
        cfg.max_running = static_cast<uint32_t>(*n);
      else if (k == "max_running_per_workspace")
        cfg.max_running_per_workspace = static_cast<uint32_t>(*n);
      else
        cfg.retry_max_attempts = static_cast<uint32_t>(*n);
    } else if (k == "pools") {
      auto pools = value.as_table();
      if (pools == nullptr)
        return invalid(where("pools") + " must be a table of [pools.NAME] tables");
      for (auto& [name, pool_value] : *pools) {
        auto pool_tbl = pool_value.as_table();
        if (pool_tbl == nullptr)
          return invalid(where("pools") + "." + std::string{name.str()}
                         + " must be a table");
        auto pool = parse_pool(path, std::string{name.str()}, *pool_tbl);
        if (!pool)
          return pool.error();
        cfg.pools.push_back(std::move(*pool));
      }
    } else if (k == "provider_limits") {
      auto limits = value.as_table();
      if (limits == nullptr)
        return invalid(where(k.c_str()) + " must be a table");
      for (auto& [provider, limit] : *limits) {
        auto n = limit.value<int64_t>();
        if (!n || *n < 1 || *n > 100'000)
          return invalid(where(k.c_str()) + "." + std::string{provider.str()}
                         + " must be an integer from 1 to 100000");
        cfg.provider_limits[std::string{provider.str()}] = static_cast<uint32_t>(*n);
      }
    } else if (k == "circuit_breaker") {
      auto table = value.as_table();
      if (table == nullptr)
        return invalid(where(k.c_str()) + " must be a table");
      for (auto& [sub_key, sub_value] : *table) {
        auto name = std::string{sub_key.str()};
        auto n = sub_value.value<int64_t>();
        auto range = [&](int64_t lo, int64_t hi) -> caf::error {
          if (!n || *n < lo || *n > hi)
            return invalid(where(k.c_str()) + "." + name
                           + " must be an integer from " + std::to_string(lo)
                           + " to " + std::to_string(hi));
          return {};
        };
        caf::error err;
        if (name == "failure_threshold") {
          if (!(err = range(0, 1000)))
            cfg.breaker.failure_threshold = static_cast<uint32_t>(*n);
        } else if (name == "cool_down_s") {
          if (!(err = range(1, 86'400)))
            cfg.breaker.cool_down_ms = *n * 1000;
        } else if (name == "half_open_trials") {
          if (!(err = range(1, 100)))
            cfg.breaker.half_open_trials = static_cast<uint32_t>(*n);
        } else {
          err = invalid(where(k.c_str()) + "." + name
                        + " is not a known setting (failure_threshold, "
                          "cool_down_s, half_open_trials)");
        }
        if (err)
          return err;
      }
    } else if (k == "keep_agents" || k == "auto_resume") {
      if (!value.is_boolean())
        return invalid(where(k.c_str()) + " must be true or false");
      (k == "keep_agents" ? cfg.keep_agents : cfg.auto_resume)
        = *value.value<bool>();
    } else if (k == "budgets" || k == "sessions") {
      auto table = value.as_table();
      if (table == nullptr)
        return invalid(where(k.c_str()) + " must be a table");
      for (auto& [sub_key, sub_value] : *table) {
        auto name = std::string{sub_key.str()};
        auto field = where(k.c_str()) + "." + name;
        if (k == "budgets") {
          auto n = sub_value.value<double>();
          if (!n || !(*n >= 0) || *n > 1e6)
            return invalid(field + " must be a number of USD from 0 (none) to "
                                   "1000000");
          if (name == "per_task_usd")
            cfg.budgets.per_task_usd = *n;
          else if (name == "per_workflow_usd")
            cfg.budgets.per_workflow_usd = *n;
          else if (name == "per_pool_usd")
            cfg.budgets.per_pool_usd = *n;
          else if (name == "per_day_usd")
            cfg.budgets.per_day_usd = *n;
          else
            return invalid(field + " is not a known setting (per_task_usd, "
                                   "per_workflow_usd, per_pool_usd, "
                                   "per_day_usd)");
        } else {
          auto n = sub_value.value<int64_t>();
          if (!n || *n < 1 || *n > 604'800)
            return invalid(field + " must be an integer from 1 to 604800");
          if (name == "idle_timeout_s")
            cfg.session_idle_timeout_s = static_cast<uint32_t>(*n);
          else if (name == "binding_timeout_s")
            cfg.session_binding_timeout_s = static_cast<uint32_t>(*n);
          else if (name == "max_per_pool")
            cfg.max_sessions_per_pool = static_cast<uint32_t>(*n);
          else
            return invalid(field + " is not a known setting (idle_timeout_s, "
                                   "binding_timeout_s, max_per_pool)");
        }
      }
    } else if (k == "workspaces") {
      auto table = value.as_table();
      if (table == nullptr)
        return invalid(where(k.c_str()) + " must be a table");
      for (auto& [sub_key, sub_value] : *table) {
        auto name = std::string{sub_key.str()};
        auto field = where(k.c_str()) + "." + name;
        if (name == "conflict_policy") {
          auto str = sub_value.value<std::string>();
          if (!sub_value.is_string() || (*str != "warn" && *str != "lock"))
            return invalid(field + " must be \"warn\" or \"lock\"");
          cfg.workspace_conflict_policy = *str;
        } else if (name == "worktree_dir") {
          auto str = sub_value.value<std::string>();
          if (!sub_value.is_string() || str->empty() || str->front() != '/')
            return invalid(field + " must be an absolute directory");
          cfg.worktree_dir = *str;
        } else if (name == "ignore") {
          auto arr = sub_value.as_array();
          if (arr == nullptr)
            return invalid(field + " must be an array of patterns");
          for (auto& item : *arr) {
            auto str = item.value<std::string>();
            if (!item.is_string() || str->empty() || str->size() > 1024)
              return invalid(field + " must hold patterns of 1 to 1024 "
                                     "bytes");
            cfg.workspace_ignore.push_back(*str);
          }
        } else if (name == "max_watched_dirs" || name == "watcher_idle_s"
                   || name == "settle_ms") {
          auto n = sub_value.value<int64_t>();
          int64_t hi = name == "max_watched_dirs" ? 1'000'000
                       : name == "watcher_idle_s" ? 86'400
                                                  : 60'000;
          if (!n || *n < 1 || *n > hi)
            return invalid(field + " must be an integer from 1 to "
                           + std::to_string(hi));
          (name == "max_watched_dirs" ? cfg.max_watched_dirs
           : name == "watcher_idle_s" ? cfg.watcher_idle_s
                                      : cfg.watch_settle_ms)
            = static_cast<uint32_t>(*n);
        } else {
          return invalid(field + " is not a known setting (conflict_policy, "
                                 "ignore, max_watched_dirs, watcher_idle_s, "
                                 "settle_ms, worktree_dir)");
        }
      }
    } else if (k == "claude_binary") {
      auto str = value.value<std::string>();
      if (!str || !value.is_string() || str->empty())
        return invalid(where(k.c_str()) + " must be a non-empty string");
      cfg.claude_binary = *str;
      cfg.claude_binary_set = true;
    } else if (k == "limit_backoff_s") {
      auto n = value.value<int64_t>();
      if (!n || *n < 1 || *n > 86'400)
        return invalid(where(k.c_str()) + " must be an integer from 1 to 86400");
      cfg.limit_backoff_s = static_cast<uint32_t>(*n);
    } else if (k == "plugins") {
      auto arr = value.as_array();
      if (arr == nullptr)
        return invalid(where("plugins") + " must be an array of paths");
      auto base = std::filesystem::path{path}.parent_path();
      for (auto& item : *arr) {
        auto str = item.value<std::string>();
        if (!str || str->empty())
          return invalid(where("plugins") + " must be an array of non-empty "
                                            "paths");
        std::filesystem::path file{*str};
        cfg.plugins.push_back(file.is_absolute() ? file.string()
                                                 : (base / file).string());
      }
    } else if (k == "max_prompt_bytes") {
      auto n = value.value<int64_t>();
      if (!n || *n < 1 || *n > (int64_t{64} << 20))
        return invalid(where(k.c_str()) + " must be an integer from 1 to "
                       + std::to_string(int64_t{64} << 20));
      cfg.max_prompt_bytes = static_cast<uint64_t>(*n);
    } else if (k == "snapshot_every_events" || k == "snapshot_interval_s") {
      auto n = value.value<int64_t>();
      if (!n || *n < 0 || *n > 1'000'000'000)
        return invalid(where(k.c_str())
                       + " must be an integer from 0 to 1000000000");
      if (k == "snapshot_every_events")
        cfg.snapshot_every_events = static_cast<uint64_t>(*n);
      else
        cfg.snapshot_interval_s = static_cast<uint32_t>(*n);
    } else {
      return invalid(where(k.c_str()) + " is not a known setting");
    }
  }
  return cfg;
}

std::vector<std::string> claude_env_pass() {
  return {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
          "CLAUDE_CONFIG_DIR"};
}

std::map<std::string, std::string> pool_environment(const pool_config& pool) {
  auto result = pool.env;
  for (auto& name : pool.env_pass)
    if (auto value = std::getenv(name.c_str()); value != nullptr)
      result.emplace(name, value);
  return result;
}

std::string missing_claude(const node_config& cfg) {
  if (!cfg.pools.empty() || !actors::find_executable(cfg.claude_binary).empty())
    return {};
  return "the claude CLI ('" + cfg.claude_binary + "') was not found"
         + (cfg.claude_binary.find('/') == std::string::npos ? " on PATH" : "")
         + " when the node started: install Claude Code, or start cw-node "
           "with --claude PATH (or claude_binary in its config)";
}

std::vector<pool_config> effective_pools(const node_config& cfg) {
  if (!cfg.pools.empty())
    return cfg.pools;
  std::vector<pool_config> result;
  pool_config pool;
  pool.name = "default";
  pool.min_agents = pool.max_agents = cfg.agents;
  result.push_back(pool);
  if (!actors::find_executable(cfg.claude_binary).empty()) {
    pool_config claude;
    claude.name = "claude";
    claude.provider = "claude";
    claude.min_agents = claude.max_agents = 1;
    claude.max_load = 2;
    claude.options["binary"] = cfg.claude_binary;
    claude.env_pass = claude_env_pass();
    result.push_back(std::move(claude));
  }
  return result;
}

caf::error validate(const node_config& cfg) {
  if (cfg.data_dir.empty())
    return invalid("data-dir: must not be empty");
  if (cfg.agents < 1 || cfg.agents > 4096)
    return invalid("agents: must be from 1 to 4096");
  if (spdlog::level::from_str(cfg.log_level) == spdlog::level::off
      && cfg.log_level != "off")
    return invalid("log-level: must be one of trace, debug, info, warn, "
                   "error, critical, off; got '"
                   + cfg.log_level + "'");
  if (cfg.node_name.empty())
    return invalid("node-name: must not be empty");
  // A CLI named on purpose must be there; the default one may be missing.
  if (cfg.pools.empty() && cfg.claude_binary_set
      && actors::find_executable(cfg.claude_binary).empty())
    return invalid("claude: '" + cfg.claude_binary
                   + "' is not an executable file"
                   + (cfg.claude_binary.find('/') == std::string::npos
                        ? " on PATH"
                        : "")
                   + " (--claude, claude_binary)");
  return {};
}

} // namespace cw::runtime
