#include <gtest/gtest.h>

#include "http/http.h"

namespace triggerd::http {
namespace {

Response Call(const Router& router, const std::string& method, const std::string& target) {
  Request request;
  request.method = method;
  request.target = target;
  request.path = target.substr(0, target.find('?'));
  Response out;
  router.Handle(std::move(request), [&](Response r) { out = std::move(r); });
  return out;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : router_(1024) {
    router_.Add("GET", "/api/v1/sources/{id}", [](Request r, Reply reply) {
      reply(JsonResponse(200, "\"" + r.path_params["id"] + "|" + r.query_params["limit"] + "\""));
    });
    router_.Add("DELETE", "/api/v1/sources/{id}", [](Request, Reply reply) {
      reply(JsonResponse(204, ""));
    });
  }
  Router router_;
};

TEST_F(RouterTest, ExtractsPathAndQueryParameters) {
  Response r = Call(router_, "GET", "/api/v1/sources/src_1?limit=5&x=%20y");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "\"src_1|5\"\n");
}

// Path parameters arrive percent-decoded (an agent named "my dag" is /dags/my%20dag); an escape
// that is malformed or decodes to bytes that are not UTF-8 is 400, never looked up.
TEST_F(RouterTest, DecodesPathParameters) {
  EXPECT_EQ(Call(router_, "GET", "/api/v1/sources/my%20dag%2Bx+y").body, "\"my dag+x+y|\"\n");
  EXPECT_EQ(Call(router_, "GET", "/api/v1/sources/caf%C3%A9").body, "\"caf\u00e9|\"\n");
  for (const char* bad : {"/api/v1/sources/a%2", "/api/v1/sources/a%zz", "/api/v1/sources/%FF"}) {
    Response r = Call(router_, "GET", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("\"type\":\"invalid_path\""), std::string::npos) << r.body;
  }
}

TEST_F(RouterTest, UnknownPathIs404WithJsonError) {
  Response r = Call(router_, "GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"type\":\"not_found\""), std::string::npos) << r.body;
}

TEST_F(RouterTest, KnownPathWithOtherMethodIs405WithAllow) {
  Response r = Call(router_, "POST", "/api/v1/sources/src_1");
  EXPECT_EQ(r.status, 405);
  ASSERT_TRUE(FindHeader(r.headers, "Allow").has_value());
  EXPECT_EQ(*FindHeader(r.headers, "Allow"), "GET, DELETE");
}

TEST_F(RouterTest, HeadDecisionUsesDefaultLimitWithoutCheck) {
  RequestHead head;
  head.method = "GET";
  head.path = "/api/v1/sources/x";
  HeadDecision d = router_.OnHead(head);
  EXPECT_FALSE(d.response.has_value());
  EXPECT_EQ(d.body_limit, 1024u);
  head.path = "/elsewhere";
  EXPECT_EQ(router_.OnHead(head).response->status, 404);
}

TEST(ErrorResponseTest, MapsEveryErrorTypeToItsStatus) {
  EXPECT_EQ(HttpStatusFor(ErrorType::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(ErrorType::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusFor(ErrorType::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusFor(ErrorType::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(ErrorType::kMethodNotAllowed), 405);
  EXPECT_EQ(HttpStatusFor(ErrorType::kConflict), 409);
  EXPECT_EQ(HttpStatusFor(ErrorType::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(ErrorType::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatusFor(ErrorType::kRateLimited), 429);
  EXPECT_EQ(HttpStatusFor(ErrorType::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(ErrorType::kUnavailable), 503);
  Response r = ErrorResponse(Status::Unauthenticated("bad \"sig\"", "invalid_signature"));
  EXPECT_EQ(r.body,
            "{\"error\":{\"type\":\"invalid_signature\",\"message\":\"bad \\\"sig\\\"\"}}\n");
}

}  // namespace
}  // namespace triggerd::http
