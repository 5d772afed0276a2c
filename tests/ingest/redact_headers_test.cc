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

// Issue 18, item 10: Shopify's signature was stored in clear (and replayed), as were
// secret-like names. Every preset's credential headers, and the documented name parts.
TEST(RedactHeadersTest, RedactsEveryPresetsCredentialHeadersAndSecretLikeNames) {
  Headers in = {{"X-Shopify-Hmac-Sha256", "sig"}, {"x-password", "hunter2"},
                {"X_API_KEY", "k"},               {"X-Session-Id", "s"},
                {"svix-signature", "v1,x"},       {"X-Signature-Ed25519", "ab"},
                {"X-Shopify-Topic", "orders/create"}, {"webhook-id", "msg_1"},
                {"X-Slack-Request-Timestamp", "1"}};
  Headers out = RedactHeaders(in, "");
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(out[i].value, "[redacted]") << out[i].name;
  for (size_t i = 6; i < out.size(); ++i) EXPECT_EQ(out[i].value, in[i].value) << out[i].name;
}

}  // namespace
}  // namespace triggerd::ingest
