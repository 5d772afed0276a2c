#include "ui/ui.h"

#include <string>

#include "common/headers.h"
#include "ui/embedded_files.h"

namespace triggerd::ui {
namespace {

const internal::EmbeddedFile* Find(std::string_view name) {
  for (const auto& file : internal::kEmbeddedFiles) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Headers on every console answer, errors included: a browser must never sniff a JSON error into
// HTML, and the policy holds whatever the page.
void AddSecurityHeaders(http::Response* response) {
  response->headers.push_back({"X-Content-Type-Options", "nosniff"});
  response->headers.push_back({"Content-Security-Policy", std::string(kContentSecurityPolicy)});
  response->headers.push_back({"Referrer-Policy", "no-referrer"});
}

http::Response NotFound(std::string_view name) {
  // The name is echoed only when it is short: the body stays small whatever was asked for.
  std::string shown = name.size() <= 100 ? std::string(name) : std::string(name.substr(0, 100));
  http::Response response =
      http::ErrorResponse(Status::NotFound("the web console has no file \"" + shown + "\""));
  AddSecurityHeaders(&response);
  return response;
}

http::Response Serve(const http::Request& request, const internal::EmbeddedFile& file) {
  http::Response response;
  // no-cache: the browser revalidates every time (a new binary may carry new files under the
  // same names); the ETag makes that revalidation a body-less 304.
  response.headers.push_back({"Cache-Control", "no-cache"});
  response.headers.push_back({"ETag", std::string(file.etag)});
  AddSecurityHeaders(&response);
  response.content_type = std::string(ContentTypeFor(file.name));
  if (auto given = FindHeader(request.headers, "If-None-Match");
      given && given->find(file.etag) != std::string_view::npos) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  response.body = std::string(file.content);
  return response;
}

// The router folds "/ui" and "/ui/" into one path (it ignores empty segments), so one route serves
// both and the raw path tells them apart: relative URLs in index.html ("app.js") resolve under
// /ui/ only, hence the redirect. 308 keeps the method, like the path's meaning.
void ServeRoot(http::Request request, http::Reply reply) {
  if (!EndsWith(request.path, "/")) {
    http::Response response;
    response.status = 308;
    response.content_type = "text/plain; charset=utf-8";
    std::string location = "/ui/";
    if (size_t query = request.target.find('?'); query != std::string::npos) {
      location += request.target.substr(query);
    }
    response.headers.push_back({"Location", location});
    AddSecurityHeaders(&response);
    response.body = "see " + location + "\n";
    reply(std::move(response));
    return;
  }
  const internal::EmbeddedFile* index = Find("index.html");
  reply(index != nullptr ? Serve(request, *index) : NotFound("index.html"));
}

}  // namespace

std::string_view ContentTypeFor(std::string_view name) {
  struct Type {
    std::string_view extension;
    std::string_view content_type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& type : kTypes) {
    if (EndsWith(name, type.extension)) return type.content_type;
  }
  return "application/octet-stream";
}

std::vector<std::string_view> FileNames() {
  std::vector<std::string_view> names;
  for (const auto& file : internal::kEmbeddedFiles) names.push_back(file.name);
  return names;
}

void RegisterRoutes(http::Router* router) {
  static_assert(std::size(internal::kEmbeddedFiles) > 0, "src/ui/CMakeLists.txt lists no files");
  router->Add("GET", "/ui", ServeRoot);  // "/ui/" too (see ServeRoot)
  router->Add("GET", "/ui/{file}", [](http::Request request, http::Reply reply) {
    const std::string& name = request.path_params["file"];
    const internal::EmbeddedFile* file = Find(name);
    reply(file != nullptr ? Serve(request, *file) : NotFound(name));
  });
}

}  // namespace triggerd::ui
