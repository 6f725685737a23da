#pragma once

#include <map>
#include <string>
#include <vector>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "runtime/plugin/api.hpp"

namespace cw::plugin {

/// Returns `xs` as `"a, b, c"`, or `"none"` when empty (error messages,
/// `cw-node --check`).
std::string join(const std::vector<std::string>& xs);

/// The providers and observers a node knows, by name: the built-in ones and
/// those of its plugins. Owned by the node; plugins see it as a `registrar`
/// while they register.
class registry final : public registrar {
public:
  /// Creates an empty registry; the node adds the built-ins.
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry() = default;

  // -- registration -----------------------------------------------------------

  /// Adds a provider whose agents the node registers with the scheduler.
  /// Errors: `invalid_argument` naming the origin (empty or taken name, no
  /// factory).
  caf::error add_provider(const std::string& name, provider_factory f) override;

  /// Adds an observer. Errors: as `add_provider`.
  caf::error add_observer(const std::string& name, observer_factory f) override;

  /// Adds the options check of provider `name`. Errors: as the registrar's.
  caf::error add_options_check(const std::string& name,
                               options_check f) override;

  /// Adds a built-in provider whose agents register themselves with the
  /// scheduler (the `command` and `noop` spawn functions do).
  caf::error add_self_registering_provider(const std::string& name,
                                           provider_factory f);

  /// Names who registers what from now on, for error messages (e.g.
  /// `"plugin /x/libecho.so"`); `"built-in"` at first.
  void set_origin(std::string origin);

  // -- properties -------------------------------------------------------------

  /// Returns whether a provider of that name is registered.
  bool has_provider(const std::string& name) const;

  /// Checks the options of a pool of provider `provider` with its check, if
  /// any. Errors: the check's.
  caf::error check_options(const std::string& provider,
                           const std::map<std::string, std::string>& options) const;

  /// Returns the names of all providers, sorted.
  std::vector<std::string> provider_names() const;

  /// Returns the names of all observers, sorted.
  std::vector<std::string> observer_names() const;

  // -- spawning ---------------------------------------------------------------

  /// Spawns one agent of provider `ctx.profile.provider` and makes sure it
  /// is registered with `ctx.scheduler`. Errors: `unknown_provider`;
  /// `agent_spawn_failed` when the factory throws or returns no agent.
  caf::expected<agent_actor> spawn_agent(caf::actor_system& sys,
                                         const provider_context& ctx) const;

  /// Spawns every registered observer, in name order. Errors:
  /// `agent_spawn_failed` naming the observer when its factory throws or
  /// returns no actor.
  caf::expected<std::vector<observer_actor>>
  spawn_observers(caf::actor_system& sys, const observer_context& ctx) const;

private:
  struct provider_entry {
    provider_factory factory;
    options_check check = nullptr;
    bool self_registering = false;
    std::string origin;
  };

  struct observer_entry {
    observer_factory factory;
    std::string origin;
  };

  /// Returns an error unless `name` is non-empty and not taken (`taken_by`
  /// names the origin of the holder; empty when free).
  caf::error check_name(const char* what, const std::string& name,
                        const std::string& taken_by) const;

  std::map<std::string, provider_entry> providers_;
  std::map<std::string, observer_entry> observers_;
  std::string origin_ = "built-in";
};

} // namespace cw::plugin
