// The real server on 127.0.0.1:0, driven over loopback sockets.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "http/http.h"
#include "http_client.h"

namespace triggerd::http {
namespace {

using triggerd::testing::HttpClient;

constexpr size_t kLimit = 1000;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", [](Request r, Reply reply) {
      reply(JsonResponse(200, std::to_string(r.body.size())));
    });
    // Answers from another thread, later, as the ingest path does after a group commit.
    router_.Add("POST", "/later", [this](Request r, Reply reply) {
      ++later_started_;
      std::thread([reply = std::move(reply)] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        reply(JsonResponse(200, "\"late\""));
      }).detach();
    });
    router_.Add(
        "POST", "/gated/{name}", [](Request, Reply reply) { reply(JsonResponse(200, "1")); },
        [](const RequestHead&, const std::map<std::string, std::string>& params) {
          if (params.at("name") == "closed") {
            return HeadDecision{ErrorResponse(Status::PermissionDenied("closed")), 0};
          }
          return HeadDecision{std::nullopt, 10};
        });
    router_.Add(
        "POST", "/big",
        [](Request r, Reply reply) { reply(JsonResponse(200, std::to_string(r.body.size()))); },
        [](const RequestHead&, const std::map<std::string, std::string>&) {
          return HeadDecision{std::nullopt, 3 * 1024 * 1024};
        });
    // A head guard that answers later from another thread, as a key lookup on a pool does.
    router_.Add("POST", "/guarded",
                RouteSpec{[](Request r, Reply reply) {
                            reply(JsonResponse(200, std::to_string(r.body.size())));
                          },
                          nullptr, [this](const RequestHead& head, HeadGuardDone done) {
                            ++guards_run_;
                            const bool ok = FindHeader(head.headers, "X-Key") == "ok";
                            std::thread([ok, done = std::move(done)] {
                              done(ok ? std::nullopt
                                      : std::optional<Response>(ErrorResponse(
                                            Status::Unauthenticated("no key", "missing_key"))));
                            }).detach();
                          }});
    router_.Add("GET", "/throw", [](Request, Reply) -> void { throw std::runtime_error("bug"); });
    router_.Add("GET", "/hello", [](Request, Reply reply) { reply(JsonResponse(200, "\"hi\"")); });
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_header_bytes = 2048;
    options.header_timeout = std::chrono::milliseconds(300);
    auto server = Server::Start(options, &router_);
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(server.value());
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(2));
  }
  HttpClient Client() { return HttpClient("127.0.0.1", server_->port()); }

  std::atomic<int> later_started_{0};  // /later handlers entered
  std::atomic<int> guards_run_{0};     // /guarded head guards entered
  Router router_{kLimit};
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, AcceptsBodyAtTheLimit) {
  auto client = Client();
  auto r = client.Send("POST", "/echo", std::string(kLimit, 'x'));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "1000\n");
}

TEST_F(ServerTest, RefusesBodyOneByteOverTheLimitBeforeReadingIt) {
  auto client = Client();
  auto r = client.Send("POST", "/echo", std::string(kLimit + 1, 'x'));
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_NE(r.body.find("payload_too_large"), std::string::npos);
}

TEST_F(ServerTest, RefusesChunkedBodyOverTheLimit) {
  auto client = Client();
  EXPECT_EQ(client.SendChunked("POST", "/echo", std::string(kLimit, 'x'), 100).status, 200);
  auto r = client.SendChunked("POST", "/echo", std::string(kLimit + 1, 'x'), 100);
  EXPECT_EQ(r.status, 413) << r.error;
}

TEST_F(ServerTest, RefusesHugeBodyWithoutLengthOrChunking) {
  // Neither Content-Length nor chunked: HTTP/1.1 says the body is empty, so the extra bytes
  // are the head of a next request, which is refused (too large, no line end) and the
  // connection closed — never buffered as a body.
  auto client = Client();
  std::string raw = "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(5000, 'x');
  std::string out = client.SendRaw(raw);
  EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 431"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
}

TEST_F(ServerTest, RouteLimitAboveBeastDefaultOfOneMebibyteHolds) {
  auto client = Client();
  auto r = client.Send("POST", "/big", std::string(2 * 1024 * 1024, 'x'));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "2097152\n");
}

