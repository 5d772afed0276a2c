// JSON log lines: one parseable object per line with the thread's ids, whatever the message holds.
#include "app/logging.h"

#include <gtest/gtest.h>
#include <spdlog/details/log_msg.h>

#include <boost/json.hpp>

#include "common/log_context.h"

namespace triggerd::app {
namespace {

boost::json::object Format(std::string_view message) {
  auto formatter = MakeJsonLogFormatter();
  spdlog::details::log_msg msg(spdlog::source_loc{}, "triggerd", spdlog::level::warn, message);
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  std::string line(out.data(), out.size());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line: " << line;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  EXPECT_FALSE(ec) << line;
  return v.is_object() ? v.as_object() : boost::json::object{};
}

TEST(JsonLogFormatterTest, LinesCarryTimeLevelMessageAndTheThreadsIds) {
  boost::json::object plain = Format("hello");
  EXPECT_EQ(plain.at("level").as_string(), "warning");
  EXPECT_EQ(plain.at("msg").as_string(), "hello");
  EXPECT_TRUE(plain.at("time").as_string().ends_with("Z"));
  EXPECT_FALSE(plain.contains("run_id"));

  std::string run = "run_1", event = "evt_2";
  {
    ScopedLogContext outer({.request_id = "req_9", .workspace_id = "ws_1"});
    ScopedLogContext inner({.event_id = event, .run_id = run});
    boost::json::object line = Format("dispatch: attempt failed");
    EXPECT_EQ(line.at("request_id").as_string(), "req_9");
    EXPECT_EQ(line.at("workspace_id").as_string(), "ws_1");
    EXPECT_EQ(line.at("event_id").as_string(), "evt_2");
    EXPECT_EQ(line.at("run_id").as_string(), "run_1");
    EXPECT_FALSE(line.contains("source_id"));
  }
  // Scopes restore what was there before.
  EXPECT_FALSE(Format("after").contains("request_id"));
}

TEST(JsonLogFormatterTest, QuotesNewlinesAndInvalidUtf8StayInsideTheMessage) {
  boost::json::object line = Format("bad \"value\"\nnext line \xff\xfe end");
  std::string msg(line.at("msg").as_string());
  EXPECT_NE(msg.find("\"value\"\nnext line"), std::string::npos) << msg;
  EXPECT_NE(msg.find("end"), std::string::npos);
}

// Text lines: a message that quotes a forged line stays one line, and terminal escapes are shown
// as text, never sent to the terminal.
TEST(TextLogFormatterTest, EscapesControlCharactersOfTheMessage) {
  auto formatter = MakeTextLogFormatter();
  spdlog::details::log_msg msg(spdlog::source_loc{}, "triggerd", spdlog::level::info,
                               "agent said: oops\n[2026-01-01 00:00:00.000] [error] forged\r\t\x1b[31m");
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  const std::string line(out.data(), out.size());
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_NE(line.find("oops\\n[2026-01-01 00:00:00.000] [error] forged\\r\\t\\x1b[31m"),
            std::string::npos)
      << line;
}

TEST(ConfigureLoggingTest, RefusesUnknownFormatsAndLevels) {
  EXPECT_FALSE(ConfigureLogging("xml", "info").ok());
  EXPECT_FALSE(ConfigureLogging("text", "loud").ok());
  EXPECT_TRUE(ConfigureLogging("text", "info").ok());
}

}  // namespace
}  // namespace triggerd::app
