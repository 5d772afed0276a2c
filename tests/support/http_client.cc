#include "http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace triggerd::testing {
namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
}  // namespace

std::string HttpResult::Header(const std::string& name) const {
  auto v = FindHeader(headers, name);
  return v ? std::string(*v) : "";
}

struct HttpClient::Impl {
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::string host, uint16_t port)
    : host_(std::move(host)), port_(port), impl_(new Impl) {}

HttpClient::~HttpClient() { delete impl_; }

namespace {

template <typename Body>
HttpResult Exchange(HttpClient::Impl* impl, const std::string& host, uint16_t port,
                    bhttp::request<Body>& req) {
  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    beast::error_code ec;
    if (!impl->stream) {
      impl->stream.emplace(impl->ioc);
      impl->stream->expires_after(std::chrono::seconds(30));
      impl->stream->socket().connect(tcp::endpoint(net::ip::make_address(host), port), ec);
      impl->buffer.clear();
      if (ec) {
        impl->stream.reset();
        result.error = "connect: " + ec.message();
        return result;
      }
    }
    bhttp::write(impl->stream->socket(), req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (!ec || ec == net::error::broken_pipe || ec == net::error::connection_reset) {
      // Even when writing failed (server closed early), its answer may be waiting.
      beast::error_code read_ec;
      bhttp::read(impl->stream->socket(), impl->buffer, parser, read_ec);
      if (!read_ec) {
        const auto& res = parser.get();
        result.status = res.result_int();
        for (const auto& f : res) {
          result.headers.push_back({std::string(f.name_string()), std::string(f.value())});
        }
        result.body = res.body();
        if (!res.keep_alive()) impl->stream.reset();
        return result;
      }
      ec = read_ec;
    }
    impl->stream.reset();
    result.error = "exchange: " + ec.message();
    // A kept-alive connection the server has since closed: retry once on a new one.
  }
  return result;
}

}  // namespace

HttpResult HttpClient::Send(const std::string& method, const std::string& target,
                            const std::string& body, const Headers& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, host_ + ":" + std::to_string(port_));
  for (const auto& h : headers) req.insert(h.name, h.value);
  req.body() = body;
  req.prepare_payload();
  if (method == "GET" && body.empty()) req.erase(bhttp::field::content_length);
  return Exchange(impl_, host_, port_, req);
}

HttpResult HttpClient::SendChunked(const std::string& method, const std::string& target,
                                   const std::string& body, size_t chunk_size,
                                   const Headers& headers) {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: " + host_ +
                    "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n";
  for (const auto& h : headers) raw += h.name + ": " + h.value + "\r\n";
  raw += "\r\n";
  char size_line[32];
  for (size_t i = 0; i < body.size(); i += chunk_size) {
    size_t n = std::min(chunk_size, body.size() - i);
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", n);
    raw += size_line;
    raw.append(body, i, n);
    raw += "\r\n";
  }
  raw += "0\r\n\r\n";
  std::string response = SendRaw(raw);
  HttpResult result;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  beast::error_code ec;
  parser.put(net::buffer(response), ec);
  if (!parser.is_header_done()) {
    result.error = "no response: " + ec.message();
    return result;
  }
  const auto& res = parser.get();
  result.status = res.result_int();
  for (const auto& f : res) {
    result.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  result.body = res.body();
  return result;
}

std::string HttpClient::SendRaw(const std::string& bytes, int timeout_ms) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.socket().connect(tcp::endpoint(net::ip::make_address(host_), port_), ec);
  if (ec) return "";
  net::write(stream.socket(), net::buffer(bytes), ec);
  std::string out;
  char buf[16 * 1024];
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  for (;;) {
    // Async read with a deadline so a server that keeps the connection open cannot hang us.
    beast::error_code read_ec;
    size_t n = 0;
    stream.async_read_some(net::buffer(buf), [&](beast::error_code e, size_t k) {
      read_ec = e;
      n = k;
    });
    ioc.restart();
    ioc.run();
    if (n > 0) out.append(buf, n);
    if (read_ec) break;
  }
  return out;
}

}  // namespace triggerd::testing
