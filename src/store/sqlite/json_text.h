// The JSON text the SQLite store keeps in TEXT columns: string lists (sources.allowed_ips,
// sources.allowed_origins) as `["a","b"]` and headers (events.headers) as `[["Name","value"],…]`
// — pairs rather than an object, because header order and repeated names must survive.
//
// Internal to store/sqlite; the store only reads back what it wrote, so the decoder accepts just
// these two shapes (any JSON whitespace, every string escape). Bytes that are not UTF-8 are kept
// as they are rather than escaped, so they round-trip exactly (such text is then not strict JSON).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/headers.h"

namespace triggerd::store::sqlite {

std::string EncodeStringArray(const std::vector<std::string>& values);
// False when `text` is not an array of strings; `out` is then unspecified.
bool DecodeStringArray(std::string_view text, std::vector<std::string>* out);

std::string EncodeHeaders(const Headers& headers);
// False when `text` is not an array of [name, value] string pairs; `out` is then unspecified.
bool DecodeHeaders(std::string_view text, Headers* out);

}  // namespace triggerd::store::sqlite
