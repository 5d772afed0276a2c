// The web console's static routes (src/ui) through the real router and server on 127.0.0.1:0:
// content types, the security headers, caching, the /ui redirect and 404s.
#include "ui/ui.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <regex>
#include <string>

#include "http/http.h"
#include "http_client.h"

namespace triggerd::ui {
namespace {

using triggerd::testing::HttpClient;
using triggerd::testing::HttpResult;

class UiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterRoutes(&router_);
    http::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    auto server = http::Server::Start(options, &router_);
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(server.value());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }
  void TearDown() override {
    if (server_) server_->Stop(std::chrono::seconds(2));
  }

  HttpResult Get(const std::string& target, const Headers& headers = {}) {
    return client_->Send("GET", target, "", headers);
  }

  static void ExpectSecurityHeaders(const HttpResult& r, const std::string& what) {
    EXPECT_EQ(r.Header("Content-Security-Policy"), kContentSecurityPolicy) << what;
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff") << what;
  }

  static std::string ErrorType(const HttpResult& r) {
    boost::system::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    if (ec || !body.is_object() || !body.as_object().contains("error")) return "<not an error body>";
    return std::string(body.at("error").at("type").as_string());
  }

  http::Router router_{1024};
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(UiRoutesTest, ServesIndexAtUiSlashWithStrictPolicy) {
  HttpResult r = Get("/ui/");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("Cache-Control"), "no-cache");
  EXPECT_FALSE(r.Header("ETag").empty());
  ExpectSecurityHeaders(r, "/ui/");
  EXPECT_NE(r.body.find("<script type=\"module\" src=\"app.js\"></script>"), std::string::npos);
  // The policy has no 'unsafe-inline' and none may be needed.
  EXPECT_EQ(std::string(kContentSecurityPolicy).find("unsafe"), std::string::npos);
  EXPECT_NE(std::string(kContentSecurityPolicy).find("default-src 'self'"), std::string::npos);
}

TEST_F(UiRoutesTest, RedirectsUiWithoutSlashKeepingTheQuery) {
  HttpResult r = Get("/ui");
  ASSERT_EQ(r.status, 308) << r.error;
  EXPECT_EQ(r.Header("Location"), "/ui/");
  ExpectSecurityHeaders(r, "/ui");
  r = Get("/ui?from=docs");
  ASSERT_EQ(r.status, 308);
  EXPECT_EQ(r.Header("Location"), "/ui/?from=docs");
}

TEST_F(UiRoutesTest, ServesEveryEmbeddedFileWithItsContentType) {
  const auto names = FileNames();
  ASSERT_GE(names.size(), 5u);
  for (std::string_view name : names) {
    const std::string target = "/ui/" + std::string(name);
    HttpResult r = Get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.error << r.body;
    EXPECT_EQ(r.Header("Content-Type"), ContentTypeFor(name)) << target;
    EXPECT_NE(ContentTypeFor(name), "application/octet-stream") << target << " has no known type";
    EXPECT_EQ(r.Header("Cache-Control"), "no-cache") << target;
    EXPECT_FALSE(r.body.empty()) << target;
    ExpectSecurityHeaders(r, target);
  }
  EXPECT_EQ(Get("/ui/app.js").Header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/ui/style.css").Header("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(Get("/ui/favicon.svg").Header("Content-Type"), "image/svg+xml");
}

TEST_F(UiRoutesTest, UnknownFileIsJson404) {
  for (const char* target : {"/ui/nope.js", "/ui/..", "/ui/%2e%2e%2fetc%2fpasswd", "/ui/app.js/x"}) {
    HttpResult r = Get(target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << target;
    EXPECT_EQ(ErrorType(r), "not_found") << target << ": " << r.body;
  }
  HttpResult r = Get("/ui/nope.js");
  ExpectSecurityHeaders(r, "404");
  EXPECT_NE(r.body.find("nope.js"), std::string::npos) << r.body;
}

TEST_F(UiRoutesTest, MatchingETagAnswers304WithoutBody) {
  HttpResult first = Get("/ui/app.js");
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.Header("ETag");
  ASSERT_FALSE(etag.empty());
  HttpResult again = Get("/ui/app.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.Header("ETag"), etag);
  // Another file's tag does not match.
  HttpResult other = Get("/ui/style.css", {{"If-None-Match", etag}});
  EXPECT_EQ(other.status, 200);
  EXPECT_NE(other.Header("ETag"), etag);
}

TEST_F(UiRoutesTest, OtherMethodsAre405WithAllow) {
  HttpResult r = client_->Send("POST", "/ui/app.js", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET");
}

// The policy forbids inline script and style; the page must need neither, or the browser would
// silently refuse parts of it.
TEST_F(UiRoutesTest, FilesNeedNoInlineScriptOrStyle) {
  const std::string html = Get("/ui/").body;
  const std::regex script_tag(R"(<script\b([^>]*)>)", std::regex::icase);
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag);
       it != std::sregex_iterator(); ++it) {
    EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << "inline script: " << it->str();
  }
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)))
      << "an on* handler attribute in index.html";
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)", std::regex::icase)))
      << "a style attribute in index.html";
  EXPECT_EQ(html.find("<style"), std::string::npos);
  // Nothing from outside: no absolute URLs to other hosts (no CDN, no web fonts).
  for (std::string_view name : FileNames()) {
    const std::string body = Get("/ui/" + std::string(name)).body;
    EXPECT_FALSE(std::regex_search(body, std::regex(R"((src|href)\s*=\s*["']?(https?:)?//)")))
        << name << " loads something from another host";
    EXPECT_EQ(body.find("@import url(http"), std::string::npos) << name;
    // The DOM is built with createElement/textContent (dom.js), never from HTML strings.
    EXPECT_EQ(body.find("innerHTML"), std::string::npos) << name;
  }
}

TEST(UiContentTypeTest, KnownExtensionsAndFallback) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("a.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("a.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("js"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("a.exe"), "application/octet-stream");
}

}  // namespace
}  // namespace triggerd::ui
