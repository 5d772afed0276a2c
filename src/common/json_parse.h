// JSON text into a Boost.JSON value, under the service's one nesting limit.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace triggerd {

// The deepest nesting of arrays and objects that triggerd accepts in a JSON payload (a webhook
// body, a form's `payload` field, a polled feed's document, a compatibility webhook's body).
// Ingest refuses a deeper body (400 invalid_body), and every reader of a stored payload (the
// event API, the agent's message, replay, samples) parses with this same limit, so whatever was
// accepted reads back intact. Boost.JSON's default is 32; 64 leaves room for any real webhook
// while bounding the recursion of everything that walks a payload (filters, prompts, values'
// destructors). Changing it changes what ingest accepts: raise it only with every reader.
inline constexpr std::size_t kMaxJsonDepth = 64;

// boost::json::parse with max_depth = kMaxJsonDepth; a deeper document fails with
// boost::json::error::too_deep.
boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec);

// What ValidateJson found.
enum class JsonShape { kInvalid, kScalar, kContainer };
// Checks that `text` is one JSON document within kMaxJsonDepth, without building it: exactly
// what ParseJson accepts (the same grammar and size limits), at a fraction of its cost. kInvalid
// sets `ec` as ParseJson would; kContainer when the document is an object or array.
JsonShape ValidateJson(std::string_view text, boost::system::error_code& ec);

// The message of a parse error: "nested deeper than 64 levels" for too_deep, else ec.message().
std::string JsonErrorMessage(const boost::system::error_code& ec);

}  // namespace triggerd
