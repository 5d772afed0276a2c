// Keeps src/api/openapi.json true to the router. Adding, removing or renaming a route in
// api::RegisterRoutes means changing the document the same way; these tests say which one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "api/api.h"
#include "http/http.h"

namespace triggerd::api {
namespace {

constexpr const char* kDocument = "src/api/openapi.json";
const std::set<std::string> kOperationKeys = {"get",     "put",  "post",  "delete",
                                              "options", "head", "patch", "trace"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterRoutes(&router_, &context_);
    // The document as served: GET /api/v1/openapi.json through the router (no key, no store).
    http::Request request;
    request.method = "GET";
    request.target = request.path = "/api/v1/openapi.json";
    std::optional<http::Response> response;
    router_.Handle(std::move(request), [&response](http::Response r) { response = std::move(r); });
    ASSERT_TRUE(response.has_value()) << "GET /api/v1/openapi.json did not answer synchronously";
    ASSERT_EQ(response->status, 200) << response->body;
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(response->body, ec);
    ASSERT_FALSE(ec) << kDocument << " is not valid JSON: " << ec.message();
    ASSERT_TRUE(doc.is_object());
    document_ = doc.as_object();
    ASSERT_TRUE(document_.contains("paths"));
    paths_ = document_.at("paths").as_object();
  }

  // The documented operations (upper-case method) of a path; nullopt when the path is absent.
  std::optional<std::set<std::string>> Operations(const std::string& path) const {
    const boost::json::value* item = paths_.if_contains(path);
    if (item == nullptr || !item->is_object()) return std::nullopt;
    std::set<std::string> methods;
    for (const auto& [key, value] : item->as_object()) {
      if (kOperationKeys.count(std::string(key)) > 0) methods.insert(Upper(std::string(key)));
    }
    return methods;
  }

  ApiContext context_;  // no store, ingestor or registry: registering routes touches none
  http::Router router_{1024 * 1024};
  boost::json::object document_;
  boost::json::object paths_;
};

TEST_F(OpenApiRoutesTest, IsOpenApi31WithBearerSecurity) {
  EXPECT_EQ(document_.at("openapi").as_string(), "3.1.0");
  const auto& schemes = document_.at("components").at("securitySchemes").as_object();
  ASSERT_TRUE(schemes.contains("apiKey"));
  EXPECT_EQ(schemes.at("apiKey").at("scheme").as_string(), "bearer");
  const auto& schemas = document_.at("components").at("schemas").as_object();
  for (const char* name : {"Source", "Agent", "Trigger", "Event", "Run", "Match", "Error"}) {
    EXPECT_TRUE(schemas.contains(name)) << kDocument << " lacks components.schemas." << name;
  }
}

TEST_F(OpenApiRoutesTest, EveryRouteIsDocumented) {
  const auto routes = router_.Routes();
  ASSERT_GT(routes.size(), 30u);
  for (const auto& [method, pattern] : routes) {
    auto documented = Operations(pattern);
    if (!documented) {
      ADD_FAILURE() << "route " << method << " " << pattern
                    << " is registered by api::RegisterRoutes but " << kDocument
                    << " has no path \"" << pattern << "\": add paths[\"" << pattern << "\"]."
                    << (method == "*" ? "post" : Lower(method));
      continue;
    }
    if (method == "*") {
      // A catch-all route (ingest) answers 405 itself for methods it refuses: the document
      // lists the methods it accepts, at least one.
      EXPECT_FALSE(documented->empty()) << "route * " << pattern << ": " << kDocument
                                        << " lists no operation under paths[\"" << pattern << "\"]";
      continue;
    }
    EXPECT_TRUE(documented->count(method) > 0)
        << "route " << method << " " << pattern << " is registered by api::RegisterRoutes but "
        << kDocument << " does not document it: add paths[\"" << pattern << "\"]." << Lower(method);
  }
}

TEST_F(OpenApiRoutesTest, EveryDocumentedOperationIsARoute) {
  std::set<std::pair<std::string, std::string>> routes;
  std::set<std::string> catch_all;
  for (const auto& [method, pattern] : router_.Routes()) {
    routes.emplace(method, pattern);
    if (method == "*") catch_all.insert(pattern);
  }
  for (const auto& [path, item] : paths_) {
    const std::string pattern(path);
    const std::set<std::string> methods = Operations(pattern).value_or(std::set<std::string>());
    for (const std::string& method : methods) {
      if (catch_all.count(pattern) > 0) continue;
      EXPECT_TRUE(routes.count({method, pattern}) > 0)
          << kDocument << " documents " << method << " " << pattern
          << " but api::RegisterRoutes registers no such route: remove paths[\"" << pattern
          << "\"]." << Lower(method) << " or register the route";
    }
  }
}

TEST_F(OpenApiRoutesTest, OperationIdsAreUniqueAndEveryOperationHasResponses) {
  std::set<std::string> ids;
  for (const auto& [path, item] : paths_) {
    for (const auto& [key, operation] : item.as_object()) {
      if (kOperationKeys.count(std::string(key)) == 0) continue;
      const auto& op = operation.as_object();
      ASSERT_TRUE(op.contains("operationId")) << key << " " << path << " has no operationId";
      EXPECT_TRUE(ids.insert(std::string(op.at("operationId").as_string())).second)
          << "operationId " << op.at("operationId") << " is used twice";
      EXPECT_TRUE(op.contains("responses")) << key << " " << path << " has no responses";
    }
  }
}

}  // namespace
}  // namespace triggerd::api
