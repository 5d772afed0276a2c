// The pipeline without a socket, against a real SQLite store in a temp dir.
#include "ingest/ingest.h"

#include <gtest/gtest.h>

#include <future>

#include "common/crypto.h"
#include "test_util.h"

namespace triggerd::ingest {
namespace {

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::OpenSqliteStore({(dir_.path() / "t.db").string()});
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(store.value());
    ASSERT_OK(store_->CreateWorkspace({"ws_a", "a", 1}));
    source_.id = "src_a";
    source_.workspace_id = "ws_a";
    source_.name = "a";
    source_.url_secret = "urlsecret";
    source_.auth_json = R"({"hmac":{"header":"X-Sig"}})";
    source_.signing_secret = "k";
    ASSERT_OK(store_->CreateSource(source_));
    ingestor_ = std::make_unique<Ingestor>(store_.get(), &clock_, Options{});
    ASSERT_OK(ingestor_->Reload());
  }

  Result<Admission> Admit(std::string_view method = "POST",
                          std::optional<uint64_t> length = 10) {
    HeadRequest head;
    head.workspace_id = "ws_a";
    head.source_id = "src_a";
    head.method = method;
    head.headers = &no_headers_;
    head.remote_ip = "127.0.0.1";
    head.content_length = length;
    return ingestor_->Admit(head);
  }

