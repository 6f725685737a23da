// cw-node: runs one cw node until SIGINT or SIGTERM.

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "messages/errc.hpp"
#include "runtime/extensions.hpp"
#include "runtime/node.hpp"

namespace {

/// Exit statuses of cw-node.
enum class exit_status : int {
  success = 0,
  start_failed = 1,
  usage = 2,
};

int finish(exit_status x) {
  return static_cast<int>(x);
}

} // namespace

int main(int argc, char** argv) {
  auto cfg = cw::runtime::default_node_config();
  CLI::App app{"cw-node: runs coding agents from a durable, journaled queue"};
  std::string config_file;
  std::string api;
  std::string durability;
  app.add_option("--config", config_file, "TOML configuration file")
    ->check(CLI::ExistingFile);
  auto data_dir_opt = app.add_option("--data-dir", cfg.data_dir,
                                     "journal and logs directory");
  auto api_opt = app.add_option("--api", api,
                                "HOST:PORT of the HTTP API (default "
                                "127.0.0.1:7420; port 0 picks a free one)");
  auto agents_opt = app.add_option("--agents", cfg.agents,
                                   "number of command agents (default: cores)");
  auto level_opt = app.add_option("--log-level", cfg.log_level,
                                  "trace, debug, info, warn, error, off");
  auto name_opt = app.add_option("--node-name", cfg.node_name,
                                 "name stamped on events (default: host name)");
  auto durability_opt = app.add_option("--durability", durability,
                                       "full (fsync each commit) or normal");
  bool keep_agents = false;
  app.add_flag("--keep-agents", keep_agents,
               "on SIGTERM leave agent processes running for the next start "
               "to adopt");
  std::string shim;
  auto shim_opt = app.add_option("--shim", shim,
                                 "cw-shim executable (default: next to "
                                 "cw-node, else on PATH)");
  std::string claude_binary;
  auto claude_opt = app.add_option("--claude", claude_binary,
                                   "Claude Code CLI of the default claude "
                                   "pool (default: claude on PATH)");
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "plugin library to load (repeatable; after the config "
                 "file's plugins)");
  bool check = false;
  app.add_flag("--check", check,
               "load the config and plugins, print what they provide, exit");
  CLI11_PARSE(app, argc, argv);
  if (!config_file.empty()) {
    // The file sets the base; flags given on the command line win.
    auto file_cfg = cw::runtime::load_config_file(config_file, cfg);
    if (!file_cfg) {
      std::cerr << "cw-node: " << cw::describe(file_cfg.error()) << "\n";
      return finish(exit_status::usage);
    }
    auto flags = cfg;
    cfg = std::move(*file_cfg);
    if (data_dir_opt->count() > 0)
      cfg.data_dir = flags.data_dir;
    if (agents_opt->count() > 0)
      cfg.agents = flags.agents;
    if (level_opt->count() > 0)
      cfg.log_level = flags.log_level;
    if (name_opt->count() > 0)
      cfg.node_name = flags.node_name;
  }
  if (api_opt->count() > 0)
    if (auto err = cw::runtime::parse_api_address(api, cfg)) {
      std::cerr << "cw-node: --" << cw::error_message(err) << "\n";
      return finish(exit_status::usage);
    }
  if (keep_agents)
    cfg.keep_agents = true;
  if (shim_opt->count() > 0)
    cfg.shim_path = shim;
  if (claude_opt->count() > 0) {
    if (claude_binary.empty()) {
      std::cerr << "cw-node: --claude must not be empty\n";
      return finish(exit_status::usage);
    }
    cfg.claude_binary = claude_binary;
    cfg.claude_binary_set = true;
  }
  if (durability_opt->count() > 0
      && !cw::persistence::from_string(durability, cfg.durability)) {
    std::cerr << "cw-node: --durability must be full or normal\n";
    return finish(exit_status::usage);
  }
  if (auto err = cw::runtime::validate(cfg)) {
    std::cerr << "cw-node: --" << cw::error_message(err) << "\n";
    return finish(exit_status::usage);
  }
  auto logger = spdlog::stderr_color_mt("cw");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  cfg.plugins.insert(cfg.plugins.end(), plugins.begin(), plugins.end());
  if (check) {
    auto reg = cw::runtime::load_registry(cfg);
    if (!reg) {
      std::cerr << "cw-node: " << cw::describe(reg.error()) << "\n";
      return finish(exit_status::start_failed);
    }
    std::cout << cw::runtime::describe_registry(cfg, **reg);
    return finish(exit_status::success);
  }
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto node = cw::runtime::node::start(cfg);
  if (!node) {
    std::cerr << "cw-node: cannot start: " << cw::describe(node.error())
              << "\n";
    return finish(exit_status::start_failed);
  }
  std::cout << "cw-node " << cfg.node_name << " listening on http://"
            << cfg.api_host << ":" << (*node)->api_port() << " (data dir "
            << cfg.data_dir << ", " << (*node)->agent_count() << " agents)"
            << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("received signal {}, stopping", sig);
  (*node)->stop();
  return finish(exit_status::success);
}
