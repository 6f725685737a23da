#include "runtime/extensions.hpp"

#include <stdexcept>

#include "actors/agent/agent.hpp"
#include "actors/claude/claude_provider.hpp"
#include "messages/errc.hpp"
#include "runtime/plugin/loader.hpp"

namespace cw::runtime {

using plugin::join;

namespace {

caf::error add_builtins(plugin::registry& reg) {
  // The spawn functions register their agent with the scheduler.
  if (auto err = reg.add_self_registering_provider(
        "command", [](caf::actor_system& sys, const plugin::provider_context& ctx) {
          return actors::spawn_agent(
            sys, {ctx.profile, ctx.scheduler, ctx.launcher, ctx.grace,
                  ctx.hung_after, nullptr, ctx.workspaces, ctx.env});
        }))
    return err;
  if (auto err = reg.add_options_check(
        "command", [](const std::map<std::string, std::string>& options) {
          return options.empty()
                   ? caf::error{}
                   : make_error(errc::invalid_argument,
                                "the command provider takes no options (got "
                                  + options.begin()->first + ")");
        }))
    return err;
  if (auto err = reg.add_self_registering_provider(
        "claude", [](caf::actor_system& sys, const plugin::provider_context& ctx) {
          // Checked for every agent: a binary removed since the last one
          // stops the pool with the reason rather than failing its tasks.
          auto opts = actors::claude_options_from(ctx.options);
          if (!opts)
            throw std::runtime_error("pool " + ctx.profile.pool + ": "
                                     + describe(opts.error()));
          return actors::spawn_agent(
            sys, {ctx.profile, ctx.scheduler, ctx.launcher, ctx.grace,
                  ctx.hung_after,
                  std::make_shared<actors::claude_provider>(std::move(*opts)),
                  ctx.workspaces, ctx.env});
        }))
    return err;
  if (auto err = reg.add_options_check(
        "claude", [](const std::map<std::string, std::string>& options) {
          auto opts = actors::claude_options_from(options);
          return opts ? caf::error{} : std::move(opts.error());
        }))
    return err;
  return reg.add_self_registering_provider(
    "noop", [](caf::actor_system& sys, const plugin::provider_context& ctx) {
      return actors::spawn_noop_agent(sys, ctx.profile, ctx.scheduler);
    });
}

} // namespace

caf::expected<std::unique_ptr<plugin::registry>>
load_registry(const node_config& cfg) {
  auto reg = std::make_unique<plugin::registry>();
  if (auto err = add_builtins(*reg))
    return err;
  for (auto& path : cfg.plugins)
    if (auto err = plugin::load_plugin(path, *reg))
      return err;
  for (auto& pool : effective_pools(cfg)) {
    if (!reg->has_provider(pool.provider))
      return make_error(errc::invalid_argument,
                        "config: pools." + pool.name
                          + ".provider: unknown provider '" + pool.provider
                          + "' (known: " + join(reg->provider_names())
                          + "; a plugin's provider needs --plugin or "
                            "plugins = [...])");
    if (auto err = reg->check_options(pool.provider, pool.options))
      return make_error(errc::invalid_argument,
                        "pool " + pool.name + ": " + describe(err));
  }
  return reg;
}

std::string describe_registry(const node_config& cfg,
                              const plugin::registry& reg) {
  std::string result;
  result += "plugins: " + join(cfg.plugins) + "\n";
  result += "providers: " + join(reg.provider_names()) + "\n";
  result += "observers: " + join(reg.observer_names()) + "\n";
  std::vector<std::string> pools;
  for (auto& pool : effective_pools(cfg))
    pools.push_back(pool.name + " (" + pool.provider + ", "
                    + (pool.min_agents == pool.max_agents
                         ? std::to_string(pool.max_agents)
                         : std::to_string(pool.min_agents) + " to "
                             + std::to_string(pool.max_agents))
                    + " agents)");
  result += "pools: " + join(pools) + "\n";
  if (auto why = missing_claude(cfg); !why.empty())
    result += "no claude pool: " + why + "\n";
  return result;
}

} // namespace cw::runtime
