// cw-bench: named benchmarks; each prints human-readable lines, then one
// JSON object per figure: {"bench", "name", "value", "unit"}.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "runtime/http_client.hpp"
#include "runtime/node.hpp"

namespace {

using namespace cw::runtime;
using clock_type = std::chrono::steady_clock;

struct bench_args {
  uint32_t tasks = 2000;
  uint32_t clients = 4;
  uint32_t agents = 8;
  std::string durability = "full";
};

void figure(const std::string& bench, const std::string& name, double value,
            const std::string& unit) {
  std::cout << nlohmann::json{{"bench", bench},
                              {"name", name},
                              {"value", value},
                              {"unit", unit}}
                 .dump()
            << std::endl;
}

/// A node on a free loopback port with a fresh data dir, removed afterwards.
struct scratch_node {
  std::filesystem::path dir;
  std::unique_ptr<node> n;

  explicit scratch_node(const bench_args& args) {
    char tmpl[] = "/tmp/cw-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto cfg = default_node_config();
    cfg.data_dir = dir.string();
    cfg.api_port = 0;
    cfg.agents = args.agents;
    cfg.log_level = "warn";
    cw::persistence::from_string(args.durability, cfg.durability);
    auto started = node::start(cfg);
    if (!started) {
      std::cerr << "cw-bench: cannot start node\n";
      std::exit(1);
    }
    n = std::move(*started);
  }

  ~scratch_node() {
    n->stop();
    std::filesystem::remove_all(dir);
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(n->api_port());
  }
};

/// Tasks per second through HTTP: submit, run /bin/true, see it completed.
int submit_roundtrip(const bench_args& args) {
  scratch_node sn{args};
  std::atomic<uint32_t> failures{0};
  auto per_client = args.tasks / args.clients;
  auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (uint32_t c = 0; c < args.clients; ++c) {
    threads.emplace_back([&] {
      auto client = std::move(*http_client::make(sn.url()));
      std::vector<std::string> ids;
      auto body = R"({"argv":["/bin/true"],"workspace":"/tmp"})";
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
  auto total = per_client * args.clients;
  std::cout << "submit-roundtrip: " << total << " tasks of /bin/true through "
            << args.clients << " HTTP clients and " << args.agents
            << " agents in " << secs.count() << " s, " << failures.load()
            << " failures" << std::endl;
  figure("submit-roundtrip", "tasks_per_s", total / secs.count(), "tasks/s");
  return failures.load() == 0 ? 0 : 1;
}

const std::map<std::string, std::pair<std::string, std::function<int(const bench_args&)>>>
  benchmarks{
    {"submit-roundtrip",
     {"tasks/s through HTTP with the command provider running /bin/true",
      submit_roundtrip}},
  };

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cw-bench: cw's benchmarks"};
  std::string name;
  bench_args args;
  app.add_option("name", name, "benchmark to run, or 'list'")->required();
  app.add_option("--tasks", args.tasks, "number of tasks");
  app.add_option("--clients", args.clients, "concurrent HTTP clients")
    ->check(CLI::Range(1, 256));
  app.add_option("--agents", args.agents, "agents of the node")
    ->check(CLI::Range(1, 4096));
  app.add_option("--durability", args.durability, "full or normal")
    ->check(CLI::IsMember({"full", "normal"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (name == "list") {
    for (auto& [key, entry] : benchmarks)
      std::cout << key << "  " << entry.first << "\n";
    return 0;
  }
  auto i = benchmarks.find(name);
  if (i == benchmarks.end()) {
    std::cerr << "cw-bench: unknown benchmark '" << name
              << "' (cw-bench list names them)\n";
    return 2;
  }
  return i->second.second(args);
}
