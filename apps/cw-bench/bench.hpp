#pragma once

// Shared pieces of cw-bench: arguments, figure output, scratch nodes.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "runtime/node.hpp"

namespace cw::bench {

/// Command-line knobs; each benchmark reads the ones it needs.
struct bench_args {
  uint32_t tasks = 2000;
  uint32_t clients = 4;
  uint32_t agents = 8;
  /// Whether `--agents` was given (some benchmarks have their own default).
  bool agents_given = false;
  uint64_t events = 1'000'000;
  uint32_t in_flight = 4096;
  std::string durability = "full";
};

/// Prints one figure as a JSON line.
void figure(const std::string& bench, const std::string& name, double value,
            const std::string& unit);

/// A temporary directory under /tmp, removed on destruction.
struct scratch_dir {
  std::filesystem::path path;
  scratch_dir();
  ~scratch_dir();
};

/// Returns the resident set size of this process in bytes.
size_t resident_bytes();

/// Bytes the allocator has handed out and not got back: jemalloc's
/// `stats.allocated` when the program runs on jemalloc (cw-bench links it
/// outside sanitizer builds), else glibc's `mallinfo2`.
size_t heap_bytes();

/// Gives the allocator's free memory back to the system, so that a change
/// of resident memory counts the pages a measurement touches: jemalloc
/// purges every arena, glibc trims its heaps.
void release_free_memory();

/// Benchmarks; each returns the process exit status.
int submit_roundtrip(const bench_args& args);
int journal_append(const bench_args& args);
int journal_replay(const bench_args& args);
int startup(const bench_args& args);
int scheduler_throughput(const bench_args& args);
int scheduler_latency(const bench_args& args);
int queue_memory(const bench_args& args);
int placement_bench(const bench_args& args);
int locks_pure(const bench_args& args);
int locks_actor(const bench_args& args);
int deadlock(const bench_args& args);
int process_agents(const bench_args& args);
int idle_agents(const bench_args& args);
int watcher(const bench_args& args);

} // namespace cw::bench
