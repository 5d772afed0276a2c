// Surface 2 of docs/COMPATIBILITY.md, the agent webhook endpoints, replayed as a client of the
// agent framework sends them (issue 20): POST /agents/{agent_id}/webhook from a server whose
// address is the webhook's event_source (no Origin header: servers send none), the answer's
// fields one by one (workflow_id among them), the registration info an external system reads
// with GET, and the event_source values the configuration refuses.
#include "api_e2e_fixture.h"
#include "common/crypto.h"

namespace triggerd::e2e {
namespace {

class AgentWebhooksE2eTest : public ApiE2eTest {
 protected:
  void SetUp() override {
    ApiE2eTest::SetUp();
    agent_ = Str(ParkedAgent("", 100), "id");
    ASSERT_FALSE(agent_.empty());
    path_ = "/agents/" + agent_ + "/webhook";
    management_ = "/api/v1/agents/" + agent_ + "/webhook";
  }

  // The request a server-side client sends: JSON, no Origin, no Referer.
  HttpResult Post(const std::string& body, Headers extra = {}) {
    Headers headers = {{"Content-Type", "application/json"}};
    for (auto& h : extra) headers.push_back(std::move(h));
    return client_->Send("POST", path_, body, headers);
  }

  std::string agent_, path_, management_;
};

// The seed: "the origin is the Origin header or the client IP". With event_source 127.0.0.1, a
// POST from 127.0.0.1 without Origin starts the run; the answer carries workflow_id next to
// triggerd's own fields, field by field.
TEST_F(AgentWebhooksE2eTest, EventSourceAddressAdmitsAServerPostingWithoutOrigin) {
  json::object config =
      Expect(201, Api("PUT", management_, json::object{{"event_source", "127.0.0.1"}}));
  EXPECT_EQ(Str(config, "event_source"), "127.0.0.1");

  const std::string body = R"({"event":"ticket.created","ticket":{"id":42}})";
  HttpResult r = Post(body);
  ASSERT_EQ(r.status, 200) << r.body;
  json::object answer = ParseObject(r.body);
  EXPECT_EQ(answer.size(), 6u) << r.body;
  EXPECT_EQ(Str(answer, "status"), "accepted");
  EXPECT_EQ(Str(answer, "agent_id"), agent_);
  const std::string workflow_id = Str(answer, "workflow_id");
  EXPECT_EQ(workflow_id.rfind("run_", 0), 0u) << r.body;
  EXPECT_EQ(Str(answer, "run_id"), workflow_id);
  EXPECT_EQ(Str(answer, "event_id").rfind("evt_", 0), 0u) << r.body;
  EXPECT_EQ(Str(answer, "message"), "the agent run was queued");
  // The workflow is the run of the agent, with the event's body.
  json::object run = GetJson("/api/v1/runs/" + workflow_id);
  EXPECT_EQ(Str(run, "agent_id"), agent_);
  EXPECT_EQ(Str(run, "event_id"), Str(answer, "event_id"));
  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  EXPECT_EQ(Str(event, "event_type"), "agent.webhook");

  // The address decides whatever Origin a non-browser client puts in.
  EXPECT_EQ(Post("{}", {{"Origin", "https://elsewhere.example.net"}}).status, 200);
  // So does the registration info, read by the same server.
  EXPECT_EQ(client_->Send("GET", path_).status, 200);

  // Another address as event_source: 127.0.0.1 is not it, with or without an Origin.
  ASSERT_EQ(Api("PUT", management_, json::object{{"event_source", "10.9.8.7"}}).status, 200);
  HttpResult refused = Post("{}");
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Str(ErrorOf(refused), "type"), "source_not_allowed");
  EXPECT_EQ(Post("{}", {{"Origin", "http://127.0.0.1"}}).status, 403);
  ASSERT_EQ(Api("PUT", management_, json::object{{"event_source", "::1"}}).status, 200);
  EXPECT_EQ(Post("{}").status, 403);
  // An origin URL naming this address works as the address itself.
  ASSERT_EQ(
      Api("PUT", management_, json::object{{"event_source", "http://127.0.0.1:8080"}}).status,
      200);
  EXPECT_EQ(Post("{}").status, 200);
}

// allowed_ips holding the caller's address admits it without Origin; an event_source address
// widens such a list by exactly that address, never by a header.
TEST_F(AgentWebhooksE2eTest, AllowedIpsAdmitTheirAddressesAndEventSourceAddsOnlyItsOwn) {
  ASSERT_EQ(Api("PUT", management_,
                json::object{{"allowed_ips", json::array{"127.0.0.0/8"}}, {"event_source", ""}})
                .status,
            201);
  EXPECT_EQ(Post("{}").status, 200);
  ASSERT_EQ(Api("PUT", management_,
                json::object{{"allowed_ips", json::array{"10.0.0.0/8"}},
                             {"event_source", "127.0.0.1"}})
                .status,
            200);
  EXPECT_EQ(Post("{}").status, 200);
  ASSERT_EQ(Api("PUT", management_,
                json::object{{"allowed_ips", json::array{"10.0.0.0/8"}},
                             {"event_source", "app.example.com"}})
                .status,
            200);
  EXPECT_EQ(Post("{}", {{"Origin", "https://app.example.com"}}).status, 403);
}

// "An event_source that is neither an origin URL nor a host name is refused when configured."
TEST_F(AgentWebhooksE2eTest, EventSourceThatIsNeitherAnOriginNorAHostIsRefusedWith400) {
  for (const char* bad :
       {"not a host", "app..example.com", "-app.example.com", "app-.example.com", "https://",
        "https://app.example.com/settings", "https://user@app.example.com", "ftp://example.com",
        "app.example.com:8443", "*.example.com", "http://app.example.com?x=1"}) {
    HttpResult r = Api("PUT", management_, json::object{{"event_source", bad}});
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    json::object error = ErrorOf(r);
    EXPECT_EQ(Str(error, "field"), "event_source") << bad;
    EXPECT_EQ(Str(error, "type"), "invalid_request") << bad;
  }
  // Nothing was stored by the refusals.
  EXPECT_EQ(Api("GET", management_).status, 404);
  for (const char* good : {"https://app.example.com", "http://localhost:3000",
                           "https://app.example.com/", "app.example.com", "localhost",
                           "127.0.0.1", "::1", ""}) {
    HttpResult r = Api("PUT", management_, json::object{{"event_source", good}});
    EXPECT_TRUE(r.status == 200 || r.status == 201) << good << ": " << r.body;
    EXPECT_EQ(Str(ParseObject(r.body), "event_source"), good);
  }
}

// GET /agents/{agent_id}/webhook: what an external system needs to register the webhook (URL,
// method, content type, how to sign), and never the secret; the documented signed request then
// goes through.
TEST_F(AgentWebhooksE2eTest, RegistrationInfoTellsHowToCallAndSignWithoutTheSecret) {
  const std::string secret = "whsec-registration-0123456789";
  ASSERT_EQ(Api("PUT", management_,
                json::object{{"secret", secret}, {"description", "Zendesk tickets"}})
                .status,
            201);
  HttpResult r = client_->Send("GET", path_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(secret), std::string::npos);
  json::object info = ParseObject(r.body);
  EXPECT_EQ(Str(info, "agent_id"), agent_);
  EXPECT_EQ(Str(info, "url"), "http://127.0.0.1:" + std::to_string(process_->port()) + path_);
  EXPECT_EQ(Str(info, "method"), "POST");
  EXPECT_EQ(Str(info, "content_type"), "application/json");
  EXPECT_EQ(info.at("enabled"), json::value(true));
  EXPECT_EQ(info.at("secret_required"), json::value(true));
  EXPECT_EQ(Str(info, "signature_header"), "X-Webhook-Signature");
  EXPECT_EQ(Str(info, "signature_format"), "sha256=<hex HMAC-SHA256 of the raw body>");
  EXPECT_EQ(Str(info, "description"), "Zendesk tickets");

  // The request as the info describes it.
  const std::string body = R"({"ticket":{"id":7}})";
  const std::string signature =
      "sha256=" + crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, secret, body));
  HttpResult posted = Post(body, {{Str(info, "signature_header"), signature}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  json::object answer = ParseObject(posted.body);
  EXPECT_EQ(Str(answer, "workflow_id"), Str(answer, "run_id"));
  // The stored event keeps the signature header redacted.
  json::object event = GetJson("/api/v1/events/" + Str(answer, "event_id"));
  EXPECT_EQ(json::serialize(event).find(signature), std::string::npos);
}

}  // namespace
}  // namespace triggerd::e2e
