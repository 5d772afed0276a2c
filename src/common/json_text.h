// JSON text out of a Boost.JSON value, always parseable again.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace triggerd {

// boost::json::serialize, except for non-finite doubles: Boost.JSON 1.81 writes them as
// `Infinity`, `-Infinity` and `NaN`, which no JSON parser reads back, and a sender's number
// beyond a double's range parses as one (1e400 is infinite, 0.0e4300 NaN). They are written
// `1e999` and `-1e999` (valid JSON that reads back as the same infinities) and `null`.
// Anything that re-serialises a payload it parsed (API answers, stored payloads) uses this.
std::string SerializeJson(const boost::json::value& value);

}  // namespace triggerd
