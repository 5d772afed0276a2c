// Operations on the real binary: `--log-format json` writes one JSON object per line, with the
// ids of what a line is about; every answer carries X-Request-Id (the caller's when plausible),
// and the request's log lines name it.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

#include "http_client.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::HttpResult;

TEST(LogsE2eTest, JsonLinesCarryTheRequestAndSourceIds) {
  testing::TempDir dir;
  testing::TriggerdProcess process(dir.path() / "data", {"--log-format", "json"});
  ASSERT_TRUE(process.Start()) << process.error();
  HttpClient client("127.0.0.1", process.port());
  const std::string admin = process.AdminKey();

  HttpResult created =
      client.Send("POST", "/api/v1/sources", R"({"name":"s","auth":{"bearer":true}})",
                  {{"Authorization", "Bearer " + admin}, {"X-Request-Id", "setup-1"}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("X-Request-Id"), "setup-1");  // the caller's id is kept
  boost::json::object source = boost::json::parse(created.body).as_object();
  std::string url(source.at("url").as_string());
  url = url.substr(url.find("/api/v1/w/"));

  // A refused webhook logs a warning about its source, under a generated request id.
  HttpResult refused =
      client.Send("POST", url, "{}",
                  {{"Content-Type", "application/json"}, {"X-Request-Id", "bad id with spaces"}});
  EXPECT_EQ(refused.status, 401);
  const std::string request_id = refused.Header("X-Request-Id");
  EXPECT_EQ(request_id.rfind("req_", 0), 0u) << request_id;

  bool found = false;
  std::istringstream lines(process.Output());
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;  // the first-start banner is plain text
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    ++parsed;
    const auto& o = v.as_object();
    EXPECT_TRUE(o.contains("time") && o.contains("level") && o.contains("msg")) << line;
    if (o.contains("source_id") && o.at("source_id") == source.at("id")) {
      found = true;
      EXPECT_EQ(o.at("request_id").as_string(), request_id) << line;
      EXPECT_EQ(o.at("level").as_string(), "warning") << line;
    }
  }
  EXPECT_GE(parsed, 2);
  EXPECT_TRUE(found) << process.Output();
}

}  // namespace
}  // namespace triggerd
