#include "app/filter_command.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util.h"

namespace triggerd::app {
namespace {

class FilterCommandTest : public ::testing::Test {
 protected:
  std::string WritePayload(const std::string& name, const std::string& content) {
    std::filesystem::path path = dir_.path() / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
  }

  testing::TempDir dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(FilterCommandTest, CheckPrintsOkForValidFilter) {
  EXPECT_EQ(RunFilterCheck(R"((eq "action" "opened"))", out_, err_), 0);
  EXPECT_EQ(out_.str(), "ok\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(FilterCommandTest, CheckAcceptsEmptyFilter) {
  EXPECT_EQ(RunFilterCheck("", out_, err_), 0);
  EXPECT_EQ(out_.str(), "ok\n");
}

TEST_F(FilterCommandTest, CheckPointsCaretAtErrorColumn) {
  EXPECT_EQ(RunFilterCheck("(and (eq \"action\" \"opened\")\n     (eqq \"number\" 7))", out_, err_),
            1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "error: 2:7: unknown operator \"eqq\"\n"
            "     (eqq \"number\" 7))\n"
            "      ^\n");
}

TEST_F(FilterCommandTest, CaretKeepsTabsAndCountsCharacters) {
  EXPECT_EQ(RunFilterCheck("(and\t(eq \"é\" 1) (bad))", out_, err_), 1);
  EXPECT_EQ(err_.str(),
            "error: 1:18: unknown operator \"bad\"\n"
            "(and\t(eq \"é\" 1) (bad))\n"
            "    \t            ^\n");
}

TEST_F(FilterCommandTest, CaretAfterEndOfLineForTrailingPositions) {
  EXPECT_EQ(RunFilterCheck("(eq \"a\" \"b", out_, err_), 1);
  EXPECT_EQ(err_.str(),
            "error: 1:9: unterminated string\n"
            "(eq \"a\" \"b\n"
            "        ^\n");
}

TEST_F(FilterCommandTest, EvalPrintsTrueOrFalse) {
  std::string path = WritePayload("p.json", R"({"action": "opened", "n": 3})");
  EXPECT_EQ(RunFilterEval(R"((eq "action" "opened"))", path, false, out_, err_), 0);
  EXPECT_EQ(out_.str(), "true\n");
  out_.str("");
  EXPECT_EQ(RunFilterEval(R"((gt "n" 5))", path, false, out_, err_), 0);
  EXPECT_EQ(out_.str(), "false\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(FilterCommandTest, EvalExplainPrintsIndentedJson) {
  std::string path = WritePayload("p.json", R"({"action": "closed"})");
  EXPECT_EQ(RunFilterEval(R"((not (eq "action" "opened")))", path, true, out_, err_), 0);
  EXPECT_EQ(out_.str(),
            "{\n"
            "  \"result\": true,\n"
            "  \"expression\": {\n"
            "    \"op\": \"not\",\n"
            "    \"result\": true,\n"
            "    \"children\": [\n"
            "      {\n"
            "        \"op\": \"eq\",\n"
            "        \"result\": false,\n"
            "        \"field\": \"action\",\n"
            "        \"expected\": \"opened\",\n"
            "        \"found\": \"closed\",\n"
            "        \"line\": 1,\n"
            "        \"column\": 6\n"
            "      }\n"
            "    ],\n"
            "    \"line\": 1,\n"
            "    \"column\": 1\n"
            "  }\n"
            "}\n");
  boost::system::error_code ec;
  boost::json::parse(out_.str(), ec);
  EXPECT_FALSE(ec);
}

TEST_F(FilterCommandTest, EvalOnRealGithubPayload) {
  std::string path =
      testing::SharedPath("payloads/github/pull_request/opened.payload.json").string();
  EXPECT_EQ(RunFilterEval(R"((and (eq "action" "opened") (exists "pull_request.head.ref")))", path,
                          false, out_, err_),
            0);
  EXPECT_EQ(out_.str(), "true\n");
}

TEST_F(FilterCommandTest, EvalRejectsInvalidFilterBeforeReadingPayload) {
  EXPECT_EQ(RunFilterEval("(eq)", (dir_.path() / "absent.json").string(), false, out_, err_), 1);
  EXPECT_EQ(err_.str(), "error: 1:1: eq requires a field and a value\n(eq)\n^\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(FilterCommandTest, EvalFailsOnMissingPayloadFile) {
  std::string path = (dir_.path() / "absent.json").string();
  EXPECT_EQ(RunFilterEval("(exists a)", path, false, out_, err_), 2);
  EXPECT_EQ(err_.str(), "error: cannot read " + path + ": No such file or directory\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(FilterCommandTest, EvalFailsOnInvalidJson) {
  std::string path = WritePayload("bad.json", R"({"action": )");
  EXPECT_EQ(RunFilterEval("(exists a)", path, false, out_, err_), 2);
  EXPECT_NE(err_.str().find("is not valid JSON"), std::string::npos) << err_.str();
  EXPECT_EQ(out_.str(), "");
}

}  // namespace
}  // namespace triggerd::app
