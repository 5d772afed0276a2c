// The poll's pieces: the new items of a feed against a cursor, and one bounded GET (libcurl, as
// dispatch/curl_post.cc uses it for POSTs; a GET with its own limits rather than a second client).
#include <curl/curl.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <set>
#include <unordered_set>

#include "common/crypto.h"
#include "outbound/curl_guard.h"
#include "schedule/internal.h"

namespace triggerd::schedule::internal {
namespace {

namespace json = boost::json;

constexpr size_t kMaxSeenIds = 10'000;
constexpr size_t kMaxIdBytes = 200;

// An item's id as text: a non-empty string (at most kMaxIdBytes) or an integer.
std::optional<std::string> IdOf(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_string() && !v->as_string().empty() && v->as_string().size() <= kMaxIdBytes) {
    return std::string(v->as_string());
  }
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  return std::nullopt;
}

// Orders two cursor values of the same kind (numbers numerically, strings by bytes: RFC 3339
// timestamps in one format sort as text). nullopt when they cannot be compared.
std::optional<int> Compare(const json::value* a, const json::value* b) {
  if (a == nullptr || b == nullptr) return std::nullopt;
  if (a->is_number() && b->is_number()) {
    if (a->is_double() || b->is_double()) {
      double x = a->to_number<double>(), y = b->to_number<double>();
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (a->is_int64() && b->is_int64()) {
      return a->as_int64() < b->as_int64() ? -1 : a->as_int64() > b->as_int64() ? 1 : 0;
    }
    double x = a->to_number<double>(), y = b->to_number<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a->is_string() && b->is_string()) {
    int c = a->as_string().subview().compare(b->as_string().subview());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return std::nullopt;
}

// See FeedItem::delivery_id. The store takes delivery ids of at most 256 bytes; an id is at
// most kMaxIdBytes, so "item:<id>@sha256:<32 hex>" always fits.
std::string DeliveryId(const std::string& id, const json::value* version) {
  std::string out = "item:" + id;
  std::string text;
  if (version != nullptr && version->is_string()) text = std::string(version->as_string());
  else if (version != nullptr && version->is_number()) text = json::serialize(*version);
  if (text.empty()) return out;
  constexpr size_t kMaxDeliveryIdBytes = 256;
  if (out.size() + 1 + text.size() > kMaxDeliveryIdBytes) {
    text = "sha256:" + crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, text))
                           .substr(0, 32);
  }
  return out + "@" + text;
}

std::unordered_set<std::string> StringSet(const json::object& o, std::string_view key) {
  std::unordered_set<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& e : v->as_array()) {
    if (e.is_string()) out.insert(std::string(e.as_string()));
  }
  return out;
}

}  // namespace

const json::value* FindPath(const json::value& root, std::string_view path) {
  const json::value* node = &root;
  while (node != nullptr && !path.empty()) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (node->is_object()) {
      node = node->as_object().if_contains(key);
    } else if (node->is_array()) {
      size_t index = 0;
      auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      node = ec == std::errc() && end == key.data() + key.size() &&
                     index < node->as_array().size()
                 ? &node->as_array()[index]
                 : nullptr;
    } else {
      node = nullptr;
    }
  }
  return node;
}

