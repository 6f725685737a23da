#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "runtime/http_types.hpp"

namespace cw::runtime {

/// An HTTP/1.1 server (Boost.Beast) on one I/O thread of its own, with
/// keep-alive and a bounded request size. Answers through `handler`.
class http_server {
public:
  /// Largest request body accepted.
  static constexpr size_t max_body_bytes = 8 << 20;

  /// Binds `host:port` (port 0 picks a free one) and starts serving.
  /// Errors: `invalid_argument` for a bad address, `journal_io`-free plain
  /// system errors rendered into the message.
  static caf::expected<std::unique_ptr<http_server>>
  start(const std::string& host, uint16_t port, http_handler handler);

  ~http_server();

  /// Returns the port the server listens on.
  uint16_t port() const noexcept;

  /// Stops accepting, closes connections and joins the I/O thread.
  void stop();

private:
  struct impl;
  explicit http_server(std::shared_ptr<impl> ptr);
  std::shared_ptr<impl> impl_;
};

} // namespace cw::runtime