  Result<IngestOutcome> Ingest(std::string body, Headers headers) {
    auto admitted = Admit();
    if (!admitted) return admitted.error();
    std::promise<Result<IngestOutcome>> done;
    ingestor_->Ingest({admitted->source, "POST", "/x", std::move(headers), "127.0.0.1",
                       std::move(body)},
                      [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  Headers Signed(const std::string& body) {
    return {{"Content-Type", "application/json"},
            {"X-Sig", crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, "k", body))}};
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  store::Source source_;
  std::unique_ptr<Ingestor> ingestor_;
  Headers no_headers_;
};

TEST_F(IngestorTest, AdmitsInPipelineOrder) {
  EXPECT_EQ(Admit("GET").error().type(), ErrorType::kMethodNotAllowed);
  EXPECT_EQ(Admit("POST", 2 * 1024 * 1024).error().type(), ErrorType::kPayloadTooLarge);
  auto ok = Admit();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->body_limit, 1024u * 1024u);
  source_.enabled = false;
  ingestor_->Upsert(source_);
  // Disabled is checked after size: an oversized request to a disabled source is still 413.
  EXPECT_EQ(Admit("POST", 2 * 1024 * 1024).error().type(), ErrorType::kPayloadTooLarge);
  EXPECT_EQ(Admit().error().code(), "source_disabled");
  ingestor_->Remove("src_a");
  EXPECT_EQ(Admit().error().type(), ErrorType::kNotFound);
}

// auth.api_key (issue 20): the source's own token passes without a key lookup; a presented API
// key passes only as the store found it (not revoked), of the source's workspace, builder or
// admin. A source without auth.api_key never asks for a lookup.
TEST_F(IngestorTest, ApiKeyBearerPassesOnlyAsTheStoreFoundIt) {
  auto request = [&](std::string bearer, std::optional<PresentedApiKey> key) {
    auto admitted = Admit();
    EXPECT_TRUE(admitted.has_value());
    BodyRequest r{admitted->source, "POST", "/x", {{"Content-Type", "application/json"}},
                  "127.0.0.1", R"({"a":1})", std::move(key)};
    if (!bearer.empty()) r.headers.push_back({"Authorization", "Bearer " + bearer});
    return r;
  };
  auto ingest = [&](BodyRequest r) {
    std::promise<Result<IngestOutcome>> done;
    ingestor_->Ingest(std::move(r), [&](Result<IngestOutcome> o) { done.set_value(std::move(o)); });
    return done.get_future().get();
  };
  // HMAC source without auth.api_key: no lookup, whatever the request carries.
  EXPECT_FALSE(ingestor_->ApiKeyToLookUp(request("tdk_whatever", std::nullopt)).has_value());

  source_.auth_json = R"({"bearer":true,"api_key":true})";
  source_.signing_secret.clear();
  source_.token_hash = crypto::SecretHash("tdt_source_token");
  ingestor_->Upsert(source_);
  EXPECT_FALSE(ingestor_->ApiKeyToLookUp(request("tdt_source_token", std::nullopt)).has_value());
  EXPECT_FALSE(ingestor_->ApiKeyToLookUp(request("", std::nullopt)).has_value());
  EXPECT_EQ(ingestor_->ApiKeyToLookUp(request("tdk_key", std::nullopt)).value_or(""), "tdk_key");

  auto by_token = ingest(request("tdt_source_token", std::nullopt));
  ASSERT_TRUE(by_token.has_value()) << by_token.error().ToString();
  auto stored = store_->GetEvent("ws_a", by_token->event_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->verification, "bearer");

  auto key = [](Status lookup, std::string workspace, store::Role role) {
    return PresentedApiKey{std::move(lookup), std::move(workspace), role};
  };
  EXPECT_EQ(ingest(request("tdk_key", std::nullopt)).error().code(), "invalid_token");
  EXPECT_EQ(ingest(request("tdk_key", key(Status::NotFound("revoked"), "", store::Role::kAdmin)))
                .error()
                .code(),
            "invalid_token");
  EXPECT_EQ(ingest(request("tdk_key", key(Status::Ok(), "ws_b", store::Role::kAdmin)))
                .error()
                .code(),
            "invalid_token");
  EXPECT_EQ(ingest(request("tdk_key", key(Status::Ok(), "ws_a", store::Role::kUser)))
                .error()
                .code(),
            "insufficient_role");
  EXPECT_EQ(ingest(request("tdk_key", key(Status::Unavailable("db down"), "", store::Role::kAdmin)))
                .error()
                .type(),
            ErrorType::kUnavailable);
  auto by_key = ingest(request("tdk_key", key(Status::Ok(), "ws_a", store::Role::kBuilder)));
  ASSERT_TRUE(by_key.has_value()) << by_key.error().ToString();
  stored = store_->GetEvent("ws_a", by_key->event_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->verification, "api_key");
  bool redacted = false;
  for (const auto& h : stored->headers) {
    if (h.name == "Authorization") redacted = h.value == "[redacted]";
  }
  EXPECT_TRUE(redacted);
}

// The provider route (POST /v1/webhooks/{provider}) looks no API key up: a source with
// auth.api_key and auth.bearer is chosen there only with its own token, never on its signature
// alone (its cached verifier checks the signature only; the bearer part is CheckBearer's).
TEST_F(IngestorTest, ProviderRouteNeedsTheTokenOfAnApiKeySource) {
  store::Source github = source_;
  github.id = "src_gh";
  github.kind = "github";
  github.auth_json = R"({"bearer":true,"api_key":true})";
  github.signing_secret = "gh-secret";
  github.token_hash = crypto::SecretHash("tdt_gh_token");
  ASSERT_OK(store_->CreateSource(github));
  ingestor_->Upsert(github);
  const std::string body = R"({"action":"opened"})";
  auto post = [&](std::string bearer) {
    Headers headers = {
        {"Content-Type", "application/json"},
        {"X-GitHub-Event", "issues"},
        {"X-Hub-Signature-256",
         "sha256=" + crypto::HexEncode(
                         crypto::Hmac(crypto::DigestAlgorithm::kSha256, "gh-secret", body))}};
    if (!bearer.empty()) headers.push_back({"Authorization", "Bearer " + bearer});
    std::promise<Result<IngestOutcome>> done;
    ingestor_->IngestForProvider(
        "github", BodyRequest{nullptr, "POST", "/v1/webhooks/github", headers, "127.0.0.1", body},
        [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto unsigned_token = post("");
  ASSERT_FALSE(unsigned_token.has_value());
  EXPECT_EQ(unsigned_token.error().type(), ErrorType::kUnauthenticated);
  EXPECT_FALSE(post("tdk_an_api_key").has_value());
  auto with_token = post("tdt_gh_token");
  ASSERT_TRUE(with_token.has_value()) << with_token.error().ToString();
}

TEST_F(IngestorTest, StoresVerifiedEventAtTheClockTime) {
  std::string body = R"({"a":1})";
  auto outcome = Ingest(body, Signed(body));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->received_at, clock_.NowMicros());
  auto event = store_->GetEvent("ws_a", outcome->event_id);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->body, body);
  EXPECT_EQ(event->verification, "hmac");
  EXPECT_EQ(ingestor_->stats().accepted, 1u);
}

TEST_F(IngestorTest, RefusesBadSignatureAndCountsIt) {
  auto outcome = Ingest(R"({"a":1})", Signed(R"({"a":2})"));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().type(), ErrorType::kUnauthenticated);
  EXPECT_EQ(ingestor_->stats().refused_auth, 1u);
  EXPECT_EQ(ingestor_->stats().accepted, 0u);
}

TEST_F(IngestorTest, DeduplicatesByDeliveryHeader) {
  source_.delivery_id_header = "X-Id";
  ASSERT_OK(store_->UpdateSource(source_));
  ingestor_->Upsert(source_);
  std::string body = R"({"a":1})";
  Headers headers = Signed(body);
  headers.push_back({"x-id", "d-1"});
  auto first = Ingest(body, headers);
  auto second = Ingest(body, headers);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(first->event_id, second->event_id);
  EXPECT_EQ(ingestor_->stats().duplicates, 1u);
}

TEST_F(IngestorTest, UnparsableBodiesAreRefusedAfterAuthentication) {
  auto outcome = Ingest("nope", Signed("nope"));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), "invalid_body");
  Headers xml = Signed("<a/>");
  xml[0].value = "text/xml";
  EXPECT_EQ(Ingest("<a/>", xml).error().type(), ErrorType::kUnsupportedMediaType);
}

}  // namespace
}  // namespace triggerd::ingest