TEST_F(ServerTest, HeadCheckAnswersBeforeTheBodyAndSetsRouteLimit) {
  auto client = Client();
  EXPECT_EQ(client.Send("POST", "/gated/closed", std::string(5000, 'x')).status, 403);
  EXPECT_EQ(client.Send("POST", "/gated/open", std::string(10, 'x')).status, 200);
  EXPECT_EQ(client.Send("POST", "/gated/open", std::string(11, 'x')).status, 413);
}

TEST_F(ServerTest, OversizedHeadersAre431) {
  auto client = Client();
  auto r = client.Send("POST", "/echo", "", {{"X-Big", std::string(4000, 'a')}});
  EXPECT_EQ(r.status, 431) << r.error;
}

// Every answer carries an X-Request-Id, those given from the head alone or by the server itself
// included, and a sender's plausible id is kept on all of them.
TEST_F(ServerTest, EveryAnswerCarriesARequestId) {
  auto client = Client();
  struct Case {
    const char* method;
    const char* path;
    std::string body;
    int status;
  } cases[] = {
      {"POST", "/echo", "ok", 200},                          // the router's handler
      {"GET", "/nowhere", "", 404},                          // no route: from the head
      {"GET", "/echo", "", 405},                             // another method: from the head
      {"POST", "/gated/closed", "x", 403},                   // the route's head check
      {"POST", "/echo", std::string(kLimit + 1, 'x'), 413},  // Content-Length over the limit
  };
  for (const Case& c : cases) {
    auto fresh = client.Send(c.method, c.path, c.body);
    EXPECT_EQ(fresh.status, c.status) << c.path;
    EXPECT_EQ(fresh.Header("X-Request-Id").rfind("req_", 0), 0u) << c.status;
    auto given = client.Send(c.method, c.path, c.body, {{"X-Request-Id", "lb-4711.a"}});
    EXPECT_EQ(given.status, c.status) << c.path;
    EXPECT_EQ(given.Header("X-Request-Id"), "lb-4711.a") << c.status;
    // Not a plausible id: replaced, never echoed.
    auto odd = client.Send(c.method, c.path, c.body, {{"X-Request-Id", "a b"}});
    EXPECT_EQ(odd.Header("X-Request-Id").rfind("req_", 0), 0u) << c.status;
  }
  auto chunked = client.SendChunked("POST", "/echo", std::string(kLimit + 1, 'x'), 100);
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(chunked.Header("X-Request-Id").rfind("req_", 0), 0u);
  auto big_head = client.Send("POST", "/echo", "", {{"X-Big", std::string(4000, 'a')}});
  EXPECT_EQ(big_head.status, 431);
  EXPECT_EQ(big_head.Header("X-Request-Id").rfind("req_", 0), 0u);
  EXPECT_NE(client.SendRaw("\x01\x02garbage\r\n\r\n").find("X-Request-Id: req_"),
            std::string::npos);
}

