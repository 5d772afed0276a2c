#include "common/json_fields.h"

#include <cstdint>

namespace triggerd {

Result<std::string> StringField(const boost::json::object& object, std::string_view name,
                                std::optional<std::string> fallback) {
  const boost::json::value* v = object.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (fallback) return *fallback;
    return Status::InvalidArgument(std::string(name) + " is required");
  }
  if (!v->is_string()) return Status::InvalidArgument(std::string(name) + " must be a string");
  return std::string(v->as_string());
}

Result<bool> BoolField(const boost::json::object& object, std::string_view name, bool fallback) {
  const boost::json::value* v = object.if_contains(name);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return Status::InvalidArgument(std::string(name) + " must be true or false");
  return v->as_bool();
}

Result<int64_t> IntField(const boost::json::object& object, std::string_view name,
                         int64_t fallback) {
  const boost::json::value* v = object.if_contains(name);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) return static_cast<int64_t>(v->as_uint64());
  return Status::InvalidArgument(std::string(name) + " must be an integer");
}

Result<std::vector<std::string>> StringListField(const boost::json::object& object,
                                                 std::string_view name) {
  std::vector<std::string> out;
  const boost::json::value* v = object.if_contains(name);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) {
    return Status::InvalidArgument(std::string(name) + " must be an array of strings");
  }
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) {
      return Status::InvalidArgument(std::string(name) + " must be an array of strings");
    }
    out.emplace_back(item.as_string());
  }
  return out;
}

Status RejectUnknownFields(const boost::json::object& object,
                           std::initializer_list<std::string_view> known) {
  if (auto field = FirstUnknownField(object, known)) {
    return Status::InvalidArgument("unknown field \"" + *field + "\"");
  }
  return Status::Ok();
}

std::optional<std::string> FirstUnknownField(const boost::json::object& object,
                                             std::initializer_list<std::string_view> known) {
  for (const auto& member : object) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || member.key() == k;
    if (!ok) return std::string(member.key());
  }
  return std::nullopt;
}

}  // namespace triggerd
