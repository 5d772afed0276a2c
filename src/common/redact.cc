#include "common/redact.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <map>
#include <vector>

#include "common/headers.h"

namespace triggerd {
namespace {

// kRedactedUrlPart as messages quote it.
constexpr std::string_view kMarkerQuoted = "\"redacted\"";

// A query value shown redacted ("k=redacted").
bool IsMarker(const boost::urls::param_view& p) {
  return p.has_value && p.value == kRedactedUrlPart;
}

// A query key without a value shown redacted ("?redacted"): such a key is often a bare token.
bool IsKeyMarker(const boost::urls::param_view& p) {
  return !p.has_value && p.key == kRedactedUrlPart;
}

// What RedactUrl hides of a parameter without a value: its key, unless empty ("a&&b").
bool IsSecretKey(const boost::urls::param_view& p) { return !p.has_value && !p.key.empty(); }

}  // namespace

bool IsSecretHeaderName(std::string_view name) {
  // One lower-casing pass per name, then substring searches: this runs for every header of
  // every event.
  std::string lower = AsciiLower(name);
  for (char& c : lower) {
    if (c == '_') c = '-';
  }
  for (std::string_view part : kSecretHeaderNameParts) {
    if (lower.find(part) != std::string::npos) return true;
  }
  return false;
}

std::string RedactUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::string(url);
  boost::urls::url redacted(*parsed);
  if (redacted.has_userinfo() && !redacted.encoded_user().empty()) {
    redacted.set_user(kRedactedUrlPart);
  }
  if (redacted.has_password()) redacted.set_password(kRedactedUrlPart);
  auto params = redacted.params();
  for (auto it = params.begin(); it != params.end(); ++it) {
    const boost::urls::param p = *it;  // a copy: set() below changes the buffer
    if (p.has_value && !p.value.empty()) {
      it = params.set(it, kRedactedUrlPart);
    } else if (IsSecretKey(p)) {
      it = params.replace(it, boost::urls::param_view(kRedactedUrlPart, boost::urls::no_value));
    }
  }
  return std::string(redacted.buffer());
}

std::optional<std::string> OriginOf(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return std::nullopt;
  const std::string scheme = AsciiLower(parsed->scheme());
  std::string origin = scheme + "://" + AsciiLower(parsed->encoded_host());
  const bool default_port = (scheme == "http" && parsed->port_number() == 80) ||
                            (scheme == "https" && parsed->port_number() == 443);
  if (parsed->has_port() && !default_port) origin += ":" + std::to_string(parsed->port_number());
  return origin;
}

bool SameOrigin(std::string_view a, std::string_view b) {
  const std::optional<std::string> origin = OriginOf(a);
  return origin && origin == OriginOf(b);
}

Result<std::string> RestoreRedactedUrl(std::string_view submitted,
                                       std::optional<std::string_view> stored) {
  auto parsed = boost::urls::parse_uri(submitted);
  if (!parsed) return std::string(submitted);  // the caller's validation reports it
  const bool user_marker = parsed->has_userinfo() && parsed->user() == kRedactedUrlPart;
  const bool password_marker = parsed->has_password() && parsed->password() == kRedactedUrlPart;
  bool query_marker = false;
  for (const auto& p : parsed->params()) {
    query_marker = query_marker || IsMarker(p) || IsKeyMarker(p);
  }
  if (!user_marker && !password_marker && !query_marker) return std::string(submitted);

  auto original =
      stored ? boost::urls::parse_uri(*stored) : boost::system::result<boost::urls::url_view>{};
  if (!stored || !original) {
    return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                   " stands for a stored value, and there is none: send "
                                   "the value itself");
  }
  if (!SameOrigin(submitted, *stored)) {
    return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                   " stands for a stored value, which is never sent to "
                                   "another origin than the stored URL's: send the value itself");
  }
  boost::urls::url restored(*parsed);
  if (user_marker) {
    if (!original->has_userinfo() || original->encoded_user().empty()) {
      return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                     " stands for the stored user name, and there is "
                                     "none: send the value itself");
    }
    restored.set_encoded_user(original->encoded_user());
  }
  if (password_marker) {
    if (!original->has_password()) {
      return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                     " stands for the stored password, and there is "
                                     "none: send the value itself");
    }
    restored.set_encoded_password(original->encoded_password());
  }
  // The stored values of each key in order: the n-th marker of a key takes its n-th value.
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  // The stored keys without a value, in order: the n-th key marker takes the n-th.
  std::vector<std::string> secret_keys;
  for (const auto& p : original->params()) {
    values[p.key].push_back(p.value);
    if (IsSecretKey(p)) secret_keys.push_back(p.key);
  }
  std::map<std::string, size_t, std::less<>> used;
  size_t used_keys = 0;
  auto params = restored.params();
  for (auto it = params.begin(); it != params.end(); ++it) {
    const boost::urls::param p = *it;  // a copy: set() below changes the buffer
    if (IsKeyMarker(p)) {
      if (used_keys >= secret_keys.size()) {
        return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                       " stands for a stored query parameter without a value, "
                                       "and there is none: send the parameter itself");
      }
      const std::string& key = secret_keys[used_keys++];
      it = params.replace(it, boost::urls::param_view(key, boost::urls::no_value));
      continue;
    }
    const size_t n = used[p.key]++;
    if (!IsMarker(p)) continue;
    auto found = values.find(p.key);
    if (found == values.end() || n >= found->second.size()) {
      return Status::InvalidArgument(std::string(kMarkerQuoted) +
                                     " stands for the stored value of query parameter " +
                                     std::string(p.key) +
                                     ", and there is none: send the value "
                                     "itself");
    }
    it = params.set(it, found->second[n]);
  }
  return std::string(restored.buffer());
}

}  // namespace triggerd
