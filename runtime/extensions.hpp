#pragma once

#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "runtime/config.hpp"
#include "runtime/plugin/registry.hpp"

namespace cw::runtime {

/// Returns the registry a node starts with: the built-in providers `command`
/// and `noop`, then whatever the plugins of `cfg.plugins` register, loaded
/// in order. Checks that every pool names a registered provider. Errors:
/// `invalid_argument` naming the plugin's path, or the pool and the known
/// providers.
caf::expected<std::unique_ptr<plugin::registry>>
load_registry(const node_config& cfg);

/// Returns what `cw-node --check` prints: the plugins, providers, observers
/// and pools of a checked configuration.
std::string describe_registry(const node_config& cfg,
                              const plugin::registry& reg);

} // namespace cw::runtime
