// ingest::ParseBody (src/ingest/body.h): what a body decodes to, and that what ingest stores for
// it re-parses to the same payload. fuzz/body_fuzz.cc checks the same properties on random input.
#include "ingest/body.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>

#include "common/json_parse.h"

namespace triggerd::ingest {
namespace {

struct Decoded {
  Status status;
  boost::json::value payload;
  std::string payload_json;
};

Decoded Decode(std::string_view content_type, std::string_view body, bool need_payload = true) {
  Decoded d;
  d.status = ParseBody(content_type, body, need_payload, &d.payload, &d.payload_json);
  return d;
}

TEST(ParseBodyTest, AJsonBodyIsItsOwnStoredPayload) {
  Decoded d = Decode("application/json; charset=utf-8", R"({"action":"opened","n":1})");
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.payload.at("action").as_string(), "opened");
  EXPECT_TRUE(d.payload_json.empty());  // the body is stored, once
}

TEST(ParseBodyTest, ValidatingOnlyBuildsNoDocumentAndGivesTheSameAnswers) {
  Decoded light = Decode("application/vnd.api+json", "[1,2]", false);
  ASSERT_TRUE(light.status.ok());
  EXPECT_TRUE(light.payload.is_null());
  Decoded bad = Decode("application/json", "\"a string\"", false);
  EXPECT_EQ(bad.status.code(), "invalid_body");
  EXPECT_EQ(Decode("application/json", "\"a string\"").status.code(), "invalid_body");
}

TEST(ParseBodyTest, AFormPayloadFieldIsStoredAsSent) {
  // GitHub's form delivery: payload=<url-encoded JSON>.
  Decoded d = Decode("application/x-www-form-urlencoded",
                     "payload=%7B%22id%22%3A12345678901234567890%2C%22a%22%3A%22b+c%22%7D");
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.payload_json, R"({"id":12345678901234567890,"a":"b c"})");
  EXPECT_EQ(d.payload.at("a").as_string(), "b c");
}

TEST(ParseBodyTest, AFormPayloadWithAnOutOfRangeNumberStillReparses) {
  // 1e400 reads as Infinity; Boost.JSON 1.81 would serialise it as `Infinity`, which is not
  // JSON. The stored text is the sender's, so it reads back to the same value (fuzz-found).
  Decoded d = Decode("application/x-www-form-urlencoded", "payload=%7B%22a%22%3A1e400%7D");
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  boost::system::error_code ec;
  boost::json::value again = boost::json::parse(d.payload_json, ec);
  ASSERT_FALSE(ec) << d.payload_json;
  EXPECT_TRUE(std::isinf(again.at("a").as_double()));
  EXPECT_TRUE(std::isinf(d.payload.at("a").as_double()));
}

TEST(ParseBodyTest, PlainFormFieldsBecomeAnObject) {
  Decoded d = Decode("application/x-www-form-urlencoded", "command=%2Fdeploy&text=api+prod");
  ASSERT_TRUE(d.status.ok()) << d.status.ToString();
  EXPECT_EQ(d.payload.at("command").as_string(), "/deploy");
  EXPECT_EQ(d.payload.at("text").as_string(), "api prod");
  EXPECT_EQ(boost::json::parse(d.payload_json), d.payload);
}

TEST(ParseBodyTest, RefusalsSayWhy) {
  EXPECT_EQ(Decode("application/json", "").status.code(), "invalid_body");
  EXPECT_EQ(Decode("application/json", "{").status.code(), "invalid_body");
  EXPECT_EQ(Decode("text/plain", "{}").status.type(), ErrorType::kUnsupportedMediaType);
  EXPECT_EQ(Decode("application/x-www-form-urlencoded", "payload=%5B").status.code(),
            "invalid_body");
}

// `depth` levels of arrays; percent-encoded for a form field.
std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }
std::string FormNested(size_t depth) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += "%5B";
  for (size_t i = 0; i < depth; ++i) out += "%5D";
  return out;
}

TEST(ParseBodyTest, TheDepthLimitHoldsForJsonAndFormBodiesAlike) {
  for (bool need_payload : {true, false}) {
    EXPECT_TRUE(Decode("application/json", Nested(kMaxJsonDepth), need_payload).status.ok());
    Status deeper = Decode("application/json", Nested(kMaxJsonDepth + 1), need_payload).status;
    EXPECT_EQ(deeper.code(), "invalid_body");
    EXPECT_NE(deeper.message().find("nested deeper than 64 levels"), std::string::npos)
        << deeper.message();
  }
  const std::string form = "application/x-www-form-urlencoded";
  Decoded at_limit = Decode(form, "payload=" + FormNested(kMaxJsonDepth));
  ASSERT_TRUE(at_limit.status.ok()) << at_limit.status.ToString();
  boost::system::error_code ec;
  EXPECT_EQ(ParseJson(at_limit.payload_json, ec), at_limit.payload);  // reads back as stored
  EXPECT_FALSE(ec);
  Status deeper = Decode(form, "payload=" + FormNested(kMaxJsonDepth + 1)).status;
  EXPECT_EQ(deeper.code(), "invalid_body");
  EXPECT_NE(deeper.message().find("nested deeper"), std::string::npos) << deeper.message();
}

}  // namespace
}  // namespace triggerd::ingest
