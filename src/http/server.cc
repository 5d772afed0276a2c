// The Beast session loop. One coroutine per connection, running on its own strand so that the
// shutdown path (posted to the same strand) never races the connection's I/O.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/ids.h"
#include "http/exchange.h"
#include "http/http.h"

namespace triggerd::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

// After answering early (413, 404 …) the client may still be sending a body we will not read.
// Closing at once would make the kernel send RST and the client could lose our answer, so we
// half-close and discard input for a while first (nginx's "lingering close").
constexpr std::chrono::milliseconds kLingerTime{2'000};
constexpr size_t kLingerMaxBytes = 8 * 1024 * 1024;
// The first read of each request asks for up to this much (see Serve).
constexpr size_t kFirstReadBytes = 16 * 1024;

std::string NormalizeAddress(const net::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

class ServerImpl;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerImpl* server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}
  net::any_io_executor executor() { return stream_.get_executor(); }
  // The connection loop. `refuse` answers 503 once and closes (connection limit reached).
  net::awaitable<void> Run(bool refuse);
  // Must run on the session's strand: closes now if waiting for a next request, else after the
  // in-flight response.
  void RequestStop();

 private:
  net::awaitable<void> Serve();
  // `request_id`, `head_request`: see MakeMessage (empty: a new id).
  net::awaitable<bool> WriteResponse(Response response, unsigned version, bool keep_alive,
                                     std::string_view request_id = {}, bool head_request = false);
  net::awaitable<void> LingeringClose(beast::flat_buffer& buffer);
  // Runs the router's handler and waits for its Reply, which may come from any thread.
  net::awaitable<Response> Dispatch(Request request);
  // Runs a route's head guard and waits for its answer, which may come from any thread.
  net::awaitable<std::optional<Response>> Guard(const HeadGuard& guard, const RequestHead& head);

  ServerImpl* server_;
  beast::tcp_stream stream_;
  bool idle_ = false;
  bool stop_requested_ = false;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, const Router* router)
      : options_(options),
        router_(router),
        acceptor_(net::make_strand(ioc_)),
        max_connections_(options.max_connections) {}
  ~ServerImpl() override {
    Stop(std::chrono::milliseconds(0));
    if (spare_fd_ >= 0) ::close(spare_fd_);
  }

  Status Listen() {
    boost::system::error_code ec;
    auto address = net::ip::make_address(options_.address, ec);
    if (ec) return Status::InvalidArgument("invalid listen address: " + options_.address);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + options_.address + ":" +
                                     std::to_string(options_.port) + ": " + ec.message(),
                                 "listen_failed");
    }
    port_ = acceptor_.local_endpoint().port();
    // ShedOne accepts with accept4(2), which must not block when the backlog is empty.
    acceptor_.non_blocking(true, ec);
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      const size_t fds = static_cast<size_t>(limit.rlim_cur);
      const size_t reserved = std::min(options_.reserved_fds, fds / 2);
      max_connections_ = std::max<size_t>(1, std::min(max_connections_, fds - reserved));
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    net::co_spawn(acceptor_.get_executor(), Accept(), net::detached);
    int threads = options_.threads > 0 ? options_.threads
                                       : static_cast<int>(std::thread::hardware_concurrency());
    if (threads < 1) threads = 1;
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  size_t open_connections() const override {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }
  size_t connection_limit() const override { return max_connections_; }

  void Stop(std::chrono::milliseconds grace) override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    {
      std::unique_lock lock(mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto session = weak.lock()) {
          net::post(session->executor(), [session] { session->RequestStop(); });
        }
      }
      cv_.wait_for(lock, grace, [this] { return sessions_.empty(); });
    }
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
    // Frames of sessions still suspended are destroyed with the io_context.
  }

  const ServerOptions& options() const { return options_; }
  const Router* router() const { return router_; }
  bool stopping() const { return stopping_; }

  void Unregister(Session* session) {
    std::lock_guard lock(mu_);
    if (sessions_.erase(session) > 0 && sessions_.empty()) cv_.notify_all();
  }

 private:
  // Out of descriptors, the waiting client stays in the backlog and every accept fails at once:
  // retrying would spin, and the client would hang. So the reserve descriptor is given up for
  // long enough to accept one client, answer it 503 and close it. Returns false when even that
  // was impossible (another thread took the freed descriptor, or nobody was waiting).
  bool ShedOne() {
    if (spare_fd_ >= 0) {
      ::close(spare_fd_);
      spare_fd_ = -1;
    }
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr,
                             SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      const std::string body =
          "{\"error\":{\"type\":\"overloaded\",\"message\":\"the server is out of file "
          "descriptors; retry later\"}}\n";
      const std::string answer =
          "HTTP/1.1 503 Service Unavailable\r\nServer: triggerd\r\nX-Request-Id: " +
          NewId("req") +
          "\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      // A fresh socket's send buffer holds this whole answer. Half-close, then drain what the
      // client sent already, so that the close is not a reset that could destroy the answer.
      (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::shutdown(fd, SHUT_WR);
      char sink[4096];
      while (::recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
      }
      ::close(fd);
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return fd >= 0;
  }

  net::awaitable<void> Accept() {
    std::chrono::milliseconds backoff{0};
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(net::make_strand(ioc_), kUseTuple);
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
        const bool out_of_fds = ec == net::error::no_descriptors || ec.value() == ENFILE ||
                                ec == net::error::no_buffer_space || ec == net::error::no_memory;
        if (out_of_fds && ShedOne()) {
          backoff = std::chrono::milliseconds(0);
          continue;
        }
        // Nothing could be done now (or another error, e.g. a peer that reset while waiting):
        // wait before the next accept instead of retrying at once.
        backoff = std::clamp(backoff * 2, std::chrono::milliseconds(10),
                             std::chrono::milliseconds(1000));
        net::steady_timer timer(acceptor_.get_executor(), backoff);
        co_await timer.async_wait(kUseTuple);
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      if (stopping_) continue;
      socket.set_option(tcp::no_delay(true), ec);
      auto session = std::make_shared<Session>(this, std::move(socket));
      bool refuse = false;
      {
        std::lock_guard lock(mu_);
        refuse = sessions_.size() >= max_connections_;
        if (!refuse) sessions_[session.get()] = session;
      }
      net::co_spawn(session->executor(),
                    [session, refuse]() -> net::awaitable<void> { co_await session->Run(refuse); },
                    net::detached);
    }
  }

  ServerOptions options_;
  const Router* router_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  size_t max_connections_;  // options_.max_connections under the descriptor limit (Listen)
  int spare_fd_ = -1;       // the reserve descriptor (ShedOne); touched on the acceptor's strand
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

}  // namespace

