// Provider handshakes: recognised exactly, answered as the provider expects, and never
// confused with an ordinary event.
#include <boost/json.hpp>
#include <string>

#include "test_util.h"
#include "verify/catalog.h"

namespace triggerd::verify {
namespace {

boost::json::value J(std::string_view text) { return boost::json::parse(text); }

std::optional<HandshakeReply> Detect(std::string_view kind, std::string_view body) {
  return DetectHandshake(kind, Headers{}, J(body));
}

TEST(HandshakeTest, SlackUrlVerificationEchoesTheChallenge) {
  auto reply =
      Detect("slack", R"({"token":"t","challenge":"3eZbrw1aB","type":"url_verification"})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->name, "url_verification");
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->content_type, "application/json");
  EXPECT_EQ(J(reply->body), J(R"({"challenge":"3eZbrw1aB"})"));
  // A challenge with characters that need escaping comes back intact.
  reply = Detect("slack", R"({"challenge":"a\"b\\c","type":"url_verification"})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(J(reply->body).as_object().at("challenge").as_string(), "a\"b\\c");
}

TEST(HandshakeTest, SlackEventsAndMalformedVerificationsAreNotHandshakes) {
  EXPECT_FALSE(Detect("slack", R"({"type":"event_callback","event":{"type":"message"}})"));
  EXPECT_FALSE(Detect("slack", R"({"type":"url_verification"})"));
  EXPECT_FALSE(Detect("slack", R"({"type":"url_verification","challenge":7})"));
  EXPECT_FALSE(Detect("slack", R"([{"type":"url_verification","challenge":"x"}])"));
  // Another kind's source does not answer Slack's handshake.
  EXPECT_FALSE(Detect("custom", R"({"type":"url_verification","challenge":"x"})"));
  EXPECT_FALSE(Detect("github", R"({"type":"url_verification","challenge":"x"})"));
}

TEST(HandshakeTest, DiscordPingIsAnsweredWithPong) {
  auto reply =
      Detect("discord", R"({"application_id":"1","id":"2","token":"t","type":1,"version":1})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->name, "ping");
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(J(reply->body), J(R"({"type":1})"));
}

TEST(HandshakeTest, DiscordWebhookEventPingIsAnswered204) {
  auto reply = Detect("discord", R"({"version":1,"application_id":"1","type":0})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 204);
  EXPECT_EQ(reply->body, "");
  EXPECT_EQ(reply->content_type, "");
}

TEST(HandshakeTest, DiscordInteractionsAndWebhookEventsAreNotHandshakes) {
  EXPECT_FALSE(Detect("discord", R"({"type":2,"data":{"name":"deploy"}})"));
  // A webhook event has type 1 too, with its event inside.
  EXPECT_FALSE(
      Detect("discord", R"({"version":1,"type":1,"event":{"type":"APPLICATION_AUTHORIZED"}})"));
  EXPECT_FALSE(Detect("discord", R"({"type":"1"})"));
  EXPECT_FALSE(Detect("discord", R"({"type":1.0})"));
  EXPECT_FALSE(Detect("discord", R"({})"));
}

TEST(HandshakeTest, NotionVerificationTokenIsAcknowledgedAndHandedOver) {
  auto reply = Detect("notion", R"({"verification_token":"secret_tMrlL1qK5vu"})");
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->name, "verification_token");
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "{}");
  EXPECT_EQ(reply->verification_token, "secret_tMrlL1qK5vu");
  EXPECT_FALSE(Detect("notion", R"({"type":"page.created","verification_token":"x"})"));
  EXPECT_FALSE(Detect("notion", R"({"verification_token":5})"));
}

// The catalog's handshake samples are recognised, and none of its event samples is: an event
// must never be answered as a handshake and dropped.
TEST(HandshakeTest, CatalogHandshakesAreDetectedAndCatalogEventsAreNot) {
  for (const auto& provider : Catalog()) {
    if (provider.handshake != nullptr) {
      auto reply = Detect(provider.kind, provider.handshake->sample);
      ASSERT_TRUE(reply.has_value()) << provider.kind;
      EXPECT_EQ(reply->name, provider.handshake->name) << provider.kind;
    }
    for (const auto& e : provider.event_types) {
      EXPECT_FALSE(Detect(provider.kind, e.sample)) << provider.kind << " " << e.name;
    }
  }
}

}  // namespace
}  // namespace triggerd::verify
