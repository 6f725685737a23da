#pragma once

#include <string>

#include "caf/error.hpp"

namespace cw::plugin {

class registry;

/// Loads the plugin library at `path` (dlopen) and lets it register its
/// types with `reg`. The library stays loaded until the process exits: the
/// actors it spawns run its code. Errors (`invalid_argument`, each naming
/// the path): the file does not exist, dlopen fails (with its message), the
/// library has no `cw_plugin_entry`, it was built against another
/// `CW_PLUGIN_API_VERSION` (naming both), or its `init` fails or throws.
caf::error load_plugin(const std::string& path, registry& reg);

} // namespace cw::plugin
