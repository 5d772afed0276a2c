// Typed access to the members of a JSON object, for request bodies and declared config: each
// error is kInvalidArgument naming the member, so a caller can answer it as it is.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace triggerd {

// Typed member access with errors naming the field. Absent members yield `fallback`.
Result<std::string> StringField(const boost::json::object& object, std::string_view name,
                                std::optional<std::string> fallback);
Result<bool> BoolField(const boost::json::object& object, std::string_view name, bool fallback);
Result<int64_t> IntField(const boost::json::object& object, std::string_view name,
                         int64_t fallback);
Result<std::vector<std::string>> StringListField(const boost::json::object& object,
                                                 std::string_view name);
// kInvalidArgument naming every member of `object` not in `known`.
Status RejectUnknownFields(const boost::json::object& object,
                           std::initializer_list<std::string_view> known);
// The first member of `object` not in `known`, if any.
std::optional<std::string> FirstUnknownField(const boost::json::object& object,
                                             std::initializer_list<std::string_view> known);

}  // namespace triggerd
