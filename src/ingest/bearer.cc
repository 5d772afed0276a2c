// A source's bearer credential when it takes workspace API keys (auth.api_key): the route asks
// ApiKeyToLookUp which key to read from the store, and CheckBearer decides with what it found.
#include <optional>
#include <string>
#include <string_view>

#include "common/headers.h"
#include "ingest/ingest.h"
#include "ingest/internal.h"

namespace triggerd::ingest {

std::optional<std::string_view> BearerToken(const Headers& headers) {
  auto value = FindHeader(headers, "Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (!value || value->size() <= kScheme.size() ||
      !HeaderNameEquals(value->substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = value->substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

Status CheckBearer(const CachedSource& cached, const verify::Request& request,
                   const std::optional<PresentedApiKey>& api_key, bool* by_api_key) {
  *by_api_key = false;
  if (cached.token_verifier && cached.token_verifier->Verify(request).ok()) return Status::Ok();
  if (!BearerToken(request.headers)) {
    return Status::Unauthenticated(
        "send \"Authorization: Bearer <key>\" with an API key of this workspace" +
            std::string(cached.token_verifier ? " or the source's token" : ""),
        std::string(verify::kMissingToken));
  }
  if (!api_key) {  // not looked up: the route serves no API keys
    return Status::Unauthenticated("the Bearer token is not valid for this source",
                                   std::string(verify::kInvalidToken));
  }
  if (api_key->lookup.type() == ErrorType::kNotFound ||
      (api_key->lookup.ok() && api_key->workspace_id != cached.source.workspace_id)) {
    // Unknown, revoked, or of another workspace: the same answer, which tells nothing of keys
    // elsewhere.
    return Status::Unauthenticated("the Bearer token is not a valid API key or token for this "
                                   "source",
                                   std::string(verify::kInvalidToken));
  }
  if (!api_key->lookup.ok()) return api_key->lookup;  // the store failed: not the caller's fault
  if (api_key->role != store::Role::kAdmin && api_key->role != store::Role::kBuilder) {
    return Status::PermissionDenied(
        "this source takes API keys with the builder or admin role only", "insufficient_role");
  }
  *by_api_key = true;
  return Status::Ok();
}

std::optional<std::string> Ingestor::ApiKeyToLookUp(const BodyRequest& request) const {
  const CachedSource& cached = *request.source;
  if (!cached.api_key) return std::nullopt;
  auto token = BearerToken(request.headers);
  if (!token) return std::nullopt;
  if (cached.token_verifier) {
    const verify::Request check{request.headers, "", request.method, "", 0};
    if (cached.token_verifier->Verify(check).ok()) return std::nullopt;  // the source's token
  }
  return std::string(*token);
}

}  // namespace triggerd::ingest
