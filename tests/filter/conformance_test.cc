// Runs every case of ../shared/vectors/filters.json as its own test, named after the case id.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "common/headers.h"
#include "filter/filter.h"
#include "test_util.h"

namespace triggerd::filter {
namespace {

struct VectorCase {
  std::string id;
  std::string filter;
  boost::json::value payload;
  Headers headers;
  std::string expected;  // "true", "false" or "error"
  std::string note;
};

std::vector<VectorCase> LoadVectors() {
  std::string text = testing::ReadFileOrDie(testing::SharedPath("vectors/filters.json"));
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  std::vector<VectorCase> cases;
  if (ec || !root.is_array()) {
    ADD_FAILURE() << "vectors/filters.json does not parse: " << ec.message();
    return cases;
  }
  for (const boost::json::value& v : root.get_array()) {
    const boost::json::object& o = v.get_object();
    VectorCase c;
    c.id = std::string(o.at("id").get_string());
    c.filter = std::string(o.at("filter").get_string());
    c.payload = o.at("payload");
    if (const boost::json::value* headers = o.if_contains("headers")) {
      for (const auto& [name, value] : headers->get_object()) {
        c.headers.push_back({std::string(name), std::string(value.get_string())});
      }
    }
    const boost::json::value& expected = o.at("expected");
    c.expected = expected.is_bool() ? (expected.get_bool() ? "true" : "false")
                                    : std::string(expected.get_string());
    if (const boost::json::value* note = o.if_contains("note")) {
      c.note = std::string(note->get_string());
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

class FilterConformanceTest : public ::testing::TestWithParam<VectorCase> {};

TEST_P(FilterConformanceTest, MatchesExpectedOutcome) {
  const VectorCase& c = GetParam();
  SCOPED_TRACE("filter: " + c.filter + "\nnote: " + c.note);
  Result<CompiledFilter> compiled = Compile(c.filter);
  if (c.expected == "error") {
    ASSERT_FALSE(compiled.has_value()) << "compiled a filter the vectors reject";
    EXPECT_EQ(compiled.error().code(), "invalid_filter");
    return;
  }
  ASSERT_OK(compiled);
  EvalContext context{c.payload, &c.headers, "", ""};
  Result<bool> evaluated = Evaluate(*compiled, context);
  ASSERT_OK(evaluated);
  bool matched = *evaluated;
  EXPECT_EQ(matched ? "true" : "false", c.expected);
  // The explanation must agree with Matches on every vector.
  EXPECT_EQ(Explain(*compiled, context)->at("result").as_bool(), matched);
}

INSTANTIATE_TEST_SUITE_P(Vectors, FilterConformanceTest, ::testing::ValuesIn(LoadVectors()),
                         [](const ::testing::TestParamInfo<VectorCase>& info) {
                           std::string name = info.param.id;
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace triggerd::filter
