#pragma once

// The public C++ API for extending cw: agent providers and observers that a
// node spawns by name, and the entry point of a plugin library. Installed
// with cw (`find_package(cw)`, target `cw::plugin_api`); see
// docs/extending.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "caf/error.hpp"
#include "caf/fwd.hpp"

#include "actors/agent/process_launcher.hpp"
#include "messages/agent.hpp"
#include "messages/interfaces.hpp"

/// The version of this API. A node loads only plugins built against the same
/// version; it changes whenever anything a plugin sees here, or in the
/// `messages/` headers, changes in a way that breaks a built plugin.
#define CW_PLUGIN_API_VERSION 4

namespace cw::plugin {

/// Everything an agent of a pool starts with.
struct provider_context {
  /// Name (unique on the node), pool, provider, capabilities, max load and
  /// weight; the node registers the agent with the scheduler under it.
  agent_profile profile;
  /// Receives the agent's `started` and `finished` reports.
  scheduler_actor scheduler;
  /// Starts processes in their own process group (the `command` provider's
  /// launcher); owned by the node, which terminates its processes at
  /// shutdown.
  std::shared_ptr<actors::process_launcher> launcher;
  /// Directory of the task logs; `run` names each task's log file in it.
  std::string log_dir;
  /// The node's data directory.
  std::string data_dir;
  /// The node's name, as stamped on events.
  std::string node_name;
  /// How long a cancelled process gets between SIGTERM and SIGKILL.
  std::chrono::milliseconds grace = std::chrono::seconds(5);
  /// The pool's liveness setting: a process silent and idle this long is
  /// hung (0: never); see `actors::launch_request`.
  std::chrono::milliseconds hung_after{0};
  /// The pool's provider settings (`[pools.NAME.options]`), for the
  /// provider to read and check (API version 2).
  std::map<std::string, std::string> options;
  /// The node's workspace manager (API version 3). An agent that starts
  /// processes asks it `prepare(task, spec)` before each start (the reply
  /// names the directory to start in) and `conclude(task)` after the process
  /// ended, and puts that reply in the outcome's `changes`; see
  /// docs/extending.md. (The built-in agents get it in
  /// `actors::agent_config::workspaces`.)
  workspace_actor workspaces = {};
  /// Variables the pool gives its processes (API version 4): its `env`
  /// table and the node's own values of the names in its `env_pass` (those
  /// set). A process-starting agent puts them over the allow-listed
  /// variables and under the task's own `env`. They are config, never
  /// journaled: the place for credentials.
  std::map<std::string, std::string> env = {};
};

/// Everything an observer starts with.
struct observer_context {
  /// The node's data directory.
  std::string data_dir;
  /// The node's name, as stamped on events.
  std::string node_name;
};

/// Spawns one agent of a pool. It returns the agent's handle (the node
/// registers it with `ctx.scheduler`) or a null handle when it cannot.
using provider_factory
  = std::function<agent_actor(caf::actor_system&, const provider_context&)>;

/// Checks a pool's provider settings (`[pools.NAME.options]`) before any of
/// its agents starts: an error (its message names the option) refuses the
/// node's start and `cw-node --check`.
using options_check
  = std::function<caf::error(const std::map<std::string, std::string>&)>;

/// Spawns an observer; the node hands it every committed batch of journal
/// events until the node stops. Returns a null handle when it cannot.
using observer_factory
  = std::function<observer_actor(caf::actor_system&, const observer_context&)>;

/// Where a plugin registers its types, by name. Owned by the node, valid
/// only during the plugin's `init` call.
class registrar {
public:
  /// Adds a provider that pools name with `provider = "NAME"`. Errors:
  /// `invalid_argument` when the name is empty or already taken.
  virtual caf::error add_provider(const std::string& name, provider_factory f)
    = 0;

  /// Adds an observer; the node starts every registered observer. Errors:
  /// `invalid_argument` when the name is empty or already taken.
  virtual caf::error add_observer(const std::string& name, observer_factory f)
    = 0;

  /// Adds the check of the options of provider `name`'s pools (API version
  /// 4). Errors: `invalid_argument` when no provider of that name is
  /// registered, or it has a check already.
  virtual caf::error add_options_check(const std::string& name,
                                       options_check f)
    = 0;

protected:
  ~registrar() = default;
};

} // namespace cw::plugin

/// What a plugin's entry point returns: a plain C struct, so the node can
/// read the API version before it calls any C++ of the plugin.
struct cw_plugin_descriptor {
  /// `CW_PLUGIN_API_VERSION` of the headers the plugin was built with.
  uint32_t api_version;
  /// The plugin's name, for messages.
  const char* name;
  /// Registers the plugin's types; called once, after the version check.
  /// A returned error (or an exception) refuses the plugin.
  caf::error (*init)(cw::plugin::registrar&);
};

/// The symbol the node looks up in a plugin library.
#define CW_PLUGIN_ENTRY_SYMBOL "cw_plugin_entry"

/// Defines a plugin's entry point: `CW_PLUGIN("my-plugin", my_init)` at
/// namespace scope in one source file, with `caf::error
/// my_init(cw::plugin::registrar&)`.
#define CW_PLUGIN(plugin_name, init_fn)                                        \
  extern "C" __attribute__((visibility("default")))                           \
  const cw_plugin_descriptor* cw_plugin_entry() {                              \
    static const cw_plugin_descriptor descriptor{CW_PLUGIN_API_VERSION,        \
                                                 plugin_name, init_fn};        \
    return &descriptor;                                                        \
  }
