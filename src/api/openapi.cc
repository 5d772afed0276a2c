// GET /api/v1/openapi.json: the OpenAPI 3.1 description of every route (openapi.json, embedded at
// build time by embed_json.cmake). Needs no API key. tests/openapi/openapi_routes_test.cc keeps
// it true: every route api::RegisterRoutes adds must be in the document and vice versa, so a
// change to the routes must be mirrored in src/api/openapi.json.
#include "api/internal.h"
#include "api/openapi_document.h"

namespace triggerd::api {

void RegisterOpenApiRoutes(http::Router* router, ApiContext*) {
  router->Add("GET", "/api/v1/openapi.json", [](http::Request, http::Reply reply) {
    http::Response response = http::JsonResponse(200, std::string(kOpenApiDocument));
    response.headers.push_back({"Cache-Control", "no-cache"});
    reply(std::move(response));
  });
}

}  // namespace triggerd::api
