#include "runtime/http_server.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "messages/errc.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace cw::runtime {

namespace {

/// An idle keep-alive connection is closed after this long.
constexpr auto idle_timeout = std::chrono::minutes(2);

} // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
  class session;

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  http_handler handler;
  uint16_t port = 0;
  std::thread thread;
  // Open connections; touched on the I/O thread only. Sessions do not own
  // the server, so nothing cycles.
  std::set<std::shared_ptr<session>> sessions;

  void accept();
};

class http_server::impl::session
  : public std::enable_shared_from_this<session> {
public:
  session(impl* server, tcp::socket socket)
    : server_(server), stream_(std::move(socket)) {
    // nop
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    stream_.expires_after(idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_read(ec);
                     });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  void write(http_response r) {
    res_ = {};
    res_.version(11);
    res_.result(r.status);
    res_.set(http::field::server, "cw");
    res_.set(http::field::content_type, r.content_type);
    for (auto& [key, value] : r.headers)
      res_.set(key, value);
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(r.body);
    res_.prepare_payload();
    stream_.expires_never();
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->on_write(ec);
                      });
  }

private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      write(http_response{413, "application/json",
                          R"({"error":"invalid_argument","message":"request body larger than )"
                            + std::to_string(max_body_bytes) + R"( bytes"})",
                          {}});
      return;
    }
    if (ec) {
      finish();
      return;
    }
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    std::weak_ptr<session> weak = shared_from_this();
    auto server = server_->shared_from_this();
    server_->handler(
      http_request{std::string{req.method_string()}, std::string{req.target()},
                   std::move(req.body())},
      [weak, server](http_response r) {
        asio::post(server->ioc, [weak, r = std::move(r)]() mutable {
          if (auto self = weak.lock())
            self->write(std::move(r));
        });
      });
  }

  void on_write(beast::error_code ec) {
    if (ec || !keep_alive_) {
      close();
      finish();
      return;
    }
    read();
  }

  void finish() {
    server_->sessions.erase(shared_from_this());
  }

  impl* server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
};

void http_server::impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return; // acceptor closed
    socket.set_option(tcp::no_delay{true}, ec);
    auto s = std::make_shared<session>(this, std::move(socket));
    sessions.insert(s);
    s->read();
    accept();
  });
}

http_server::http_server(std::shared_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

http_server::~http_server() {
  stop();
}

caf::expected<std::unique_ptr<http_server>>
http_server::start(const std::string& host, uint16_t port,
                   http_handler handler) {
  auto d = std::make_shared<impl>();
  d->handler = std::move(handler);
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return make_error(errc::invalid_argument,
                      "api: '" + host + "' is not an IP address");
  tcp::endpoint ep{addr, port};
  auto fail = [&](const char* what) {
    return make_error(errc::invalid_argument,
                      std::string{"api: cannot "} + what + " " + host + ":"
                        + std::to_string(port) + ": " + ec.message());
  };
  if (d->acceptor.open(ep.protocol(), ec); ec)
    return fail("open");
  if (d->acceptor.set_option(asio::socket_base::reuse_address{true}, ec); ec)
    return fail("configure");
  if (d->acceptor.bind(ep, ec); ec)
    return fail("bind");
  if (d->acceptor.listen(asio::socket_base::max_listen_connections, ec); ec)
    return fail("listen on");
  d->port = d->acceptor.local_endpoint().port();
  d->accept();
  d->thread = std::thread([d = d.get()] { d->ioc.run(); });
  return std::unique_ptr<http_server>{new http_server(std::move(d))};
}

uint16_t http_server::port() const noexcept {
  return impl_->port;
}

void http_server::stop() {
  auto& d = *impl_;
  if (!d.thread.joinable())
    return;
  asio::post(d.ioc, [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
    for (auto& s : d.sessions)
      s->close();
    d.sessions.clear();
    d.ioc.stop();
  });
  d.thread.join();
}

} // namespace cw::runtime
