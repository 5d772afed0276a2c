#include "app/filter_command.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "filter/filter.h"

namespace triggerd::app {
namespace {

// The `line`-th line (1-based) of `text`, without its end-of-line characters.
std::string_view LineOf(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 1; i < line; ++i) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  std::size_t end = text.find('\n', start);
  std::string_view result = text.substr(start, end == std::string_view::npos ? end : end - start);
  if (!result.empty() && result.back() == '\r') result.remove_suffix(1);
  return result;
}

// Spaces up to `column` (counted in UTF-8 code points, as CompileError counts), keeping the
// line's tabs so the caret lines up whatever the terminal's tab width.
std::string CaretLine(std::string_view line, int column) {
  std::string caret;
  int col = 1;
  for (char c : line) {
    if (col >= column) break;
    if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
    caret.push_back(c == '\t' ? '\t' : ' ');
    ++col;
  }
  caret.append(static_cast<std::size_t>(column - col > 0 ? column - col : 0), ' ');
  caret.push_back('^');
  return caret;
}

void PrintCompileError(std::string_view text, const filter::CompileError& error,
                       std::ostream& err) {
  err << "error: " << error.ToString() << "\n";
  err << LineOf(text, error.line) << "\n";
  err << CaretLine(LineOf(text, error.line), error.column) << "\n";
}

// Indented JSON; Boost 1.81 has no pretty printer.
void PrettyPrint(std::ostream& os, const boost::json::value& v, int indent = 0) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string closing_pad(static_cast<std::size_t>(indent), ' ');
  switch (v.kind()) {
    case boost::json::kind::object: {
      const boost::json::object& o = v.get_object();
      if (o.empty()) {
        os << "{}";
        return;
      }
      os << "{\n";
      bool first = true;
      for (const auto& [key, value] : o) {
        if (!first) os << ",\n";
        first = false;
        os << pad << boost::json::serialize(boost::json::value(key)) << ": ";
        PrettyPrint(os, value, indent + 2);
      }
      os << "\n" << closing_pad << "}";
      return;
    }
    case boost::json::kind::array: {
      const boost::json::array& a = v.get_array();
      if (a.empty()) {
        os << "[]";
        return;
      }
      os << "[\n";
      bool first = true;
      for (const boost::json::value& element : a) {
        if (!first) os << ",\n";
        first = false;
        os << pad;
        PrettyPrint(os, element, indent + 2);
      }
      os << "\n" << closing_pad << "]";
      return;
    }
    default:
      os << boost::json::serialize(v);
  }
}

bool ReadPayload(const std::string& path, std::string* out, std::ostream& err) {
  if (path == "-") {
    out->assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "error: cannot read " << path << ": " << std::strerror(errno) << "\n";
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    err << "error: cannot read " << path << "\n";
    return false;
  }
  *out = std::move(buffer).str();
  return true;
}

}  // namespace

int RunFilterCheck(std::string_view filter_text, std::ostream& out, std::ostream& err) {
  filter::CompileError error;
  Result<filter::CompiledFilter> compiled = filter::Compile(filter_text, &error);
  if (!compiled) {
    PrintCompileError(filter_text, error, err);
    return kFilterExitInvalidFilter;
  }
  // It compiles (exit 0), but some of it can never match: said on stderr.
  for (const std::string& warning : filter::Warnings(*compiled)) err << "warning: " << warning << "\n";
  out << "ok\n";
  return kFilterExitOk;
}

int RunFilterEval(std::string_view filter_text, const std::string& payload_path, bool explain,
                  std::ostream& out, std::ostream& err) {
  filter::CompileError error;
  Result<filter::CompiledFilter> compiled = filter::Compile(filter_text, &error);
  if (!compiled) {
    PrintCompileError(filter_text, error, err);
    return kFilterExitInvalidFilter;
  }
  std::string text;
  if (!ReadPayload(payload_path, &text, err)) return kFilterExitUsage;
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(text, ec);
  if (ec) {
    err << "error: " << payload_path << " is not valid JSON: " << ec.message() << "\n";
    return kFilterExitUsage;
  }
  filter::EvalContext context{payload, nullptr, "", ""};
  if (explain) {
    Result<boost::json::value> explanation = filter::Explain(*compiled, context);
    if (!explanation) {
      err << "error: " << explanation.error().message() << "\n";
      return kFilterExitInvalidFilter;
    }
    PrettyPrint(out, *explanation);
    out << "\n";
  } else {
    Result<bool> matched = filter::Evaluate(*compiled, context);
    if (!matched) {
      err << "error: " << matched.error().message() << "\n";
      return kFilterExitInvalidFilter;
    }
    out << (*matched ? "true" : "false") << "\n";
  }
  return kFilterExitOk;
}

}  // namespace triggerd::app
