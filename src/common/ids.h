// Identifiers: opaque strings with a type prefix (ws_, key_, src_, agt_, trg_, evt_, run_).
//
// The random part is 22 base62 characters (~131 bits), so ids are unguessable; event and run ids
// begin with the creation time (base62, fixed width) so they sort by time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace triggerd {

// `prefix` without the underscore, e.g. NewId("src").
std::string NewId(std::string_view prefix);
// Time-ordered id: prefix_ + 9 base62 chars of unix micros + 16 random base62 chars.
std::string NewTimeOrderedId(std::string_view prefix, int64_t unix_micros);
// True when `id` starts with "<prefix>_" and the rest is 1..64 chars of [0-9A-Za-z].
bool IsWellFormedId(std::string_view id, std::string_view prefix);

}  // namespace triggerd
