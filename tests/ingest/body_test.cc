// ingest::ParseBody (src/ingest/body.h): what a body decodes to, and that what ingest stores for
// it re-parses to the same payload. fuzz/body_fuzz.cc checks the same properties on random input.
#include "ingest/body.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cmath>

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

}  // namespace
}  // namespace triggerd::ingest
