// cw-bench: named benchmarks; each prints human-readable lines, then one
// JSON object per figure: {"bench", "name", "value", "unit"}.

#include <functional>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "apps/cw-bench/bench.hpp"

int main(int argc, char** argv) {
  using namespace cw::bench;
  const std::map<std::string,
                 std::pair<std::string, std::function<int(const bench_args&)>>>
    benchmarks{
      {"submit-roundtrip",
       {"tasks/s through HTTP with the command provider running /bin/true",
        submit_roundtrip}},
      {"journal-append",
       {"events/s appended with group commit (full, normal) vs raw SQLite",
        journal_append}},
      {"journal-replay", {"events/s folded from a journal on disk", journal_replay}},
      {"scheduler-throughput",
       {"tasks/s and chain-3 workflows/s with in-process noop agents, "
        "every step journaled",
        scheduler_throughput}},
      {"scheduler-latency",
       {"submit to agent start at a steady 1,000 tasks/s", scheduler_latency}},
      {"queue-memory",
       {"memory of 1,000,000 queued tasks; ordering; pick-next time",
        queue_memory}},
      {"placement",
       {"placement decision time with 1,000 agents", placement_bench}},
      {"locks",
       {"lock manager actor: uncontended acquire+release, contended grants, "
        "with no journal and with a SQLite journal (--durability)",
        locks_actor}},
      {"locks-pure",
       {"lock table: uncontended acquire+release, contended grants (no actor)",
        locks_pure}},
      {"deadlock",
       {"deadlock detection at every wait on a 10,000-edge wait-for graph",
        deadlock}},
      {"process-agents",
       {"tasks/s of /bin/true through a node with 16 command agents, beside "
        "the posix_spawn ceiling",
        process_agents}},
      {"idle-agents",
       {"spawn time and resident bytes of 10,000 idle agent actors",
        idle_agents}},
      {"watcher",
       {"file writes/s into a watched workspace with no file missing from "
        "the task's summary",
        watcher}},
      {"startup",
       {"node start-up on a 1M-event journal with a snapshot; state size",
        startup}},
    };
  CLI::App app{"cw-bench: cw's benchmarks"};
  std::string name;
  bench_args args;
  app.add_option("name", name, "benchmark to run, or 'list'")->required();
  app.add_option("--tasks", args.tasks, "number of tasks");
  app.add_option("--clients", args.clients, "concurrent HTTP clients")
    ->check(CLI::Range(1, 256));
  auto agents_opt
    = app.add_option("--agents", args.agents, "agents of the node")
        ->check(CLI::Range(1, 4096));
  app.add_option("--events", args.events, "number of journal events")
    ->check(CLI::Range(uint64_t{1000}, uint64_t{100'000'000}));
  app.add_option("--in-flight", args.in_flight, "appends in flight at once")
    ->check(CLI::Range(1, 1'000'000));
  app.add_option("--durability", args.durability, "full or normal")
    ->check(CLI::IsMember({"full", "normal"}));
  CLI11_PARSE(app, argc, argv);
  args.agents_given = agents_opt->count() > 0;
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
