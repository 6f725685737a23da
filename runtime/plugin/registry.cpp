#include "runtime/plugin/registry.hpp"

#include <exception>

#include "caf/actor_system.hpp"
#include "caf/send.hpp"

#include "messages/errc.hpp"

namespace cw::plugin {

std::string join(const std::vector<std::string>& xs) {
  std::string result;
  for (auto& x : xs)
    result += (result.empty() ? "" : ", ") + x;
  return result.empty() ? "none" : result;
}

caf::error registry::check_name(const char* what, const std::string& name,
                                const std::string& taken_by) const {
  if (name.empty())
    return make_error(errc::invalid_argument,
                      origin_ + ": " + what + " name must not be empty");
  if (!taken_by.empty())
    return make_error(errc::invalid_argument,
                      origin_ + ": " + what + " '" + name
                        + "' is already registered (by " + taken_by + ")");
  return {};
}

caf::error registry::add_provider(const std::string& name, provider_factory f) {
  auto i = providers_.find(name);
  if (auto err = check_name("provider", name,
                            i != providers_.end() ? i->second.origin : ""))
    return err;
  if (!f)
    return make_error(errc::invalid_argument,
                      origin_ + ": provider '" + name + "' has no factory");
  providers_.emplace(name, provider_entry{std::move(f), nullptr, false, origin_});
  return {};
}

caf::error registry::add_self_registering_provider(const std::string& name,
                                                   provider_factory f) {
  if (auto err = add_provider(name, std::move(f)))
    return err;
  providers_[name].self_registering = true;
  return {};
}

caf::error registry::add_options_check(const std::string& name,
                                       options_check f) {
  auto i = providers_.find(name);
  if (i == providers_.end())
    return make_error(errc::invalid_argument,
                      origin_ + ": options check for provider '" + name
                        + "', which is not registered");
  if (i->second.check || !f)
    return make_error(errc::invalid_argument,
                      origin_ + ": provider '" + name
                        + (f ? "' has an options check already"
                             : "': the options check is empty"));
  i->second.check = std::move(f);
  return {};
}

caf::error registry::check_options(
  const std::string& provider,
  const std::map<std::string, std::string>& options) const {
  auto i = providers_.find(provider);
  if (i == providers_.end() || !i->second.check)
    return {};
  // A plugin's check is foreign code: its exceptions stop here.
  try {
    return i->second.check(options);
  } catch (const std::exception& ex) {
    return make_error(errc::invalid_argument, ex.what());
  } catch (...) {
    return make_error(errc::invalid_argument,
                      "the options check threw an unknown exception");
  }
}

caf::error registry::add_observer(const std::string& name, observer_factory f) {
  auto i = observers_.find(name);
  if (auto err = check_name("observer", name,
                            i != observers_.end() ? i->second.origin : ""))
    return err;
  if (!f)
    return make_error(errc::invalid_argument,
                      origin_ + ": observer '" + name + "' has no factory");
  observers_.emplace(name, observer_entry{std::move(f), origin_});
  return {};
}

void registry::set_origin(std::string origin) {
  origin_ = std::move(origin);
}

bool registry::has_provider(const std::string& name) const {
  return providers_.count(name) != 0;
}

std::vector<std::string> registry::provider_names() const {
  std::vector<std::string> result;
  for (auto& kv : providers_)
    result.push_back(kv.first);
  return result;
}

std::vector<std::string> registry::observer_names() const {
  std::vector<std::string> result;
  for (auto& kv : observers_)
    result.push_back(kv.first);
  return result;
}

caf::expected<agent_actor>
registry::spawn_agent(caf::actor_system& sys,
                      const provider_context& ctx) const {
  auto& provider = ctx.profile.provider;
  auto i = providers_.find(provider);
  if (i == providers_.end())
    return make_error(errc::unknown_provider,
                      "pools." + ctx.profile.pool + ".provider: unknown "
                        "provider '" + provider + "' (known: "
                        + join(provider_names()) + ")");
  auto failed = [&](const std::string& why) {
    return make_error(errc::agent_spawn_failed,
                      "provider '" + provider + "' (" + i->second.origin
                        + ") cannot spawn agent " + ctx.profile.name + ": "
                        + why);
  };
  agent_actor handle;
  // A plugin's factory is foreign code: its exceptions stop here.
  try {
    handle = i->second.factory(sys, ctx);
  } catch (const std::exception& ex) {
    return failed(ex.what());
  } catch (...) {
    return failed("unknown exception");
  }
  if (!handle)
    return failed("the factory returned no actor");
  if (!i->second.self_registering)
    caf::anon_send(ctx.scheduler, register_atom_v, ctx.profile, handle);
  return handle;
}

caf::expected<std::vector<observer_actor>>
registry::spawn_observers(caf::actor_system& sys,
                          const observer_context& ctx) const {
  std::vector<observer_actor> result;
  for (auto& [name, entry] : observers_) {
    auto failed = [&, n = name, origin = entry.origin](const std::string& why) {
      return make_error(errc::agent_spawn_failed, "observer '" + n + "' ("
                                                    + origin
                                                    + ") cannot start: " + why);
    };
    observer_actor handle;
    try {
      handle = entry.factory(sys, ctx);
    } catch (const std::exception& ex) {
      return failed(ex.what());
    } catch (...) {
      return failed("unknown exception");
    }
    if (!handle)
      return failed("the factory returned no actor");
    result.push_back(std::move(handle));
  }
  return result;
}

} // namespace cw::plugin
