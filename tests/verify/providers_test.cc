#include <set>
#include <string>

#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

TEST(ProviderInfoTest, FindsEveryListedKindAndNothingElse) {
  for (const auto& p : kProviders) EXPECT_EQ(FindProvider(p.kind), &p) << p.kind;
  EXPECT_EQ(FindProvider("GitHub"), nullptr);
  EXPECT_EQ(FindProvider(""), nullptr);
  EXPECT_EQ(FindProvider("svix"), nullptr);
}

TEST(ProviderInfoTest, KindsAreUniqueAndCustomComesFirst) {
  std::set<std::string_view> kinds;
  for (const auto& p : kProviders) EXPECT_TRUE(kinds.insert(p.kind).second) << p.kind;
  EXPECT_EQ(kProviders[0].kind, "custom");
  EXPECT_EQ(kinds.size(), 20u);
}

TEST(ProviderInfoTest, NamesWhereGithubStripeAndStandardWebhooksPutEventAndDelivery) {
  const ProviderInfo* github = FindProvider("github");
  ASSERT_NE(github, nullptr);
  EXPECT_EQ(github->event_type.source, FieldSource::kHeader);
  EXPECT_EQ(github->event_type.name, "X-GitHub-Event");
  EXPECT_EQ(github->delivery_id.name, "X-GitHub-Delivery");
  const ProviderInfo* stripe = FindProvider("stripe");
  ASSERT_NE(stripe, nullptr);
  EXPECT_EQ(stripe->event_type.source, FieldSource::kBodyField);
  EXPECT_EQ(stripe->event_type.name, "type");
  EXPECT_EQ(stripe->delivery_id.name, "id");
  const ProviderInfo* sw = FindProvider("standard-webhooks");
  ASSERT_NE(sw, nullptr);
  EXPECT_EQ(sw->delivery_id.name, "webhook-id");
  EXPECT_EQ(sw->delivery_id.alt_name, "svix-id");
}

// Every kind in the data table has a verifier and a signer behind it.
TEST(ProviderInfoTest, EveryKindHasAVerifier) {
  for (const auto& p : kProviders) {
    auto verifier = MakeVerifier(p.kind, {}, {});
    if (!verifier) {
      // Only a missing secret may stop it, never an unknown kind.
      EXPECT_EQ(verifier.error().message().find("unknown"), std::string::npos)
          << p.kind << ": " << verifier.error().ToString();
    }
  }
  EXPECT_NE(MakeVerifier("nope", {}, {}).error().message().find("unknown"), std::string::npos);
}

TEST(ProviderInfoTest, DiscordAndStandardWebhooksRefuseMalformedKeys) {
  Secrets secrets;
  secrets.signing = {"not-hex"};
  EXPECT_EQ(MakeVerifier("discord", {}, secrets).error().type(), ErrorType::kInvalidArgument);
  secrets.signing = {"whsec_!!!"};
  EXPECT_EQ(MakeVerifier("standard-webhooks", {}, secrets).error().type(),
            ErrorType::kInvalidArgument);
  secrets.signing = {"whsk_" + std::string(44, 'A')};
  EXPECT_EQ(MakeVerifier("standard-webhooks", {}, secrets).error().type(),
            ErrorType::kInvalidArgument);
}

}  // namespace
}  // namespace triggerd::verify
