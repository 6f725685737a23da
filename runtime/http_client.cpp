#include "runtime/http_client.hpp"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "messages/errc.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace cw::runtime {

struct http_client::impl {
  std::string url;
  std::string host;
  std::string port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  caf::error unreachable(const std::string& why) {
    return make_error(errc::invalid_argument,
                      "cannot reach cw-node at " + url + ": " + why);
  }

  /// Runs one request on the current connection; `ec` tells what failed.
  http::response<http::string_body>
  exchange(const http::request<http::string_body>& req,
           std::chrono::milliseconds timeout, beast::error_code& ec,
           bool& sent) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    sent = false;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code e, size_t) {
      ec = e;
      if (e)
        return;
      sent = true;
      http::async_read(*stream, buffer, parser,
                       [&](beast::error_code e2, size_t) { ec = e2; });
    });
    ioc.restart();
    ioc.run();
    return parser.release();
  }

  caf::error connect(std::chrono::milliseconds timeout) {
    beast::error_code ec;
    tcp::resolver resolver{ioc};
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec)
      return unreachable(ec.message());
    stream.emplace(ioc);
    stream->expires_after(timeout);
    stream->async_connect(endpoints,
                          [&](beast::error_code e, const tcp::endpoint&) {
                            ec = e;
                          });
    ioc.restart();
    ioc.run();
    if (ec) {
      stream.reset();
      if (ec == asio::error::connection_refused)
        return unreachable("connection refused (is cw-node running?)");
      return unreachable(ec.message());
    }
    return {};
  }
};

http_client::http_client(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

http_client::~http_client() = default;

caf::expected<std::unique_ptr<http_client>>
http_client::make(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0)
    return make_error(errc::invalid_argument,
                      "node: URL must start with http://, got '" + url + "'");
  auto rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  auto colon = rest.rfind(':');
  auto d = std::make_unique<impl>();
  d->url = url;
  if (colon == std::string::npos) {
    d->host = rest;
    d->port = "80";
  } else {
    d->host = rest.substr(0, colon);
    d->port = rest.substr(colon + 1);
  }
  if (d->host.empty() || d->port.empty()
      || d->port.find_first_not_of("0123456789") != std::string::npos)
    return make_error(errc::invalid_argument,
                      "node: expected http://HOST:PORT, got '" + url + "'");
  return std::unique_ptr<http_client>{new http_client(std::move(d))};
}

caf::expected<http_response>
http_client::request(const std::string& method, const std::string& target,
                     const std::string& body,
                     std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  http::request<http::string_body> req{http::string_to_verb(method), target,
                                       11};
  req.set(http::field::host, d.host);
  req.set(http::field::user_agent, "cw");
  if (!body.empty())
    req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  // A kept-alive connection may have been closed by the server meanwhile:
  // retry once on a fresh connection if nothing was sent.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = !d.stream.has_value();
    if (fresh)
      if (auto err = d.connect(timeout))
        return err;
    beast::error_code ec;
    bool sent = false;
    auto res = d.exchange(req, timeout, ec, sent);
    if (!ec) {
      if (!res.keep_alive())
        d.stream.reset();
      http_response out;
      out.status = res.result_int();
      out.content_type = std::string{res[http::field::content_type]};
      for (auto& field : res)
        out.headers.emplace_back(std::string{field.name_string()},
                                 std::string{field.value()});
      out.body = std::move(res.body());
      return out;
    }
    d.stream.reset();
    d.buffer.clear();
    if (ec == beast::error::timeout)
      return d.unreachable("no answer within "
                           + std::to_string(timeout.count()) + " ms");
    bool stale = !fresh
                 && (ec == http::error::end_of_stream
                     || ec == asio::error::connection_reset
                     || ec == asio::error::broken_pipe || !sent);
    if (!stale)
      return d.unreachable(ec.message());
  }
  return d.unreachable("connection closed");
}

const std::string& http_client::url() const noexcept {
  return impl_->url;
}

} // namespace cw::runtime
