#include "apps/cw-bench/bench.hpp"

#include <fstream>
#include <iostream>

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

} // namespace cw::bench
