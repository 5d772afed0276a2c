// Internal to http/: the steps of one request/response exchange that do not depend on how the
// bytes travel. Session::Serve (server.cc, async on a TCP stream) and HandleRequestBytes
// (exchange.cc, synchronous over bytes in memory) both run them, so the parser limits, the
// decisions taken on the head and the error answers exist once.
#pragma once

#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http/http.h"

namespace triggerd::http {

namespace bhttp = boost::beast::http;
using RequestParser = bhttp::request_parser<bhttp::string_body>;

// A parser for the next request with the server's limits: the head at most
// `options.max_header_bytes`. Beast checks Content-Length against its default body limit (1 MiB)
// while parsing the head; the route decides the limit (GrantBody), so Beast's must not fire first.
void ConfigureParser(RequestParser& parser, const ServerOptions& options);

// The answer to a failed head read, or nullopt when the connection is to be closed silently
// (the peer went away or timed out before sending a head: nobody to answer).
std::optional<Response> HeadErrorResponse(const boost::system::error_code& ec,
                                          const ServerOptions& options);

// The caller's X-Request-Id when it is a plausible id (at most 64 of [A-Za-z0-9._-]: a proxy's
// or sender's id ties their logs to ours), else a new one; logs never carry arbitrary bytes.
std::string RequestIdFor(const Headers& headers);

// The framing rules Beast leaves lenient, checked once the head is parsed: a request whose body
// length two parties could read differently (request smuggling behind a proxy) is refused with
// 400 and the connection closed. Refused: Transfer-Encoding on HTTP/1.0; more than one
// Transfer-Encoding field, or one whose value is not exactly "chunked" (`identity, chunked`,
// `gzip`, a folded `chunked\r\n , identity`: Beast would take some of these as "no body" and
// read the body as the next request); HTTP/1.1 without exactly one Host (RFC 9112 3.2).
// nullopt: the head is acceptable.
std::optional<Response> FramingErrorResponse(const RequestParser& parser);

// The head as the router sees it, request_id assigned.
RequestHead MakeHead(const RequestParser& parser, const std::string& remote_ip);

// The router's head check plus the server's own: a Content-Length above the granted body limit
// is 413 without reading the body (Router::OnHead's observer mirrors this).
HeadDecision DecideOnHead(const Router& router, const RequestHead& head);

// After an answer from the head alone, the connection can stay open only when the client asked
// for keep-alive and no body is left unread (else: lingering close).
bool KeepAfterHeadAnswer(const RequestParser& parser);

// Applies the decision's body limit; true when the client waits for "100 Continue" before it
// sends the body (then send one).
bool GrantBody(RequestParser& parser, const HeadDecision& decision);

// The answer to a failed body read, or nullopt to close silently (peer gone, message cut short).
std::optional<Response> BodyErrorResponse(const boost::system::error_code& ec, size_t body_limit);

// The complete request for the router, from a parser that is done.
Request TakeRequest(RequestParser& parser, RequestHead head);

// Router::Handle, with an exception from a handler (a bug) answered 500 through `reply`.
void HandleOrFail(const Router& router, Request request, const Reply& reply);

// A JSON error answer with an explicit status (413, 431, 503, 400, 408 from the server itself).
Response PlainError(int status, std::string_view type, std::string message);

// The message to write. An answer without X-Request-Id gets `request_id` (a new id when empty:
// a head that did not parse has none). The answer to a HEAD request (`head_request`) has no
// body, and the Content-Length the body would have had.
bhttp::response<bhttp::string_body> MakeMessage(Response response, unsigned version,
                                                bool keep_alive, std::string_view request_id,
                                                bool head_request = false);

}  // namespace triggerd::http
