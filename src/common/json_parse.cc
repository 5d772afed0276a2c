#include "common/json_parse.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <string>

namespace triggerd {
namespace {

// A basic_parser handler that builds nothing: checks the JSON grammar (and the depth limit, which
// basic_parser enforces) and whether the document is an object or array. The size limits are the
// DOM's (value_stack's), so validating accepts exactly what parsing into a value would.
class ValidatingHandler {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return Open(); }
  bool on_object_end(std::size_t, error_code&) { return Close(); }
  bool on_array_begin(error_code&) { return Open(); }
  bool on_array_end(std::size_t, error_code&) { return Close(); }
  bool on_key_part(string_view, std::size_t, error_code&) { return true; }
  bool on_key(string_view, std::size_t, error_code&) { return true; }
  bool on_string_part(string_view, std::size_t, error_code&) { return true; }
  bool on_string(string_view, std::size_t, error_code&) { return true; }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, string_view, error_code&) { return true; }
  bool on_double(double, string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

  bool top_is_container() const { return top_is_container_; }

 private:
  bool Open() {
    if (depth_++ == 0) top_is_container_ = true;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }
  int depth_ = 0;
  bool top_is_container_ = false;
};

}  // namespace

boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  return boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
}

JsonShape ValidateJson(std::string_view text, boost::system::error_code& ec) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::json::basic_parser<ValidatingHandler> validator(options);
  const size_t used = validator.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;  // as parser::write
  if (ec) return JsonShape::kInvalid;
  return validator.handler().top_is_container() ? JsonShape::kContainer : JsonShape::kScalar;
}

std::string JsonErrorMessage(const boost::system::error_code& ec) {
  if (ec == boost::json::error::too_deep) {
    return "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)";
  }
  return ec.message();
}

}  // namespace triggerd
