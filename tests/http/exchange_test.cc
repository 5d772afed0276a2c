// HandleRequestBytes (exchange.cc) against the real server: the same bytes sent to Server on a
// loopback socket and handled in memory must produce the same bytes back. Each input ends the
// connection itself (Connection: close, or an error the server closes on), since the socket
// client does not half-close.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "http/http.h"
#include "http_client.h"

namespace triggerd::http {
namespace {

using triggerd::testing::HttpClient;

class ExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", [](Request r, Reply reply) {
      reply(JsonResponse(200, "{\"bytes\":" + std::to_string(r.body.size()) + ",\"query\":" +
                                  std::to_string(r.query_params.size()) + "}"));
    });
    // Replies from another thread, as ingest does after a group commit.
    router_.Add("POST", "/later", [](Request, Reply reply) {
      std::thread([reply = std::move(reply)] { reply(JsonResponse(200, "\"late\"")); }).detach();
    });
    router_.Add(
        "POST", "/gated/{name}", [](Request, Reply reply) { reply(JsonResponse(200, "1")); },
        [](const RequestHead&, const std::map<std::string, std::string>& params) {
          if (params.at("name") == "closed") {
            return HeadDecision{ErrorResponse(Status::PermissionDenied("closed")), 0};
          }
          return HeadDecision{std::nullopt, 10};
        });
    router_.Add("GET", "/throw", [](Request, Reply) -> void { throw std::runtime_error("bug"); });
    options_.port = 0;
    options_.threads = 2;
    options_.max_header_bytes = 2048;
    auto server = Server::Start(options_, &router_);
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(server.value());
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(2));
  }

  // Both ways; the socket's answer is the reference. Generated request ids (the router gives
  // every answer an X-Request-Id) differ between the two by design: compared as placeholders.
  void ExpectSameAsServer(const std::string& bytes) {
    HttpClient client("127.0.0.1", server_->port());
    const std::string over_socket = client.SendRaw(bytes, 5000);
    const std::string in_memory = HandleRequestBytes(bytes, router_, options_);
    EXPECT_FALSE(over_socket.empty());
    EXPECT_EQ(WithoutRequestIds(in_memory), WithoutRequestIds(over_socket))
        << "for input:\n" << bytes;
  }
  static std::string WithoutRequestIds(std::string answer) {
    const std::string name = "X-Request-Id: req_";
    for (size_t at = answer.find(name); at != std::string::npos; at = answer.find(name, at)) {
      const size_t end = answer.find("\r\n", at);
      answer.replace(at, end - at, "X-Request-Id: <generated>");
      ++at;
    }
    return answer;
  }

  Router router_{1000};
  ServerOptions options_;
  std::unique_ptr<Server> server_;
};

TEST_F(ExchangeTest, PipelinedRequestsAnswerInOrder) {
  ExpectSameAsServer(
      "POST /echo?a=1&b=2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
      "POST /later HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
      "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n"
      "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
}

TEST_F(ExchangeTest, ChunkedBodyWithinTheLimit) {
  ExpectSameAsServer(
      "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n");
}

TEST_F(ExchangeTest, ChunkedBodyOverTheRouteLimitIs413) {
  ExpectSameAsServer(
      "POST /gated/open HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
}

TEST_F(ExchangeTest, ContentLengthOverTheRouteLimitIs413FromTheHead) {
  ExpectSameAsServer("POST /gated/open HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n12345678901");
}

TEST_F(ExchangeTest, HeadCheckRefusalClosesWhenABodyIsPending) {
  ExpectSameAsServer("POST /gated/closed HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab");
}

TEST_F(ExchangeTest, ExpectContinueGetsAnInterimAnswer) {
  ExpectSameAsServer(
      "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok");
}

TEST_F(ExchangeTest, HeadAboveTheLimitIs431) {
  ExpectSameAsServer("GET /echo HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(3000, 'a') +
                     "\r\n\r\n");
}

TEST_F(ExchangeTest, MalformedRequestLineIs400) {
  ExpectSameAsServer("GET/echo HTTP/1.1\r\nHost: h\r\n\r\n");
}

TEST_F(ExchangeTest, MalformedChunkIs400) {
  ExpectSameAsServer(
      "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n");
}

TEST_F(ExchangeTest, Http10ClosesAfterTheAnswer) {
  ExpectSameAsServer("POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
}

TEST_F(ExchangeTest, AmbiguousTransferEncodingIs400) {
  ExpectSameAsServer(
      "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(ExchangeTest, Http11WithoutHostIs400) {
  ExpectSameAsServer("GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
}

TEST_F(ExchangeTest, WrongMethodIs405WithAllow) {
  ExpectSameAsServer("DELETE /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
}

TEST_F(ExchangeTest, ThrowingHandlerIs500) {
  ExpectSameAsServer("GET /throw HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
}

// Without a socket the end of the input is the client's half-close: a head cut short is
// malformed (the server answers the same to a client that half-closes there), nothing at all
// gets no answer.
TEST_F(ExchangeTest, EndOfInputIsTheClientsHalfClose) {
  EXPECT_EQ(HandleRequestBytes("", router_, options_), "");
  const std::string cut = HandleRequestBytes("GET /echo HTTP/1.1\r\nHo", router_, options_);
  EXPECT_EQ(cut.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << cut;
  // A body cut short: the server closes without an answer.
  EXPECT_EQ(HandleRequestBytes("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
                               router_, options_),
            "");
}

}  // namespace
}  // namespace triggerd::http