Result<FeedScan> ScanFeed(const PollConfig& config, const json::value& document,
                          const json::object& cursor, size_t max_items) {
  const json::value* items = FindPath(document, config.items_path);
  if (items == nullptr || !items->is_array()) {
    return Status::InvalidArgument(
        config.items_path.empty()
            ? std::string("the answer is not a JSON array (set items_path)")
            : "the answer has no array at items_path \"" + config.items_path + "\"");
  }
  struct Candidate {
    std::string id;
    const json::value* item;
    const json::value* position;  // the cursor_field's value, or null
  };
  FeedScan scan;
  std::vector<Candidate> all;
  std::unordered_set<std::string> ids_in_answer;
  scan.total = static_cast<int>(items->as_array().size());
  for (const auto& item : items->as_array()) {
    std::optional<std::string> id;
    if (item.is_object()) id = IdOf(FindPath(item, config.id_field));
    if (!id) {
      ++scan.skipped;
      continue;
    }
    if (!ids_in_answer.insert(*id).second) continue;  // listed twice: once is enough
    all.push_back({std::move(*id), &item,
                   config.cursor_field.empty() ? nullptr : FindPath(item, config.cursor_field)});
  }
  if (config.newest_first) std::reverse(all.begin(), all.end());

  const std::unordered_set<std::string> seen = StringSet(cursor, "seen_ids");
  const json::value* stored_position = cursor.if_contains("cursor");
  const std::unordered_set<std::string> at_stored = StringSet(cursor, "ids_at_cursor");
  std::vector<const Candidate*> fresh;
  for (const auto& c : all) {
    bool is_new;
    std::optional<int> order = Compare(c.position, stored_position);
    if (order) {
      // The cursor decides: above it is new; at it, new unless that id was taken there.
      is_new = *order > 0 || (*order == 0 && !at_stored.contains(c.id));
    } else {
      is_new = !seen.contains(c.id);  // no (comparable) cursor: ids of the previous answer
    }
    if (is_new) fresh.push_back(&c);
  }
  if (!config.cursor_field.empty()) {
    // Oldest first by the cursor; items without a comparable value keep the feed's order, last.
    std::stable_sort(fresh.begin(), fresh.end(), [](const Candidate* a, const Candidate* b) {
      std::optional<int> order = Compare(a->position, b->position);
      if (order) return *order < 0;
      return a->position != nullptr && b->position == nullptr;
    });
  }
  std::unordered_set<std::string> left_over;  // new, but left for the next poll
  for (size_t i = max_items; i < fresh.size(); ++i) left_over.insert(fresh[i]->id);
  if (fresh.size() > max_items) fresh.resize(max_items);

  for (const Candidate* c : fresh) {
    scan.fresh.push_back({c->id, *c->item, DeliveryId(c->id, c->position)});
  }
  // Seen from now on: what this answer listed, less the new items left for the next poll.
  json::array seen_ids;
  for (const auto& c : all) {
    if (seen_ids.size() >= kMaxSeenIds) break;
    if (!left_over.contains(c.id)) seen_ids.emplace_back(c.id);
  }
  scan.next_cursor = cursor;
  scan.next_cursor["seen_ids"] = std::move(seen_ids);
  if (!scan.fresh.empty()) scan.next_cursor["last_id"] = scan.fresh.back().id;
  if (!config.cursor_field.empty()) {
    const json::value* best = stored_position;
    for (const Candidate* c : fresh) {
      std::optional<int> order = Compare(c->position, best);
      if (c->position != nullptr && (best == nullptr || (order && *order > 0))) best = c->position;
    }
    if (best != nullptr) {
      // The ids taken at the new cursor: the stored ones only while the cursor did not move (an
      // id taken at the old position says nothing about the new one), plus the new items at it.
      std::unordered_set<std::string> taken;
      if (best == stored_position) taken = at_stored;
      json::array at;
      for (const auto& id : taken) at.emplace_back(id);
      for (const Candidate* c : fresh) {
        std::optional<int> order = Compare(c->position, best);
        if (order && *order == 0 && taken.insert(c->id).second) at.emplace_back(c->id);
      }
      json::value position = *best;  // copied before the old cursor is overwritten
      scan.next_cursor["cursor"] = std::move(position);
      scan.next_cursor["ids_at_cursor"] = std::move(at);
    }
  }
  return scan;
}

namespace {

struct Body {
  std::string text;
  size_t max = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t length = size * count;
  if (body->text.size() + length > body->max) {
    body->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  body->text.append(data, length);
  return length;
}

}  // namespace

GetResult HttpGet(const std::string& url, const Headers& headers, int timeout_ms,
                  size_t max_bytes) {
  GetResult result;
  if (!outbound::InitCurlOnce()) {
    result.error = "libcurl could not be initialised";
    return result;
  }
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.error = "libcurl could not be initialised";
    return result;
  }
  curl_slist* lines = nullptr;
  bool has_accept = false;
  for (const auto& header : headers) {
    has_accept = has_accept || HeaderNameEquals(header.name, "Accept");
    lines = curl_slist_append(lines, (header.name + ": " + header.value).c_str());
  }
  if (!has_accept) lines = curl_slist_append(lines, "Accept: application/json");
  Body body;
  body.max = max_bytes;
  char error[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "triggerd");
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, lines);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode code;
  long status = 0;
  std::string refusal;
  {
    // Every connection of the GET is checked against the outbound policy first: a feed's items
    // become events that the workspace reads, so a poll must not reach what the policy denies.
    outbound::CurlGuard guard(curl, outbound::ProcessPolicy());
    code = curl_easy_perform(curl);
    if (guard.Refused(code)) refusal = guard.refusal();
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  }
  curl_easy_cleanup(curl);
  curl_slist_free_all(lines);
  if (!refusal.empty()) {
    result.error = std::move(refusal);
    return result;
  }
  if (body.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    result.error = "the answer is larger than " + std::to_string(max_bytes) + " bytes";
    return result;
  }
  if (code != CURLE_OK) {
    result.error = code == CURLE_OPERATION_TIMEDOUT
                       ? "timed out after " + std::to_string(timeout_ms) + " ms"
                       : std::string(error[0] != '\0' ? error : curl_easy_strerror(code));
    return result;
  }
  result.status = static_cast<int>(status);
  result.body = std::move(body.text);
  if (status < 200 || status > 299) result.error = "HTTP " + std::to_string(status);
  return result;
}

}  // namespace triggerd::schedule::internal
