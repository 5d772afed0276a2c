#include <gtest/gtest.h>

#include "ingest/ingest.h"

namespace triggerd::ingest {
namespace {

TEST(RedactHeadersTest, RedactsCredentialsAndTheConfiguredSignatureHeader) {
  Headers in = {{"Authorization", "Bearer x"}, {"X-Hub-Signature-256", "sha256=ab"},
                {"X-Gitlab-Token", "t"},       {"Cookie", "c"},
                {"X-My-Mac", "m"},             {"X-GitHub-Event", "push"}};
  Headers out = RedactHeaders(in, "x-my-mac");
  for (size_t i = 0; i + 1 < out.size(); ++i) EXPECT_EQ(out[i].value, "[redacted]") << out[i].name;
  EXPECT_EQ(out.back().value, "push");
}

}  // namespace
}  // namespace triggerd::ingest