void Session::RequestStop() {
  stop_requested_ = true;
  if (idle_) {
    boost::system::error_code ec;
    stream_.socket().close(ec);
  }
}

net::awaitable<void> Session::Run(bool refuse) {
  if (refuse) {
    stream_.expires_after(std::chrono::seconds(5));
    Response response = PlainError(503, "overloaded", "too many open connections; retry later");
    response.headers.push_back({"Retry-After", "1"});
    co_await WriteResponse(std::move(response), 11, false);
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return;
  }
  try {
    co_await Serve();
  } catch (const std::exception&) {
    // A bug below us; the connection is dropped but the server carries on.
  }
  boost::system::error_code ec;
  stream_.socket().close(ec);
  server_->Unregister(this);
}

net::awaitable<void> Session::Serve() {
  const ServerOptions& options = server_->options();
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  const std::string remote_ip = ec ? "" : NormalizeAddress(endpoint.address());
  beast::flat_buffer buffer;

  for (;;) {
    if (stop_requested_ || server_->stopping()) co_return;
    // Wait for the first byte of the next request under the idle timeout; only then does the
    // (shorter) header timeout start, so a slow client cannot hold a head open for long.
    if (buffer.size() == 0) {
      idle_ = true;
      stream_.expires_after(options.idle_timeout);
      // Room for a whole typical webhook (head + body of a few KiB) in one read: Beast's own
      // reads below then find it buffered instead of issuing more recvmsg calls. The buffer
      // keeps this capacity for the connection's later requests.
      auto [read_ec, n] =
          co_await stream_.async_read_some(buffer.prepare(kFirstReadBytes), kUseTuple);
      idle_ = false;
      if (read_ec) co_return;
      buffer.commit(n);
    }

    // The steps below are shared with HandleRequestBytes (exchange.cc), whose loop mirrors this
    // one: change both together.
    RequestParser parser;
    ConfigureParser(parser, options);
    stream_.expires_after(options.header_timeout);
    auto [head_ec, head_n] = co_await bhttp::async_read_header(stream_, buffer, parser, kUseTuple);
    if (head_ec) {
      if (auto response = HeadErrorResponse(head_ec, options)) {
        co_await WriteResponse(std::move(*response), 11, false);
        if (head_ec == bhttp::error::header_limit) co_await LingeringClose(buffer);
      }
      co_return;
    }

    const unsigned version = parser.get().version();
    if (auto refusal = FramingErrorResponse(parser)) {
      // Where this request's body ends is in doubt, so nothing after its head is read as a
      // request: answer, then discard input until the client closes (lingering close).
      if (co_await WriteResponse(std::move(*refusal), version, false)) {
        co_await LingeringClose(buffer);
      }
      co_return;
    }
    const bool client_keep_alive = parser.get().keep_alive();
    RequestHead head = MakeHead(parser, remote_ip);
    HeadDecision decision;
    if (HeadGuard guard = server_->router()->GuardFor(head)) {
      decision.response = co_await Guard(guard, head);
    }
    if (!decision.response) decision = DecideOnHead(*server_->router(), head);
    if (decision.response) {
      // Answered from the head alone. Keep the connection only when no body is left unread.
      const bool keep = KeepAfterHeadAnswer(parser);
      if (!co_await WriteResponse(std::move(*decision.response), version, keep,
                                  head.request_id, head.method == "HEAD")) {
        co_return;
      }
      if (!keep) {
        co_await LingeringClose(buffer);
        co_return;
      }
      continue;
    }

    if (GrantBody(parser, decision)) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
      auto [cont_ec, cont_n] = co_await bhttp::async_write(stream_, cont, kUseTuple);
      if (cont_ec) co_return;
    }
    stream_.expires_after(options.body_timeout);
    auto [body_ec, body_n] = co_await bhttp::async_read(stream_, buffer, parser, kUseTuple);
    if (body_ec) {
      if (auto response = BodyErrorResponse(body_ec, decision.body_limit)) {
        co_await WriteResponse(std::move(*response), version, false, head.request_id,
                               head.method == "HEAD");
        if (body_ec == bhttp::error::body_limit) co_await LingeringClose(buffer);
      }
      co_return;
    }

    // (The router's answer carries its id already.)
    const bool head_request = head.method == "HEAD";
    Response response = co_await Dispatch(TakeRequest(parser, std::move(head)));
    const bool keep = client_keep_alive && !stop_requested_ && !server_->stopping();
    if (!co_await WriteResponse(std::move(response), version, keep, {}, head_request) || !keep) {
      co_return;
    }
  }
}

