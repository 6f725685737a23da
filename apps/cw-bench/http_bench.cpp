#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/cw-bench/bench.hpp"
#include "runtime/http_client.hpp"

namespace cw::bench {

using clock_type = std::chrono::steady_clock;

/// Tasks per second through HTTP: submit, run /bin/true, see it completed.
int submit_roundtrip(const bench_args& args) {
  scratch_dir dir;
  auto cfg = runtime::default_node_config();
  cfg.data_dir = dir.path.string();
  // The tasks' workspace (the node watches it): a directory of their own.
  auto workspace = dir.path / "workspace";
  std::filesystem::create_directories(workspace);
  cfg.api_port = 0;
  cfg.agents = args.agents;
  cfg.log_level = "warn";
  persistence::from_string(args.durability, cfg.durability);
  auto started = runtime::node::start(cfg);
  if (!started) {
    std::cerr << "cw-bench: cannot start node\n";
    return 1;
  }
  auto& n = *started;
  auto url = "http://127.0.0.1:" + std::to_string(n->api_port());
  std::atomic<uint32_t> failures{0};
  auto per_client = args.tasks / args.clients;
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < args.clients; ++c) {
    threads.emplace_back([&] {
      auto client = std::move(*runtime::http_client::make(url));
      std::vector<std::string> ids;
      auto body = nlohmann::json{{"argv", {"/bin/true"}},
                                 {"workspace", workspace.string()}}
                    .dump();
      for (uint32_t i = 0; i < per_client; ++i) {
        auto res = client->request("POST", "/v1/tasks", body);
        if (!res || res->status != 201) {
          ++failures;
          continue;
        }
        ids.push_back(std::to_string(
          nlohmann::json::parse(res->body)["id"].get<uint64_t>()));
      }
      for (auto& id : ids) {
        auto res = client->request("GET", "/v1/tasks/" + id + "?wait=60");
        if (!res || nlohmann::json::parse(res->body)["status"] != "completed")
          ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  std::chrono::duration<double> secs = clock_type::now() - start;
  n->stop();
  auto total = per_client * args.clients;
  std::cout << "submit-roundtrip: " << total << " tasks of /bin/true through "
            << args.clients << " HTTP clients and " << args.agents
            << " agents in " << secs.count() << " s, " << failures.load()
            << " failures" << std::endl;
  figure("submit-roundtrip", "tasks_per_s", total / secs.count(), "tasks/s");
  return failures.load() == 0 ? 0 : 1;
}

} // namespace cw::bench
