// Internal to src/schedule: the pieces of a poll that tests exercise without a producer — the
// feed's new items against a cursor, and one bounded HTTP GET.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "common/headers.h"
#include "common/result.h"
#include "schedule/schedule.h"

namespace triggerd::schedule::internal {

// The node at a dotted path ("data.items", "0.id" indexes an array); "" = `root` itself.
// nullptr when absent.
const boost::json::value* FindPath(const boost::json::value& root, std::string_view path);

struct FeedItem {
  std::string id;
  boost::json::value item;  // the item as the feed gave it (an object)
  // What the event stands for: "item:<id>", or with a cursor_field and a string or number there,
  // "item:<id>@<that value as text>", so an item updated above the cursor is a new event while the
  // same version fetched again stays a duplicate. A value that would make the id longer than the
  // store's 256 bytes is replaced by "sha256:" and 32 hex digits of its SHA-256.
  std::string delivery_id;
};

// What one poll found: the new items, oldest first (at most `max_items`), and the cursor to
// store once they are all durable (cursor_data: {"last_id":…, "seen_ids":[…]} and, with a
// cursor_field, {"cursor":…, "ids_at_cursor":[…]}). kInvalidArgument when the document has no
// array at items_path. Items that are not objects or have no usable id are skipped (counted).
// Ids are compared as text: 1 and "1" are the same item.
struct FeedScan {
  std::vector<FeedItem> fresh;
  boost::json::object next_cursor;
  int total = 0;    // items in the answer's array
  int skipped = 0;  // items without an object shape or an id
};
Result<FeedScan> ScanFeed(const PollConfig& config, const boost::json::value& document,
                          const boost::json::object& cursor, size_t max_items);

struct GetResult {
  int status = 0;     // the HTTP status; 0 when the transfer failed
  std::string body;   // at most max_bytes
  std::string error;  // why it failed (never holds a header value); "" on success
};
// One GET over libcurl: no redirects followed, http and https only, at most `timeout_ms` in all,
// refused beyond `max_bytes`, no connection the outbound policy refuses (outbound::ProcessPolicy;
// error "outbound policy refused <address> (…)"). Thread-safe; blocks.
GetResult HttpGet(const std::string& url, const Headers& headers, int timeout_ms,
                  size_t max_bytes);

}  // namespace triggerd::schedule::internal
