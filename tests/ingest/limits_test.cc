// Rate limits (token buckets per source and per workspace, 429), backpressure (503) and
// provider handshakes of the ingest pipeline, against a real SQLite store, with a manual clock.
#include <gtest/gtest.h>

#include <future>

#include "ingest/ingest.h"
#include "test_util.h"

namespace triggerd::ingest {
namespace {

class IngestLimitsTest : public ::testing::Test {
 protected:
  void Start(Options options) {
    auto store = store::OpenSqliteStore({(dir_.path() / "t.db").string()});
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(store.value());
    ASSERT_OK(store_->CreateWorkspace({"ws_a", "a", 1}));
    ASSERT_OK(store_->CreateWorkspace({"ws_b", "b", 1}));
    for (auto [id, ws] : {std::pair{"src_1", "ws_a"}, {"src_2", "ws_a"}, {"src_3", "ws_b"}}) {
      store::Source source;
      source.id = id;
      source.workspace_id = ws;
      source.name = id;
      source.url_secret = "secret";
      source.allowed_ips = {"10.0.0.0/8"};
      ASSERT_OK(store_->CreateSource(source));
    }
    ingestor_ = std::make_unique<Ingestor>(store_.get(), &clock_, std::move(options));
    ASSERT_OK(ingestor_->Reload());
  }

  Result<Admission> Admit(std::string_view source, std::string_view ip = "10.1.2.3",
                          bool charge = true) {
    HeadRequest head;
    head.workspace_id = source == "src_3" ? "ws_b" : "ws_a";
    head.source_id = source;
    head.url_secret = "secret";
    head.method = "POST";
    head.headers = &no_headers_;
    head.remote_ip = ip;
    head.content_length = 2;
    head.charge_rate_limits = charge;
    return ingestor_->Admit(head);
  }

  static ErrorType TypeOf(const Result<Admission>& r) {
    return r ? ErrorType::kOk : r.error().type();
  }

  testing::TempDir dir_;
  ManualClock clock_{1'700'000'000'000'000};
  Headers no_headers_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(IngestLimitsTest, PerSourceBucketAllowsItsBurstThenRefillsAtItsRate) {
  Options options;
  options.per_source = {2, 3};  // 2/s, bursts of 3
  options.per_workspace = {};
  ASSERT_NO_FATAL_FAILURE(Start(options));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kOk) << i;
  Result<Admission> refused = Admit("src_1");
  ASSERT_EQ(TypeOf(refused), ErrorType::kRateLimited);
  EXPECT_EQ(refused.error().code(), "rate_limited");
  // Another source has a bucket of its own.
  EXPECT_EQ(TypeOf(Admit("src_2")), ErrorType::kOk);
  // Half a second earns one request at 2/s.
  clock_.Advance(500'000);
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kOk);
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kRateLimited);
  // The second admission of a request, with its body, is not charged again.
  EXPECT_EQ(TypeOf(Admit("src_1", "10.1.2.3", /*charge=*/false)), ErrorType::kOk);
  // A long pause refills to the burst, not beyond it.
  clock_.Advance(3'600'000'000);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kOk) << i;
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kRateLimited);
  EXPECT_EQ(ingestor_->rate_limited_retry_after_seconds(), 1);
  EXPECT_EQ(ingestor_->stats().rate_limited, 3u);
}

TEST_F(IngestLimitsTest, PerWorkspaceBucketCoversAllItsSourcesAndOnlyThem) {
  Options options;
  options.per_source = {};
  options.per_workspace = {0.1, 2};  // one request per 10 s
  ASSERT_NO_FATAL_FAILURE(Start(options));
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kOk);
  EXPECT_EQ(TypeOf(Admit("src_2")), ErrorType::kOk);
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kRateLimited);
  EXPECT_EQ(TypeOf(Admit("src_2")), ErrorType::kRateLimited);
  EXPECT_EQ(TypeOf(Admit("src_3")), ErrorType::kOk);  // another workspace
  EXPECT_EQ(ingestor_->rate_limited_retry_after_seconds(), 10);
}

TEST_F(IngestLimitsTest, RefusedSendersDoNotDrainTheBuckets) {
  Options options;
  options.per_source = {1, 1};
  ASSERT_NO_FATAL_FAILURE(Start(options));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(TypeOf(Admit("src_1", "192.0.2.1")), ErrorType::kPermissionDenied);  // not allowed
  }
  EXPECT_EQ(TypeOf(Admit("src_1")), ErrorType::kOk);
}

