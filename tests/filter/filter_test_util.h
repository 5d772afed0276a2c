// Helpers shared by the filter tests: compile-or-fail, evaluate against inline JSON.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/headers.h"
#include "filter/filter.h"

namespace triggerd::filter::testing {

// Parses JSON written in a test; fails the test on malformed JSON.
inline boost::json::value Json(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "bad JSON in test: " << text;
  return v;
}

// "line:column: message" of a filter that must not compile, or "compiled" when it did.
inline std::string CompileErrorOf(std::string_view filter) {
  Result<CompiledFilter> compiled = Compile(filter);
  if (compiled) return "compiled";
  EXPECT_EQ(compiled.error().code(), "invalid_filter");
  return compiled.error().message();
}

// Whether `filter` (which must compile) matches `payload`.
inline bool Eval(std::string_view filter, std::string_view payload,
                 const Headers* headers = nullptr, std::string_view event_type = "",
                 std::string_view source_id = "") {
  Result<CompiledFilter> compiled = Compile(filter);
  EXPECT_TRUE(compiled.has_value()) << filter << ": " << compiled.status().ToString();
  if (!compiled) return false;
  boost::json::value v = Json(payload);
  EvalContext context{v, headers, event_type, source_id};
  Result<bool> matched = Evaluate(*compiled, context);
  EXPECT_TRUE(matched.has_value()) << filter << ": " << matched.status().ToString();
  if (!matched) return false;
  Result<boost::json::value> explained = Explain(*compiled, context);
  EXPECT_TRUE(explained.has_value()) << filter << ": " << explained.status().ToString();
  if (explained) {
    EXPECT_EQ(explained->at("result").as_bool(), *matched)
        << "Explain disagrees with Evaluate for " << filter;
  }
  return *matched;
}

}  // namespace triggerd::filter::testing
