// http::Router's observer hook, which the /metrics wiring (api/metrics_route.cc) counts requests
// with: one observation per answered request, labelled by pattern, never the raw path.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "http/http.h"

namespace triggerd::http {
namespace {

struct Seen {
  std::string method;
  std::string pattern;
  int status;
};

class RouteObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.SetObserver([this](const RouteObservation& o) {
      EXPECT_GE(o.duration.count(), 0);
      seen_.push_back({std::string(o.method), std::string(o.pattern), o.status});
    });
    router_.Add("GET", "/items/{id}", [this](Request, Reply reply) {
      EXPECT_TRUE(seen_.empty()) << "observed before the handler answered";
      reply(JsonResponse(200, "{}"));
    });
    router_.Add("POST", "/later", [this](Request, Reply reply) { later_ = std::move(reply); });
    router_.Add(
        "PUT", "/guarded", [](Request, Reply reply) { reply(JsonResponse(204, "")); },
        [](const RequestHead&, const std::map<std::string, std::string>&) {
          return HeadDecision{ErrorResponse(Status::PermissionDenied("no")), 0};
        });
    router_.Add(
        "POST", "/small", [](Request, Reply reply) { reply(JsonResponse(200, "")); },
        [](const RequestHead&, const std::map<std::string, std::string>&) {
          return HeadDecision{std::nullopt, 10};
        });
  }

  static RequestHead Head(std::string method, std::string path,
                          std::optional<uint64_t> length = std::nullopt) {
    RequestHead head;
    head.method = std::move(method);
    head.target = head.path = std::move(path);
    head.content_length = length;
    return head;
  }

  // What the server does: OnHead, then Handle unless the head was answered.
  std::optional<Response> Run(RequestHead head) {
    HeadDecision decision = router_.OnHead(head);
    if (decision.response) return decision.response;
    if (head.content_length && *head.content_length > decision.body_limit) return std::nullopt;
    Request request;
    static_cast<RequestHead&>(request) = std::move(head);
    std::optional<Response> out;
    router_.Handle(std::move(request), [&out](Response r) { out = std::move(r); });
    return out;
  }

  Router router_{1024};
  std::vector<Seen> seen_;
  Reply later_;
};

TEST_F(RouteObserverTest, ReportsPatternMethodAndStatusOncePerRequest) {
  ASSERT_TRUE(Run(Head("GET", "/items/secret-id-42")));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].pattern, "/items/{id}");
  EXPECT_EQ(seen_[0].method, "GET");
  EXPECT_EQ(seen_[0].status, 200);
}

TEST_F(RouteObserverTest, UnknownPathHasNoPatternAndWrongMethodHasThePathsPattern) {
  Run(Head("GET", "/nowhere"));
  Run(Head("DELETE", "/items/7"));
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].pattern, "");
  EXPECT_EQ(seen_[0].status, 404);
  EXPECT_EQ(seen_[1].pattern, "/items/{id}");
  EXPECT_EQ(seen_[1].method, "DELETE");
  EXPECT_EQ(seen_[1].status, 405);
}

TEST_F(RouteObserverTest, HeadCheckAnswersAndContentLengthRefusalsAreObserved) {
  Run(Head("PUT", "/guarded"));
  EXPECT_FALSE(Run(Head("POST", "/small", 11)));  // the server answers 413 itself
  EXPECT_TRUE(Run(Head("POST", "/small", 10)));
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].status, 403);
  EXPECT_EQ(seen_[0].pattern, "/guarded");
  EXPECT_EQ(seen_[1].status, 413);
  EXPECT_EQ(seen_[1].pattern, "/small");
  EXPECT_EQ(seen_[2].status, 200);
}

TEST_F(RouteObserverTest, LateReplyIsObservedWhenItIsGiven) {
  std::optional<Response> out;
  Request request;
  request.method = "POST";
  request.target = request.path = "/later";
  router_.Handle(std::move(request), [&out](Response r) { out = std::move(r); });
  EXPECT_TRUE(seen_.empty());
  ASSERT_TRUE(later_);
  later_(JsonResponse(201, "{}"));
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].status, 201);
  EXPECT_EQ(seen_[0].pattern, "/later");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 201);
}

TEST(RouterWithoutObserverTest, AnswersAsBefore) {
  Router router(1024);
  router.Add("GET", "/x", [](Request, Reply reply) { reply(JsonResponse(200, "{}")); });
  std::optional<Response> out;
  Request request;
  request.method = "GET";
  request.target = request.path = "/x";
  router.Handle(std::move(request), [&out](Response r) { out = std::move(r); });
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
}

}  // namespace
}  // namespace triggerd::http
