#include "http/exchange.h"

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core.hpp>
#include <future>
#include <limits>
#include <memory>

#include "common/ids.h"

namespace triggerd::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;

// A synchronous stream over bytes in memory, for HandleRequestBytes: reads return the input
// and then end of file (the client half-closed); writes append to the output.
class MemoryStream {
 public:
  explicit MemoryStream(std::string_view input) : input_(input) {}

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    if (input_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    ec = {};
    const size_t n = net::buffer_copy(buffers, net::buffer(input_.data(), input_.size()));
    input_.remove_prefix(n);
    return n;
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    ec = {};
    const size_t n = net::buffer_size(buffers);
    const size_t at = output_.size();
    output_.resize(at + n);
    net::buffer_copy(net::buffer(output_.data() + at, n), buffers);
    return n;
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    return write_some(buffers, ec);
  }

  std::string& output() { return output_; }

 private:
  std::string_view input_;
  std::string output_;
};

template <class Message>
void Write(MemoryStream& stream, Message& message) {
  boost::system::error_code ec;
  bhttp::write(stream, message, ec);  // cannot fail: the output is a string
}

// Runs the route and waits for its Reply, which may come from another thread (e.g. the store's
// commit thread for ingest).
Response HandleAndWait(const Router& router, Request request) {
  struct ReplyState {
    std::atomic<bool> called{false};
    std::promise<Response> promise;
  };
  auto state = std::make_shared<ReplyState>();
  std::future<Response> answer = state->promise.get_future();
  HandleOrFail(router, std::move(request), [state](Response response) {
    if (state->called.exchange(true)) return;
    state->promise.set_value(std::move(response));
  });
  return answer.get();
}

// Runs the route's head guard and waits for its answer, which may come from another thread.
std::optional<Response> GuardAndWait(const HeadGuard& guard, const RequestHead& head) {
  auto promise = std::make_shared<std::promise<std::optional<Response>>>();
  std::future<std::optional<Response>> answer = promise->get_future();
  guard(head, [promise](std::optional<Response> refusal) { promise->set_value(std::move(refusal)); });
  return answer.get();
}

}  // namespace

void ConfigureParser(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
}

std::optional<Response> HeadErrorResponse(const boost::system::error_code& ec,
                                          const ServerOptions& options) {
  if (ec == bhttp::error::header_limit) {
    return PlainError(431, "headers_too_large",
                      "request headers exceed " + std::to_string(options.max_header_bytes) +
                          " bytes");
  }
  if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset) {
    return std::nullopt;
  }
  return PlainError(400, "bad_request", "malformed HTTP request");
}