TEST_F(IngestLimitsTest, ABodyBeyondThePendingBudgetIsRefusedWith503) {
  Options options;
  options.max_pending_bytes = 64;
  ASSERT_NO_FATAL_FAILURE(Start(options));
  auto admitted = Admit("src_1");
  ASSERT_TRUE(admitted.has_value());
  auto ingest = [&](std::string body) {
    std::promise<Result<IngestOutcome>> done;
    ingestor_->Ingest({admitted->source, "POST", "/x", {{"Content-Type", "application/json"}},
                       "10.1.2.3", std::move(body)},
                      [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto refused = ingest(R"({"padding":")" + std::string(100, 'x') + R"("})");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type(), ErrorType::kUnavailable);
  EXPECT_EQ(refused.error().code(), "overloaded");
  // The budget was given back: a small body still goes through, and so does the next.
  EXPECT_TRUE(ingest(R"({"a":1})").has_value());
  EXPECT_TRUE(ingest(R"({"a":2})").has_value());
  EXPECT_EQ(ingestor_->stats().overloaded, 1u);
}

}  // namespace
}  // namespace triggerd::ingest

namespace triggerd::ingest {
namespace {

// A provider's signed handshake is answered as the provider expects and leaves no event.
TEST(IngestHandshakeTest, SlackUrlVerificationIsAnsweredAndNotStored) {
  testing::TempDir dir;
  auto opened = store::OpenSqliteStore({(dir.path() / "t.db").string()});
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  auto store = std::move(opened).value();
  ASSERT_OK(store->CreateWorkspace({"ws_a", "a", 1}));
  store::Source source;
  source.id = "src_slack";
  source.workspace_id = "ws_a";
  source.name = "slack";
  source.kind = "slack";
  source.url_secret = "s";
  source.signing_secret = "8f742231b10e8888abcd99yyyzzz85a5";
  ASSERT_OK(store->CreateSource(source));
  ManualClock clock(1'700'000'000'000'000);
  Ingestor ingestor(store.get(), &clock, Options{});
  ASSERT_OK(ingestor.Reload());

  auto send = [&](const std::string& body) {
    auto settings = verify::ParseAuthSettingsJson("slack", source.auth_json);
    EXPECT_TRUE(settings.has_value());
    verify::SignRequest request;
    request.body = body;
    request.now_unix = clock.NowUnixSeconds();
    auto headers = verify::Sign("slack", *settings, source.signing_secret, request);
    EXPECT_TRUE(headers.has_value());
    headers->push_back({"Content-Type", "application/json"});
    HeadRequest head;
    head.workspace_id = "ws_a";
    head.source_id = "src_slack";
    head.url_secret = "s";
    head.method = "POST";
    head.headers = &*headers;
    head.remote_ip = "127.0.0.1";
    auto admitted = ingestor.Admit(head);
    EXPECT_TRUE(admitted.has_value());
    std::promise<Result<IngestOutcome>> done;
    ingestor.Ingest({admitted->source, "POST", "/x", *headers, "127.0.0.1", body},
                    [&](Result<IngestOutcome> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  };
  auto handshake = send(R"({"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd",)"
                        R"("type":"url_verification"})");
  ASSERT_TRUE(handshake.has_value()) << handshake.error().ToString();
  ASSERT_TRUE(handshake->handshake.has_value());
  EXPECT_EQ(handshake->handshake->status, 200);
  EXPECT_EQ(handshake->handshake->body,
            R"({"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd"})");
  EXPECT_TRUE(handshake->event_id.empty());
  // An ordinary event of the same source is stored as usual.
  auto event = send(R"({"type":"event_callback","event":{"type":"message"}})");
  ASSERT_TRUE(event.has_value()) << event.error().ToString();
  EXPECT_FALSE(event->handshake.has_value());
  store::EventQuery query;
  query.workspace_id = "ws_a";
  auto events = store->ListEvents(query);
  ASSERT_TRUE(events.has_value());
  ASSERT_EQ(events->items.size(), 1u);
  EXPECT_EQ(events->items[0].id, event->event_id);
}

}  // namespace
}  // namespace triggerd::ingest
