#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "runtime/http_types.hpp"

namespace cw::runtime {

/// A blocking HTTP/1.1 client for one node (Boost.Beast), reusing one
/// keep-alive connection. Not thread-safe; one per thread.
class http_client {
public:
  /// Errors: `invalid_argument` unless `url` is `http://HOST:PORT`.
  static caf::expected<std::unique_ptr<http_client>> make(const std::string& url);

  ~http_client();

  /// Sends one request and waits for the answer, at most `timeout`.
  /// Errors: `invalid_argument` with a one-line message when the node
  /// cannot be reached or does not answer.
  caf::expected<http_response>
  request(const std::string& method, const std::string& target,
          const std::string& body = {},
          std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// Returns the URL this client talks to.
  const std::string& url() const noexcept;

private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace cw::runtime
