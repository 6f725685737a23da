#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cw::runtime {

/// An HTTP request as the API sees it.
struct http_request {
  std::string method;
  /// Path and query, e.g. `/v1/tasks?status=queued`.
  std::string target;
  std::string body;
};

/// An HTTP response as the API produces it.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Sends the response of one request; callable once, from any thread.
using http_responder = std::function<void(http_response)>;

/// Handles one request. Called on the server's I/O thread: must not block.
using http_handler = std::function<void(http_request, http_responder)>;

} // namespace cw::runtime