// HEAD is GET without the body (load balancers check health with it): the same status and
// Content-Length, no body bytes, and the connection stays usable. A HEAD the router refuses is
// answered without a body too.
TEST_F(ServerTest, HeadIsGetWithoutTheBody) {
  auto client = Client();
  const std::string get =
      client.SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(get.rfind("HTTP/1.1 200", 0), 0u) << get;
  const std::string head = client.SendRaw(
      "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  // Three answers in order; the bodies appear only in the GET's.
  const size_t first = head.find("HTTP/1.1 200");
  const size_t second = head.find("HTTP/1.1 404");
  const size_t third = head.find("HTTP/1.1 200", first + 1);
  ASSERT_EQ(first, 0u) << head;
  ASSERT_NE(second, std::string::npos) << head;
  ASSERT_NE(third, std::string::npos) << head;
  EXPECT_NE(head.substr(0, second).find("Content-Length: 5\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.substr(0, second).find("\"hi\""), std::string::npos) << head;
  EXPECT_EQ(head.substr(second, third - second).find("not_found"), std::string::npos) << head;
  EXPECT_EQ(head.substr(second, third - second).rfind("\r\n\r\n"),
            third - second - 4)
      << head;  // the 404's head ends right before the next answer
  EXPECT_NE(head.substr(third).find("\"hi\""), std::string::npos) << head;
}

TEST_F(ServerTest, GarbageIs400AndNeverCrashes) {
  auto client = Client();
  EXPECT_NE(client.SendRaw("\x01\x02garbage\r\n\r\n").find("400"), std::string::npos);
  EXPECT_NE(client.SendRaw("GET / HTTP/9.9\r\n\r\n").find("400"), std::string::npos);
  EXPECT_EQ(client.Send("POST", "/echo", "ok").status, 200);
}

// Framing two parties could read differently (a proxy in front may take the body for the next
// request: smuggling) is refused from the head with 400 and a close; none reaches the handler.
TEST_F(ServerTest, AmbiguousFramingIs400AndCloses) {
  auto client = Client();
  const std::string chunk = "3\r\nabc\r\n0\r\n\r\n";
  const std::string heads[] = {
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n , identity\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
      "Transfer-Encoding: chunked\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST /echo HTTP/1.1\r\nHost: x\r\nHost: y\r\nTransfer-Encoding: chunked\r\n\r\n",
  };
  for (const std::string& head : heads) {
    const std::string out = client.SendRaw(head + chunk);
    EXPECT_EQ(out.rfind("HTTP/1.", 0), 0u) << head << out;
    EXPECT_EQ(out.substr(9, 3), "400") << head << out;
    // (HTTP/1.0 closes by default: no header says so.)
    EXPECT_TRUE(out.find("Connection: close") != std::string::npos ||
                out.rfind("HTTP/1.0", 0) == 0)
        << head << out;
    EXPECT_EQ(out.find("200 OK"), std::string::npos) << head << out;
  }
  // The unambiguous forms still work.
  EXPECT_EQ(client.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
                           "Connection: close\r\n\r\n" + chunk)
                .rfind("HTTP/1.1 200", 0),
            0u);
  EXPECT_EQ(client.SendRaw("POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nx").rfind(
                "HTTP/1.0 200", 0),
            0u);
}

