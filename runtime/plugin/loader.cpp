#include "runtime/plugin/loader.hpp"

#include <exception>
#include <filesystem>

#include <dlfcn.h>

#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/plugin/registry.hpp"

namespace cw::plugin {

caf::error load_plugin(const std::string& path, registry& reg) {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "plugin " + path + ": " + why);
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return refuse(std::filesystem::exists(path, ec) ? "not a regular file"
                                                    : "no such file");
  // A path without a slash would make dlopen search the library path.
  auto file = std::filesystem::absolute(path, ec).string();
  // RTLD_NOW: a missing symbol fails here, with dlopen's message, rather
  // than as a crash when the node first calls into the plugin. RTLD_LOCAL:
  // plugins do not see each other's symbols.
  auto handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    auto msg = ::dlerror();
    return refuse(std::string{"cannot load: "}
                  + (msg != nullptr ? msg : "dlopen failed"));
  }
  ::dlerror();
  auto sym = ::dlsym(handle, CW_PLUGIN_ENTRY_SYMBOL);
  if (sym == nullptr) {
    ::dlclose(handle);
    return refuse("no entry point " CW_PLUGIN_ENTRY_SYMBOL
                  " (not a cw plugin? define one with CW_PLUGIN)");
  }
  using entry_fn = const cw_plugin_descriptor* (*)();
  auto entry = reinterpret_cast<entry_fn>(sym);
  auto descriptor = entry();
  if (descriptor == nullptr) {
    ::dlclose(handle);
    return refuse(CW_PLUGIN_ENTRY_SYMBOL " returned no descriptor");
  }
  // Only the version is read before it matches: the rest of the descriptor
  // may have another layout in another version.
  if (descriptor->api_version != CW_PLUGIN_API_VERSION) {
    auto version = descriptor->api_version;
    ::dlclose(handle);
    return refuse("built against cw plugin API version "
                  + std::to_string(version) + ", but this cw-node supports "
                  "version " + std::to_string(CW_PLUGIN_API_VERSION)
                  + "; rebuild the plugin against this cw");
  }
  std::string name = descriptor->name != nullptr ? descriptor->name : "";
  if (descriptor->init == nullptr)
    return refuse("descriptor has no init function");
  // From here on the plugin may have registered factories, so the library
  // stays loaded even when it fails (the node will not start anyway).
  reg.set_origin("plugin " + (name.empty() ? path : name + " (" + path + ")"));
  caf::error err;
  try {
    err = descriptor->init(reg);
  } catch (const std::exception& ex) {
    err = refuse(std::string{"init threw: "} + ex.what());
  } catch (...) {
    err = refuse("init threw an unknown exception");
  }
  reg.set_origin("built-in");
  if (err) {
    if (error_code(err) == errc::invalid_argument
        && error_message(err).rfind("plugin ", 0) == 0)
      return err;
    return refuse("init failed: " + describe(err));
  }
  spdlog::info("loaded plugin {} from {}", name, path);
  return {};
}

} // namespace cw::plugin
