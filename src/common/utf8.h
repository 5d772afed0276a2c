// UTF-8 checks and repair. Text that ends up in JSON output must be valid UTF-8: filter text is
// checked (explanations echo it), bytes from the network (header values, agents' replies) are
// repaired instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace triggerd {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when it is invalid (truncated,
// overlong, a surrogate, or beyond U+10FFFF). REQUIRES: i < s.size().
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i);

// Offset of the first byte that does not start a valid sequence, or npos.
std::size_t FindInvalidUtf8(std::string_view s);

// `s` with every invalid byte replaced by U+FFFD.
std::string RepairUtf8(std::string_view s);

}  // namespace triggerd
