#include "common/json_parse.h"

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <string>

namespace triggerd {

boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  return boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
}

std::string JsonErrorMessage(const boost::system::error_code& ec) {
  if (ec == boost::json::error::too_deep) {
    return "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)";
  }
  return ec.message();
}

}  // namespace triggerd
