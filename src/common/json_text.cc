#include "common/json_text.h"

#include <boost/json/serialize.hpp>
#include <string_view>

namespace triggerd {

std::string SerializeJson(const boost::json::value& value) {
  std::string text = boost::json::serialize(value);
  // The tokens start with 'I', '-I' or 'N'; outside strings no other JSON token has those
  // letters, so most texts are returned after this one scan.
  if (text.find_first_of("IN") == std::string::npos) return text;
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\') {
        out += text[++i];  // the escaped character: never ends the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    const std::string_view rest = std::string_view(text).substr(i);
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (rest.starts_with("Infinity")) {
      out += "1e999";
      i += std::string_view("Infinity").size() - 1;
    } else if (rest.starts_with("NaN")) {
      out += "null";
      i += std::string_view("NaN").size() - 1;
    } else {
      out += c;  // "-Infinity": the '-' here, the rest on the next turn
    }
  }
  return out;
}

}  // namespace triggerd
