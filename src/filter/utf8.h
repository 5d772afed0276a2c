// UTF-8 checks. Filter text must be valid UTF-8 so that explanations (which echo fields and
// literals) are valid JSON; header values come from the network and are repaired instead.
// Internal to the filter module.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace triggerd::filter::internal {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when it is invalid (truncated,
// overlong, a surrogate, or beyond U+10FFFF). REQUIRES: i < s.size().
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);

// Offset of the first byte that does not start a valid sequence, or npos.
std::size_t FindInvalidUtf8(std::string_view s);

// `s` with every invalid byte replaced by U+FFFD.
std::string RepairUtf8(std::string_view s);

}  // namespace triggerd::filter::internal
