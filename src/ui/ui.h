// ui: the web console, a plain HTML + CSS + JavaScript (ES modules) application served by
// triggerd itself under /ui/. Its files (src/ui/static) are embedded into the binary at build
// time (embed_files.cmake): nothing to install, no separate server. The console talks only to the
// public REST API (/api/v1, ../shared/api.md) with the API key the user types in; these routes
// serve files and need no key.
#pragma once

#include <string_view>
#include <vector>

#include "http/http.h"

namespace triggerd::ui {

// Every console answer carries this policy: only the console's own files and the same-origin API,
// no inline script or style, no framing. The console's HTML must therefore hold no inline
// <script>, style attribute or on* handler.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// Registers GET /ui, which answers /ui/ with index.html and /ui with a 308 to /ui/ (query kept; the
// router matches both paths to one route), and GET /ui/{file} (an embedded file with its
// Content-Type, or 404 with the usual JSON error body). Files answer with
// Cache-Control: no-cache and an ETag (If-None-Match → 304), X-Content-Type-Options: nosniff and
// the policy above. Stateless and thread-safe.
void RegisterRoutes(http::Router* router);

// The names of the embedded files ("index.html", "app.js", …), in src/ui/CMakeLists.txt order.
std::vector<std::string_view> FileNames();

// The Content-Type a console file is served with, from its extension ("app.js" →
// "text/javascript; charset=utf-8"); application/octet-stream when unknown.
std::string_view ContentTypeFor(std::string_view name);

}  // namespace triggerd::ui
