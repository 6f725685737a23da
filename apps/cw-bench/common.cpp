#include "apps/cw-bench/bench.hpp"

#include <fstream>
#include <iostream>

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace cw::bench {

void figure(const std::string& bench, const std::string& name, double value,
            const std::string& unit) {
  std::cout << nlohmann::json{{"bench", bench},
                              {"name", name},
                              {"value", value},
                              {"unit", unit}}
                 .dump()
            << std::endl;
}

scratch_dir::scratch_dir() {
  char tmpl[] = "/tmp/cw-bench-XXXXXX";
  path = ::mkdtemp(tmpl);
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

size_t resident_bytes() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

namespace {

/// jemalloc's control interface, when the program runs on jemalloc.
using mallctl_fn = int (*)(const char*, void*, size_t*, void*, size_t);

mallctl_fn jemalloc_ctl() {
  static auto fn = reinterpret_cast<mallctl_fn>(::dlsym(RTLD_DEFAULT,
                                                        "mallctl"));
  return fn;
}

} // namespace

size_t heap_bytes() {
  if (auto ctl = jemalloc_ctl()) {
    // Statistics are cached until the epoch advances.
    uint64_t epoch = 1;
    auto len = sizeof(epoch);
    ctl("epoch", &epoch, &len, &epoch, len);
    size_t allocated = 0;
    len = sizeof(allocated);
    if (ctl("stats.allocated", &allocated, &len, nullptr, 0) == 0)
      return allocated;
    return 0;
  }
  return ::mallinfo2().uordblks;
}

void release_free_memory() {
  if (auto ctl = jemalloc_ctl()) {
    // 4096 is MALLCTL_ARENAS_ALL: every arena.
    ctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  ::malloc_trim(0);
}

} // namespace cw::bench
