#include "persistence/checksum.hpp"

#include <string_view>

namespace cw::persistence {

namespace {

constexpr uint64_t fnv_offset = 14695981039346656037ull;
constexpr uint64_t fnv_prime = 1099511628211ull;

void mix(uint64_t& h, const void* data, size_t size) {
  auto bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= bytes[i];
    h *= fnv_prime;
  }
}

void mix_int(uint64_t& h, uint64_t x) {
  unsigned char buf[8];
  for (int i = 0; i < 8; ++i)
    buf[i] = static_cast<unsigned char>(x >> (8 * i));
  mix(h, buf, sizeof(buf));
}

void mix_str(uint64_t& h, std::string_view str) {
  mix_int(h, str.size());
  mix(h, str.data(), str.size());
}

} // namespace

uint64_t checksum(const event& x) {
  uint64_t h = fnv_offset;
  mix_int(h, x.seq);
  mix_int(h, static_cast<uint64_t>(x.time_ms));
  mix_str(h, x.node);
  mix_str(h, x.type);
  mix_int(h, x.version);
  mix_str(h, x.entity);
  mix_str(h, x.payload);
  // SQLite stores signed 64-bit integers; keep the value in that range so a
  // stored checksum reads back unchanged.
  return h & 0x7fffffffffffffffull;
}

uint64_t checksum(const snapshot& x) {
  uint64_t h = fnv_offset;
  mix_int(h, x.seq);
  mix_int(h, static_cast<uint64_t>(x.time_ms));
  mix_str(h, x.kind);
  mix_str(h, x.state);
  return h & 0x7fffffffffffffffull;
}

} // namespace cw::persistence