std::optional<Response> FramingErrorResponse(const RequestParser& parser) {
  const auto& msg = parser.get();
  size_t transfer_encodings = 0;
  size_t hosts = 0;
  bool chunked_only = true;
  for (const auto& field : msg) {
    if (field.name() == bhttp::field::transfer_encoding) {
      ++transfer_encodings;
      chunked_only = chunked_only && beast::iequals(field.value(), "chunked");
    } else if (field.name() == bhttp::field::host) {
      ++hosts;
    }
  }
  if (transfer_encodings > 0 && msg.version() < 11) {
    return PlainError(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0");
  }
  if (transfer_encodings > 1 || !chunked_only) {
    return PlainError(400, "bad_request",
                      "Transfer-Encoding must be one field whose value is \"chunked\"");
  }
  if (msg.version() >= 11 && hosts != 1) {
    return PlainError(400, "bad_request", "an HTTP/1.1 request needs exactly one Host field");
  }
  return std::nullopt;
}

// A caller's X-Request-Id is kept when it is a plausible id (so a proxy's or sender's id ties
// their logs to ours); anything else is replaced, so logs never carry arbitrary header bytes.
std::string RequestIdFor(const Headers& headers) {
  if (auto given = FindHeader(headers, "X-Request-Id"); given && !given->empty() &&
                                                         given->size() <= 64) {
    bool plain = true;
    for (char c : *given) {
      plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
    }
    if (plain) return std::string(*given);
  }
  return NewId("req");
}

RequestHead MakeHead(const RequestParser& parser, const std::string& remote_ip) {
  const auto& msg = parser.get();
  RequestHead head;
  head.method = std::string(msg.method_string());
  head.target = std::string(msg.target());
  head.path = head.target.substr(0, head.target.find('?'));
  head.headers.reserve(16);
  for (const auto& field : msg) {
    head.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  head.remote_ip = remote_ip;
  if (auto length = parser.content_length()) head.content_length = *length;
  head.request_id = RequestIdFor(head.headers);
  return head;
}

HeadDecision DecideOnHead(const Router& router, const RequestHead& head) {
  HeadDecision decision = router.OnHead(head);
  if (!decision.response && head.content_length && *head.content_length > decision.body_limit) {
    decision.response = PlainError(
        413, "payload_too_large",
        "request body of " + std::to_string(*head.content_length) + " bytes exceeds the limit of " +
            std::to_string(decision.body_limit) + " bytes");
  }
  return decision;
}

bool KeepAfterHeadAnswer(const RequestParser& parser) {
  return parser.get().keep_alive() && parser.is_done();
}

bool GrantBody(RequestParser& parser, const HeadDecision& decision) {
  parser.body_limit(decision.body_limit);
  return !parser.is_done() &&
         beast::iequals(parser.get()[bhttp::field::expect], "100-continue");
}

std::optional<Response> BodyErrorResponse(const boost::system::error_code& ec, size_t body_limit) {
  if (ec == bhttp::error::body_limit) {
    return PlainError(413, "payload_too_large",
                      "request body exceeds the limit of " + std::to_string(body_limit) +
                          " bytes");
  }
  if (ec == beast::error::timeout) {
    return PlainError(408, "request_timeout", "request body not received in time");
  }
  if (ec == net::error::eof || ec == bhttp::error::partial_message ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted) {
    return std::nullopt;
  }
  return PlainError(400, "bad_request", "malformed HTTP request body");
}

Request TakeRequest(RequestParser& parser, RequestHead head) {
  Request request;
  static_cast<RequestHead&>(request) = std::move(head);
  request.body = std::move(parser.get().body());
  return request;
}

void HandleOrFail(const Router& router, Request request, const Reply& reply) {
  try {
    router.Handle(std::move(request), reply);
  } catch (const std::exception&) {
    reply(ErrorResponse(Status::Internal("internal error while handling the request")));
  }
}

Response PlainError(int status, std::string_view type, std::string message) {
  ErrorType error_type = status == 413   ? ErrorType::kPayloadTooLarge
                         : status == 503 ? ErrorType::kUnavailable
                                         : ErrorType::kInvalidArgument;
  Response response = ErrorResponse(Status(error_type, std::string(type), std::move(message)));
  response.status = status;
  return response;
}

bhttp::response<bhttp::string_body> MakeMessage(Response response, unsigned version,
                                                bool keep_alive, std::string_view request_id,
                                                bool head_request) {
  if (response.finish) {
    auto finish = std::move(response.finish);
    finish(&response);
  }
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), version};
  res.set(bhttp::field::server, "triggerd");
  if (!FindHeader(response.headers, "X-Request-Id")) {
    // An answer the router did not give (from the head alone, or the server's own).
    res.set("X-Request-Id", request_id.empty() ? NewId("req") : std::string(request_id));
  }
  if (!response.body.empty() || !response.content_type.empty()) {
    res.set(bhttp::field::content_type, response.content_type);
  }
  for (auto& header : response.headers) res.insert(header.name, header.value);
  res.body() = std::move(response.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head_request) {
    const size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

// The loop of Session::Serve (server.cc) without sockets and timers: the input is all there is,
// so a read past it is the client's half-close. Change both together.
std::string HandleRequestBytes(std::string_view bytes, const Router& router,
                               const ServerOptions& options, const std::string& remote_ip) {
  MemoryStream stream(bytes);
  beast::flat_buffer buffer;
  for (;;) {
    RequestParser parser;
    ConfigureParser(parser, options);
    boost::system::error_code ec;
    bhttp::read_header(stream, buffer, parser, ec);
    if (ec) {
      if (auto response = HeadErrorResponse(ec, options)) {
        auto message = MakeMessage(std::move(*response), 11, false, {});
        Write(stream, message);
      }
      break;
    }
    const unsigned version = parser.get().version();
    if (auto refusal = FramingErrorResponse(parser)) {
      auto message = MakeMessage(std::move(*refusal), version, false, {});
      Write(stream, message);
      break;  // the server's lingering close discards the rest
    }
    const bool client_keep_alive = parser.get().keep_alive();
    RequestHead head = MakeHead(parser, remote_ip);
    HeadDecision decision;
    if (HeadGuard guard = router.GuardFor(head)) decision.response = GuardAndWait(guard, head);
    if (!decision.response) decision = DecideOnHead(router, head);
    if (decision.response) {
      const bool keep = KeepAfterHeadAnswer(parser);
      auto message = MakeMessage(std::move(*decision.response), version, keep, head.request_id,
                                 head.method == "HEAD");
      Write(stream, message);
      if (!keep) break;  // the server's lingering close discards the rest
      continue;
    }
    if (GrantBody(parser, decision)) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
      Write(stream, cont);
    }
    bhttp::read(stream, buffer, parser, ec);
    if (ec) {
      if (auto response = BodyErrorResponse(ec, decision.body_limit)) {
        auto message = MakeMessage(std::move(*response), version, false, head.request_id,
                                   head.method == "HEAD");
        Write(stream, message);
      }
      break;
    }
    const std::string request_id = head.request_id;
    const bool head_request = head.method == "HEAD";
    Response response = HandleAndWait(router, TakeRequest(parser, std::move(head)));
    auto message =
        MakeMessage(std::move(response), version, client_keep_alive, request_id, head_request);
    Write(stream, message);
    if (!client_keep_alive) break;
  }
  return std::move(stream.output());
}

}  // namespace triggerd::http
