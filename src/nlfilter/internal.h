// Internal to the nlfilter module: text helpers shared by its files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace triggerd::nlfilter::internal {

// At most `max_bytes` of `text`, never splitting a UTF-8 sequence (and stopping before an
// invalid byte).
std::string CutUtf8(std::string_view text, std::size_t max_bytes);

}  // namespace triggerd::nlfilter::internal
