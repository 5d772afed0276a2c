// TargetConfig <-> the REST `target` object, and MakeTarget. Parsing checks shapes and types;
// ValidateTargetConfig checks values, so a config built in code gets the same checks. Messages
// name the field ("target.url: …") so the API can return them as they are; unknown fields are
// refused so a misspelt timeout never silently becomes the default.
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>

#include "common/headers.h"
#include "common/redact.h"
#include "dispatch/target_internal.h"
#include "outbound/curl_guard.h"

namespace triggerd::dispatch {
namespace {

constexpr size_t kMaxUrlLength = 8192;
constexpr size_t kMaxHeaders = 64;
constexpr size_t kMaxHeaderNameLength = 128;
constexpr size_t kMaxHeaderValueLength = 8192;
constexpr size_t kMaxArgs = 1024;
constexpr size_t kMaxModelLength = 256;
constexpr size_t kMaxEnvNameLength = 128;

// Headers a target may not set: message framing and connection management belong to libcurl,
// webhook-* and X-Triggerd-* are the signature and attempt metadata we send. Mirror a change in
// the HttpTargetConfig::headers comment (target.h).
constexpr std::string_view kReservedHeaders[] = {
    "Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect",
    "TE",   "Upgrade",        "Trailer",           "Keep-Alive"};
constexpr std::string_view kReservedHeaderPrefixes[] = {"webhook-", "x-triggerd-"};

Status Invalid(std::string_view field, std::string_view message) {
  return Status::InvalidArgument("target." + std::string(field) + ": " + std::string(message));
}

bool StartsWithIgnoringCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && HeaderNameEquals(s.substr(0, prefix.size()), prefix);
}

// RFC 9110 token characters: what a header name may contain.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 field-value bytes: visible ASCII, space, tab and obs-text (>= 0x80). Excludes CR and
// LF (header injection) and NUL (C strings end there).
bool IsFieldValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

bool IsPrintable(std::string_view s);

// A name taken from the input, fit to appear in a message.
std::string FieldName(std::string_view name) {
  return name.size() <= kMaxHeaderNameLength && IsPrintable(name) ? std::string(name) : "?";
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

bool IsPrintable(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// An absolute http(s) URL with a host, that libcurl's parser takes too. With `as_base`, no query
// or fragment either (a path is appended to it).
Status ValidateUrl(std::string_view field, std::string_view url, bool as_base) {
  if (url.empty()) return Invalid(field, "is required");
  if (url.size() > kMaxUrlLength) return Invalid(field, "must be at most 8192 characters");
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Invalid(field, "must be an absolute http:// or https:// URL");
  const std::string_view scheme = parsed->scheme();
  if (!HeaderNameEquals(scheme, "http") && !HeaderNameEquals(scheme, "https")) {
    return Invalid(field, "must be an http:// or https:// URL");
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) {
    return Invalid(field, "must name a host");
  }
  if (as_base && (parsed->has_query() || parsed->has_fragment())) {
    return Invalid(field, "must not have a query or a fragment (/chat/completions is appended)");
  }
  // The transfer parses it again with libcurl's parser, which is stricter in places.
  if (Status curl = outbound::CheckUrlParses(url); !curl.ok()) {
    return Invalid(field, "is not a URL libcurl can use (" + curl.message() + ")");
  }
  return Status::Ok();
}

Status ValidateTimeout(int timeout_ms) {
  if (timeout_ms < kMinTimeoutMs || timeout_ms > kMaxTimeoutMs) {
    return Invalid("timeout_ms", "must be between 1 and 3600000");
  }
  return Status::Ok();
}

Status ValidateHttp(const HttpTargetConfig& c) {
  TRIGGERD_RETURN_IF_ERROR(ValidateUrl("url", c.url, /*as_base=*/false));
  if (c.headers.size() > kMaxHeaders) return Invalid("headers", "at most 64 headers");
  for (size_t i = 0; i < c.headers.size(); ++i) {
    const auto& [name, value] = c.headers[i];
    const std::string field = "headers." + FieldName(name);
    if (name.empty() || name.size() > kMaxHeaderNameLength) {
      return Invalid("headers", "a header name must have 1 to 128 characters");
    }
    for (char c : name) {
      if (!IsTokenChar(c)) {
        return Invalid(field, "is not a header name (letters, digits and !#$%&'*+-.^_`|~)");
      }
    }
    for (std::string_view reserved : kReservedHeaders) {
      if (HeaderNameEquals(name, reserved)) {
        return Invalid(field, "cannot be set (the HTTP client manages it)");
      }
    }
    for (std::string_view prefix : kReservedHeaderPrefixes) {
      if (StartsWithIgnoringCase(name, prefix)) {
        return Invalid(field,
                       "cannot be set (triggerd sends the webhook-* signature headers "
                       "and X-Triggerd-* itself)");
      }
    }
    for (size_t j = 0; j < i; ++j) {
      if (HeaderNameEquals(c.headers[j].first, name)) {
        return Invalid(field, "is given twice (names compare ignoring case)");
      }
    }
    if (value.size() > kMaxHeaderValueLength) {
      return Invalid(field, "must be at most 8192 characters");
    }
    for (char ch : value) {
      if (!IsFieldValueChar(ch)) {
        return Invalid(field, "must not contain control characters (CR, LF, NUL, ...)");
      }
    }
  }
  return ValidateTimeout(c.timeout_ms);
}

Status ValidateCommand(const CommandTargetConfig& c) {
  if (c.argv.empty()) return Invalid("argv", "must hold at least the program's absolute path");
  if (c.argv.size() > kMaxArgs) return Invalid("argv", "at most 1024 arguments");
  if (!c.argv[0].starts_with('/')) {
    return Invalid("argv[0]", "must be an absolute path (no PATH lookup, no shell)");
  }
  for (size_t i = 0; i < c.argv.size(); ++i) {
    if (HasNul(c.argv[i])) {
      return Invalid("argv[" + std::to_string(i) + "]", "must not contain a NUL character");
    }
  }
  if (!c.cwd.empty() && !c.cwd.starts_with('/')) {
    return Invalid("cwd", "must be an absolute path, or \"\" for the server's");
  }
  if (HasNul(c.cwd)) return Invalid("cwd", "must not contain a NUL character");
  return ValidateTimeout(c.timeout_ms);
}

Status ValidateLlm(const LlmTargetConfig& c) {
  TRIGGERD_RETURN_IF_ERROR(ValidateUrl("base_url", c.base_url, /*as_base=*/true));
  if (c.model.empty()) return Invalid("model", "is required");
  if (c.model.size() > kMaxModelLength || !IsPrintable(c.model)) {
    return Invalid("model", "must be at most 256 printable characters");
  }
  if (!c.api_key_env.empty() && !IsEnvironmentVariableName(c.api_key_env)) {
    return Invalid("api_key_env",
                   "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128 "
                   "characters), or \"\" for none");
  }
  return ValidateTimeout(c.timeout_ms);
}

// ---- Parsing: shapes and types. ---------------------------------------------------------------

Result<std::string> ReadString(const boost::json::value& v, std::string_view field) {
  if (const boost::json::string* s = v.if_string()) return std::string(s->data(), s->size());
  return Invalid(field, "must be a string");
}

Result<int> ReadTimeout(const boost::json::value& v) {
  if (v.is_int64()) {
    const int64_t t = v.get_int64();
    if (t < kMinTimeoutMs || t > kMaxTimeoutMs) {
      return Invalid("timeout_ms", "must be between 1 and 3600000");
    }
    return static_cast<int>(t);
  }
  if (v.is_uint64()) return Invalid("timeout_ms", "must be between 1 and 3600000");
  return Invalid("timeout_ms", "must be an integer number of milliseconds");
}

Result<std::vector<std::pair<std::string, std::string>>> ReadHeaders(const boost::json::value& v) {
  const boost::json::object* obj = v.if_object();
  if (obj == nullptr) return Invalid("headers", "must be an object {\"Name\": \"value\"}");
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [key, value] : *obj) {
    const std::string name(key.data(), key.size());
    auto s = ReadString(value, "headers." + FieldName(name));
    if (!s) return s.error();
    headers.emplace_back(name, std::move(s).value());
  }
  return headers;
}

Result<std::vector<std::string>> ReadArgv(const boost::json::value& v) {
  const boost::json::array* arr = v.if_array();
  if (arr == nullptr) return Invalid("argv", "must be an array of strings");
  std::vector<std::string> argv;
  for (size_t i = 0; i < arr->size(); ++i) {
    auto s = ReadString((*arr)[i], "argv[" + std::to_string(i) + "]");
    if (!s) return s.error();
    argv.push_back(std::move(s).value());
  }
  return argv;
}

Status Unknown(std::string_view key, std::string_view type, std::string_view fields) {
  return Invalid(FieldName(key), "is not a field of " + std::string(type) + " target (" +
                                     std::string(fields) + ")");
}

Result<TargetConfig> ParseHttp(const boost::json::object& obj) {
  TargetConfig config;
  config.type = TargetType::kHttp;
  HttpTargetConfig& c = config.http;
  bool has_url = false;
  for (const auto& [key, value] : obj) {
    if (key == "type") continue;
    if (key == "url") {
      auto s = ReadString(value, "url");
      if (!s) return s.error();
      c.url = std::move(s).value();
      has_url = true;
    } else if (key == "headers") {
      if (value.is_null()) continue;
      auto h = ReadHeaders(value);
      if (!h) return h.error();
      c.headers = std::move(h).value();
    } else if (key == "timeout_ms") {
      if (value.is_null()) continue;
      auto t = ReadTimeout(value);
      if (!t) return t.error();
      c.timeout_ms = *t;
    } else {
      return Unknown(key, "an http", "type, url, headers, timeout_ms");
    }
  }
  if (!has_url) return Invalid("url", "is required for an http target");
  TRIGGERD_RETURN_IF_ERROR(ValidateHttp(c));
  return config;
}

Result<TargetConfig> ParseCommand(const boost::json::object& obj) {
  TargetConfig config;
  config.type = TargetType::kCommand;
  CommandTargetConfig& c = config.command;
  bool has_argv = false;
  for (const auto& [key, value] : obj) {
    if (key == "type") continue;
    if (key == "argv") {
      auto a = ReadArgv(value);
      if (!a) return a.error();
      c.argv = std::move(a).value();
      has_argv = true;
    } else if (key == "cwd") {
      if (value.is_null()) continue;
      auto s = ReadString(value, "cwd");
      if (!s) return s.error();
      c.cwd = std::move(s).value();
    } else if (key == "timeout_ms") {
      if (value.is_null()) continue;
      auto t = ReadTimeout(value);
      if (!t) return t.error();
      c.timeout_ms = *t;
    } else {
      return Unknown(key, "a command", "type, argv, cwd, timeout_ms");
    }
  }
  if (!has_argv) return Invalid("argv", "is required for a command target");
  TRIGGERD_RETURN_IF_ERROR(ValidateCommand(c));
  return config;
}

Result<TargetConfig> ParseLlm(const boost::json::object& obj) {
  TargetConfig config;
  config.type = TargetType::kLlm;
  LlmTargetConfig& c = config.llm;
  bool has_base_url = false, has_model = false;
  for (const auto& [key, value] : obj) {
    if (key == "type") continue;
    if (key == "base_url") {
      auto s = ReadString(value, "base_url");
      if (!s) return s.error();
      c.base_url = std::move(s).value();
      has_base_url = true;
    } else if (key == "model") {
      auto s = ReadString(value, "model");
      if (!s) return s.error();
      c.model = std::move(s).value();
      has_model = true;
    } else if (key == "api_key_env") {
      if (value.is_null()) continue;
      auto s = ReadString(value, "api_key_env");
      if (!s) return s.error();
      c.api_key_env = std::move(s).value();
    } else if (key == "timeout_ms") {
      if (value.is_null()) continue;
      auto t = ReadTimeout(value);
      if (!t) return t.error();
      c.timeout_ms = *t;
    } else {
      return Unknown(key, "an llm", "type, base_url, model, api_key_env, timeout_ms");
    }
  }
  if (!has_base_url) return Invalid("base_url", "is required for an llm target");
  if (!has_model) return Invalid("model", "is required for an llm target");
  TRIGGERD_RETURN_IF_ERROR(ValidateLlm(c));
  return config;
}

}  // namespace

bool IsEnvironmentVariableName(std::string_view s) {
  if (s.empty() || s.size() > kMaxEnvNameLength) return false;
  if (std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

namespace internal {

Status ValidateTargetConfig(const TargetConfig& config) {
  switch (config.type) {
    case TargetType::kHttp:
      return ValidateHttp(config.http);
    case TargetType::kCommand:
      return ValidateCommand(config.command);
    case TargetType::kLlm:
      return ValidateLlm(config.llm);
  }
  return Invalid("type", "must be one of http, command, llm");
}

}  // namespace internal

bool TargetConfig::operator==(const TargetConfig& other) const {
  if (type != other.type) return false;
  switch (type) {
    case TargetType::kHttp:
      return http == other.http;
    case TargetType::kCommand:
      return command == other.command;
    case TargetType::kLlm:
      return llm == other.llm;
  }
  return false;
}

std::string_view TargetTypeName(TargetType type) {
  switch (type) {
    case TargetType::kHttp:
      return "http";
    case TargetType::kCommand:
      return "command";
    case TargetType::kLlm:
      return "llm";
  }
  return "unknown";
}

int TargetTimeoutMs(const TargetConfig& config) {
  switch (config.type) {
    case TargetType::kHttp:
      return config.http.timeout_ms;
    case TargetType::kCommand:
      return config.command.timeout_ms;
    case TargetType::kLlm:
      return config.llm.timeout_ms;
  }
  return 0;
}

Result<TargetConfig> ParseTargetConfig(const boost::json::value& target) {
  const boost::json::object* obj = target.if_object();
  if (obj == nullptr) return Status::InvalidArgument("target: must be an object");
  const boost::json::value* type = obj->if_contains("type");
  if (type == nullptr) return Invalid("type", "is required (http, command or llm)");
  const boost::json::string* name = type->if_string();
  if (name != nullptr && *name == "http") return ParseHttp(*obj);
  if (name != nullptr && *name == "command") return ParseCommand(*obj);
  if (name != nullptr && *name == "llm") return ParseLlm(*obj);
  return Invalid("type", "must be one of http, command, llm");
}

Result<TargetConfig> ParseTargetConfigText(std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(json_text, ec);
  if (ec) return Status::InvalidArgument("target: not valid JSON: " + ec.message());
  return ParseTargetConfig(value);
}

boost::json::object TargetConfigToJson(const TargetConfig& config) {
  boost::json::object obj;
  obj["type"] = TargetTypeName(config.type);
  switch (config.type) {
    case TargetType::kHttp: {
      obj["url"] = config.http.url;
      boost::json::object headers;
      for (const auto& [name, value] : config.http.headers) headers[name] = value;
      obj["headers"] = std::move(headers);
      obj["timeout_ms"] = config.http.timeout_ms;
      break;
    }
    case TargetType::kCommand: {
      boost::json::array argv;
      for (const auto& arg : config.command.argv) argv.emplace_back(arg);
      obj["argv"] = std::move(argv);
      obj["cwd"] = config.command.cwd;
      obj["timeout_ms"] = config.command.timeout_ms;
      break;
    }
    case TargetType::kLlm:
      obj["base_url"] = config.llm.base_url;
      obj["model"] = config.llm.model;
      obj["api_key_env"] = config.llm.api_key_env;
      obj["timeout_ms"] = config.llm.timeout_ms;
      break;
  }
  return obj;
}

TargetConfig RedactTargetConfig(TargetConfig config) {
  if (config.type != TargetType::kHttp) return config;
  for (auto& header : config.http.headers) header.second = std::string(kRedacted);
  config.http.url = RedactUrl(config.http.url);
  return config;
}

Result<TargetConfig> RestoreRedactedValues(TargetConfig submitted,
                                           const std::optional<TargetConfig>& stored) {
  if (submitted.type != TargetType::kHttp) return submitted;
  const TargetConfig* old =
      stored.has_value() && stored->type == TargetType::kHttp ? &*stored : nullptr;
  // A stored credential goes only where it went before: a builder who points the agent at a
  // server of theirs must not receive headers they cannot read.
  const bool same_origin = old != nullptr && SameOrigin(submitted.http.url, old->http.url);
  for (auto& [name, value] : submitted.http.headers) {
    if (value != kRedacted) continue;
    const std::string* kept = nullptr;
    if (old != nullptr) {
      for (const auto& [stored_name, stored_value] : old->http.headers) {
        if (HeaderNameEquals(stored_name, name)) kept = &stored_value;
      }
    }
    if (kept == nullptr) {
      return Invalid("headers." + FieldName(name),
                     "\"[redacted]\" stands for the stored value of this header, and the agent "
                     "has none: send the value itself");
    }
    if (!same_origin) {
      return Invalid("headers." + FieldName(name),
                     "\"[redacted]\" stands for the stored value, which is never sent to another "
                     "origin than the stored URL's: send the value itself");
    }
    value = *kept;
  }
  Result<std::string> url = RestoreRedactedUrl(
      submitted.http.url,
      old != nullptr ? std::optional<std::string_view>(old->http.url) : std::nullopt);
  if (!url) return Invalid("url", url.error().message());
  submitted.http.url = std::move(url).value();
  return submitted;
}

Result<std::unique_ptr<Target>> MakeTarget(const TargetConfig& config) {
  TRIGGERD_RETURN_IF_ERROR(internal::ValidateTargetConfig(config));
  switch (config.type) {
    case TargetType::kHttp:
      return internal::MakeHttpTarget(config.http);
    case TargetType::kCommand:
      return internal::MakeCommandTarget(config.command);
    case TargetType::kLlm:
      return internal::MakeLlmTarget(config.llm);
  }
  return Invalid("type", "must be one of http, command, llm");
}

}  // namespace triggerd::dispatch