// A head guard refuses from the head alone: the client that announced a 1 MiB body and sent
// none of it has its 401 at once (not after the body timeout), and the connection is closed.
TEST_F(ServerTest, HeadGuardRefusesBeforeTheBody) {
  auto client = Client();
  const std::string out = client.SendRaw(
      "POST /guarded HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n", 20'000);
  EXPECT_EQ(out.rfind("HTTP/1.1 401", 0), 0u) << out;
  EXPECT_NE(out.find("missing_key"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  auto ok = client.Send("POST", "/guarded", "abc", {{"X-Key", "ok"}});
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "3\n");
  EXPECT_EQ(guards_run_, 2);
  // The guard runs only for its route.
  EXPECT_EQ(client.Send("POST", "/echo", "x").status, 200);
  EXPECT_EQ(guards_run_, 2);
}

TEST_F(ServerTest, SlowHeadIsCutOffByTheHeaderTimeout) {
  auto client = Client();
  // Never finishes the head: the server must close within the header timeout (300 ms).
  auto started = std::chrono::steady_clock::now();
  std::string out = client.SendRaw("POST /echo HTTP/1.1\r\nHost: x\r\n", 5000);
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_LT(elapsed, std::chrono::seconds(4));
}

TEST_F(ServerTest, KeepsConnectionAliveAcrossRequests) {
  auto client = Client();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(client.Send("POST", "/echo", "abc").status, 200);
  }
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(ServerTest, ReplyFromAnotherThreadReachesTheClient) {
  auto client = Client();
  auto r = client.Send("POST", "/later", "x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\"late\"\n");
}

TEST_F(ServerTest, HandlerExceptionBecomes500) {
  auto client = Client();
  auto r = client.Send("GET", "/throw");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("\"type\":\"internal\""), std::string::npos);
  EXPECT_EQ(client.Send("POST", "/echo", "x").status, 200);
}

TEST_F(ServerTest, ExpectContinueGetsInterimResponse) {
  auto client = Client();
  std::string out = client.SendRaw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\nabc");
  EXPECT_EQ(out.rfind("HTTP/1.1 100 Continue", 0), 0u) << out;
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(ServerTest, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  auto idle = Client();
  EXPECT_EQ(idle.Send("POST", "/echo", "x").status, 200);
  int status = 0;
  std::thread in_flight([&] {
    auto client = Client();
    status = client.Send("POST", "/later", "x").status;
  });
  // Stop only once the request is really in flight (its handler has run): under ASan on a
  // loaded machine, connecting alone can take longer than any fixed sleep.
  for (int i = 0; later_started_ == 0 && i < 2000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(later_started_, 1);  // (no ASSERT: the thread must still be joined)
  server_->Stop(std::chrono::seconds(2));
  in_flight.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server_->open_connections(), 0u);
}

// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Out of file descriptors (here: every descriptor under a lowered RLIMIT_NOFILE taken, as
// leaking agents' connections would), the server must neither spin on accept nor leave a client
// hanging in the backlog: the client gets a 503 (or at least a close) and the process stays
// nearly idle. The server runs in a child process so that the limit is its own.
TEST(ServerFdLimitTest, OutOfDescriptorsAnswers503WithoutSpinning) {
  int port_pipe[2];
  ASSERT_EQ(pipe(port_pipe), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(port_pipe[0]);
    struct rlimit limit {};
    getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(2);
    Router router(1000);
    router.Add("GET", "/hello", [](Request, Reply reply) { reply(JsonResponse(200, "1")); });
    ServerOptions options;
    options.port = 0;
    options.threads = 1;
    auto server = Server::Start(options, &router);
    if (!server) _exit(3);
    // The cap fits connections under the limit; the rest of the process takes every descriptor.
    if ((*server)->connection_limit() > 64) _exit(4);
    // One request first, while descriptors remain: UBSan checks the io thread's virtual calls
    // (asio's scheduler task) once and caches the answer, and its first check needs a descriptor
    // of its own (a pipe, to probe the memory); made with none left it reports a false "invalid
    // vptr" and, under halt_on_error, kills the server this test observes.
    {
      const int warm = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons((*server)->port());
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (warm < 0 || connect(warm, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        _exit(6);
      }
      const std::string_view request =
          "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      if (write(warm, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
        _exit(7);
      }
      char buffer[512];
      while (read(warm, buffer, sizeof(buffer)) > 0) {
      }
      close(warm);
    }
    std::vector<int> hogs;
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;) hogs.push_back(fd);
    const uint16_t port = (*server)->port();
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) _exit(5);
    for (;;) pause();
  }
  close(port_pipe[1]);
  uint16_t port = 0;
  ASSERT_EQ(read(port_pipe[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
  close(port_pipe[0]);

  HttpClient client("127.0.0.1", port);
  const double cpu_before = CpuSeconds(child);
  const auto started = std::chrono::steady_clock::now();
  std::string answer;
  std::thread waiting([&] {
    answer = client.SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 20'000);
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double cpu = CpuSeconds(child) - cpu_before;
  const double window =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  waiting.join();
  const auto waited = std::chrono::steady_clock::now() - started;
  // A second client is refused the same way: the reserve descriptor was taken back.
  const std::string second = client.SendRaw("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 20'000);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);

  std::printf("out of descriptors: %.2f CPU s over %.2f s; answer: %.12s\n", cpu, window,
              answer.c_str());
  // Spinning costs a whole core (~1 CPU s per s); idle is ~0. Generous for a loaded machine.
  EXPECT_LT(cpu, 0.3 * window);
  // Answered or closed, well before the client's own 20 s timeout.
  EXPECT_LT(waited, std::chrono::seconds(15));
  EXPECT_TRUE(answer.empty() || answer.rfind("HTTP/1.1 503", 0) == 0) << answer;
  EXPECT_TRUE(second.empty() || second.rfind("HTTP/1.1 503", 0) == 0) << second;
  EXPECT_FALSE(answer.empty() && second.empty()) << "at least one 503 expected";
}

}  // namespace
}  // namespace triggerd::http