net::awaitable<Response> Session::Dispatch(Request request) {
  // The Reply may be called on any thread (e.g. the store's commit thread): the completion is
  // posted back to this session's strand. A handler that throws, or replies twice, is a bug;
  // the first is turned into a 500 and the second ignored.
  struct ReplyState {
    std::atomic<bool> called{false};
    std::function<void(Response)> complete;
  };
  const Router* router = server_->router();
  try {
    co_return co_await net::async_initiate<decltype(net::use_awaitable), void(Response)>(
        [router, &request](auto handler) {
          auto state = std::make_shared<ReplyState>();
          auto shared_handler =
              std::make_shared<std::decay_t<decltype(handler)>>(std::move(handler));
          state->complete = [shared_handler](Response response) {
            auto executor = net::get_associated_executor(*shared_handler);
            net::post(executor, [shared_handler, response = std::move(response)]() mutable {
              (*shared_handler)(std::move(response));
            });
          };
          Reply reply = [state](Response response) {
            if (state->called.exchange(true)) return;
            state->complete(std::move(response));
          };
          // The initiation runs after the coroutine has suspended, outside its try block: an
          // exception here would escape io_context::run, so HandleOrFail catches and answers it.
          HandleOrFail(*router, std::move(request), reply);
        },
        net::use_awaitable);
  } catch (const std::exception& e) {
    co_return ErrorResponse(Status::Internal("internal error while handling the request"));
  }
}

net::awaitable<std::optional<Response>> Session::Guard(const HeadGuard& guard,
                                                       const RequestHead& head) {
  // As Dispatch: the completion is posted back to this session's strand. A guard that throws is
  // a bug, answered 500.
  using Signature = void(std::optional<Response>);
  try {
    co_return co_await net::async_initiate<decltype(net::use_awaitable), Signature>(
        [&guard, &head](auto handler) {
          auto shared_handler =
              std::make_shared<std::decay_t<decltype(handler)>>(std::move(handler));
          auto called = std::make_shared<std::atomic<bool>>(false);
          HeadGuardDone done = [shared_handler, called](std::optional<Response> refusal) {
            if (called->exchange(true)) return;
            auto executor = net::get_associated_executor(*shared_handler);
            net::post(executor, [shared_handler, refusal = std::move(refusal)]() mutable {
              (*shared_handler)(std::move(refusal));
            });
          };
          try {
            guard(head, done);
          } catch (const std::exception&) {
            done(ErrorResponse(Status::Internal("internal error while checking the request")));
          }
        },
        net::use_awaitable);
  } catch (const std::exception&) {
    co_return ErrorResponse(Status::Internal("internal error while checking the request"));
  }
}

net::awaitable<bool> Session::WriteResponse(Response response, unsigned version, bool keep_alive,
                                            std::string_view request_id, bool head_request) {
  auto res = MakeMessage(std::move(response), version, keep_alive, request_id, head_request);
  stream_.expires_after(server_->options().body_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream_, res, kUseTuple);
  co_return !ec;
}

net::awaitable<void> Session::LingeringClose(beast::flat_buffer& buffer) {
  boost::system::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(kLingerTime);
  size_t discarded = 0;
  char sink[16 * 1024];
  while (discarded < kLingerMaxBytes) {
    auto [read_ec, n] = co_await stream_.async_read_some(net::buffer(sink), kUseTuple);
    if (read_ec) break;
    discarded += n;
  }
  buffer.clear();
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, const Router* router) {
  auto server = std::make_unique<ServerImpl>(options, router);
  Status status = server->Listen();
  if (!status.ok()) return status;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace triggerd::http
