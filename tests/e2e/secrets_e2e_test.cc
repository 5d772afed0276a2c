// Secrets at rest and in logs, on the real binary (docs/storage.md "Secrets at rest", README
// "Secrets at rest"): after a session that sets up and uses every kind of secret — at debug log
// level, with good and bad webhooks — none of them appears in what the process printed, nor in
// any byte of the database files; and the master key is handled as documented (key file,
// TRIGGERD_MASTER_KEY, wrong or malformed keys refused at start, never passed to command agents).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "common/headers.h"
#include "http_client.h"
#include "recording_target.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd::e2e {
namespace {

namespace json = boost::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::RecordingTarget;
using testing::TempDir;
using testing::TriggerdProcess;

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.as_object();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

std::string HexHmac(const std::string& key, const std::string& body) {
  return crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, key, body));
}

class SecretsE2eTest : public ::testing::Test {
 protected:
  std::filesystem::path DataDir() const { return dir_.path() / "data"; }

  // With command agents through the API (the operator's opt-in, app/config.h): a test runs one.
  void StartProcess(std::vector<std::pair<std::string, std::string>> env = {}) {
    const auto config = dir_.path() / "triggerd.yaml";
    std::ofstream(config) << "api:\n  command_agents: true\n";
    process_ = std::make_unique<TriggerdProcess>(
        DataDir(), std::vector<std::string>{"--log-level", "debug", "--config", config.string()});
    for (auto& [name, value] : env) process_->SetEnv(name, value);
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  // Starts a process expected to refuse to start; returns what it printed.
  std::string FailingStart(std::vector<std::pair<std::string, std::string>> env = {}) {
    TriggerdProcess process(DataDir());
    for (auto& [name, value] : env) process.SetEnv(name, value);
    EXPECT_FALSE(process.Start()) << "started although it should not have";
    return process.error();
  }

  HttpResult Api(const std::string& method, const std::string& path,
                 const json::object& body = {}) {
    Headers headers = {{"Authorization", "Bearer " + admin_}};
    std::string text;
    if (!body.empty()) {
      text = json::serialize(body);
      headers.push_back({"Content-Type", "application/json"});
    }
    return client_->Send(method, path, text, headers);
  }
  json::object Expect(int status, const HttpResult& r) {
    EXPECT_EQ(r.status, status) << r.body;
    return Parse(r.body);
  }

  // Polls the run until it has finished (or 15 s pass).
  json::object WaitForFinishedRun(const std::string& run_id) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    json::object run;
    while (std::chrono::steady_clock::now() < deadline) {
      run = Parse(Api("GET", "/api/v1/runs/" + run_id).body);
      const std::string status = Str(run, "status");
      if (status == "succeeded" || status == "failed" || status == "dead") return run;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "run " << run_id << " did not finish: " << json::serialize(run);
    return run;
  }

  // Every byte of the SQLite files in the data dir.
  std::string DatabaseBytes() const {
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(DataDir())) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("triggerd.db", 0) == 0) bytes += testing::ReadFileOrDie(entry.path());
    }
    return bytes;
  }

  void ExpectNowhere(const std::vector<std::string>& secrets, const std::string& where,
                     const std::string& bytes) {
    ASSERT_FALSE(bytes.empty()) << where;
    for (const std::string& secret : secrets) {
      ASSERT_FALSE(secret.empty());
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "\"" << secret << "\" is in " << where;
    }
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(SecretsE2eTest, NoSecretInTheLogsOrTheDatabaseFiles) {
  RecordingTarget agent_endpoint(
      [](const auto&, const auto&) { return RecordingTarget::Reply(200, R"({"ok":true})"); });
  ASSERT_NO_FATAL_FAILURE(StartProcess());
  // The first start made a key file, 0600.
  struct stat st {};
  ASSERT_EQ(::stat((DataDir() / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string master_key_text = testing::ReadFileOrDie(DataDir() / "master.key");
  const std::string master_key_b64 = master_key_text.substr(0, master_key_text.find('\n'));

  // A source that wants a bearer token and an HMAC signature, with a secret of ours.
  const std::string source_secret = "SRCsigningSECRETforE2E0123456789";
  json::object source =
      Expect(201, Api("POST", "/api/v1/sources",
                      {{"name", "signed"},
                       {"secret", source_secret},
                       {"auth", {{"bearer", true}, {"hmac", {{"header", "X-Sig"}}}}}}));
  const std::string token = Str(source, "token");
  ASSERT_FALSE(token.empty()) << json::serialize(source);
  const std::string url = Str(source, "url");
  const std::string path = url.substr(url.find("/api/v1/w/"));
  const std::string url_secret = path.substr(path.rfind('/') + 1);
  const std::string path_without_secret = path.substr(0, path.rfind('/'));
  // An open source, protected by its URL secret alone.
  json::object open_source = Expect(201, Api("POST", "/api/v1/sources", {{"name", "open"}}));
  const std::string open_url = Str(open_source, "url");
  const std::string open_path = open_url.substr(open_url.find("/api/v1/w/"));
  const std::string open_url_secret = open_path.substr(open_path.rfind('/') + 1);

  // An http agent whose target carries a credential, with its whsec_ secret.
  const std::string agent_credential = "AGENTbearerCREDENTIALforE2E9876";
  const std::string agent_query_key = "AGENTqueryKEYforE2E5432";
  json::object agent =
      Expect(201, Api("POST", "/api/v1/agents",
                      {{"name", "agent"},
                       {"target",
                        {{"type", "http"},
                         {"url", agent_endpoint.Url("/hook?key=" + agent_query_key)},
                         {"headers", {{"Authorization", "Bearer " + agent_credential}}}}}}));
  const std::string agent_secret = Str(agent, "signing_secret");
  ASSERT_EQ(agent_secret.rfind("whsec_", 0), 0u) << json::serialize(agent);
  // The credential is write-only: no answer shows it, and a target read from the API and sent
  // back unchanged keeps it (the delivery below carries it).
  const std::string agent_path = "/api/v1/agents/" + Str(agent, "id");
  json::object shown = Expect(200, Api("GET", agent_path));
  EXPECT_EQ(Str(shown["target"].as_object()["headers"].as_object(), "Authorization"),
            "[redacted]");
  EXPECT_EQ(Str(shown["target"].as_object(), "url"), agent_endpoint.Url("/hook?key=redacted"));
  Expect(200, Api("PATCH", agent_path, {{"target", shown["target"]}}));
  for (const std::string& answer : {json::serialize(agent), json::serialize(shown),
                                    Api("GET", "/api/v1/agents").body}) {
    EXPECT_EQ(answer.find(agent_credential), std::string::npos) << answer;
    EXPECT_EQ(answer.find(agent_query_key), std::string::npos) << answer;
  }
  Expect(201, Api("POST", "/api/v1/triggers",
                  {{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}}));
  // The agent's public webhook, signed with a secret of ours.
  const std::string webhook_secret = "AGENTwebhookHMACsecretE2E";
  Expect(201, Api("PUT", "/api/v1/agents/" + Str(agent, "id") + "/webhook",
                  {{"secret", webhook_secret}}));

  // Webhooks: a good one, then every way of getting the credentials wrong.
  const std::string body = R"({"action":"opened"})";
  const std::string signature = HexHmac(source_secret, body);
  auto send = [&](const std::string& target, const std::string& bearer, const std::string& sig) {
    Headers headers = {{"Content-Type", "application/json"}};
    if (!bearer.empty()) headers.push_back({"Authorization", "Bearer " + bearer});
    if (!sig.empty()) headers.push_back({"X-Sig", sig});
    return client_->Send("POST", target, body, headers);
  };
  HttpResult good = send(path_without_secret, token, signature);
  ASSERT_EQ(good.status, 200) << good.body;
  const std::string wrong_token = "tdt_WRONGtokenSENTbyE2Etest0123456789abcd";
  const std::string wrong_signature = HexHmac("WRONGsecretE2E", body);
  EXPECT_EQ(send(path_without_secret, wrong_token, signature).status, 401);
  EXPECT_EQ(send(path_without_secret, token, wrong_signature).status, 401);
  EXPECT_EQ(send(path_without_secret, "", signature).status, 401);
  // The URL-secret routes: right and wrong secrets.
  EXPECT_EQ(send(path, token, signature).status, 200);
  EXPECT_EQ(send(open_path, "", "").status, 200);
  const std::string wrong_url_secret = "WRONGurlSECRETsentByE2Etest01234";
  EXPECT_EQ(send(open_path.substr(0, open_path.rfind('/') + 1) + wrong_url_secret, "", "").status,
            404);
  // The agent's public webhook: good and bad signatures.
  const std::string webhook_path = "/agents/" + Str(agent, "id") + "/webhook";
  const std::string webhook_signature = "sha256=" + HexHmac(webhook_secret, body);
  HttpResult webhook_good = client_->Send(
      "POST", webhook_path, body,
      {{"Content-Type", "application/json"}, {"X-Webhook-Signature", webhook_signature}});
  EXPECT_EQ(webhook_good.status / 100, 2) << webhook_good.body;
  const std::string webhook_wrong_signature = "sha256=" + HexHmac("WRONGwebhookSECRET", body);
  EXPECT_EQ(client_
                ->Send("POST", webhook_path, body,
                       {{"Content-Type", "application/json"},
                        {"X-Webhook-Signature", webhook_wrong_signature}})
                .status,
            401);

  // The secrets work after their round trip through the database: the agent got the
  // configured credential and a Standard Webhooks signature under its whsec_ secret.
  json::object ingested = Parse(good.body);
  ASSERT_EQ(ingested["runs"].as_array().size(), 1u) << good.body;
  const std::string run_id = Str(ingested["runs"].as_array()[0].as_object(), "run_id");
  EXPECT_EQ(Str(WaitForFinishedRun(run_id), "status"), "succeeded");
  bool delivered = false;
  for (const auto& request : agent_endpoint.requests()) {
    if (request.path != "/hook" || request.body.find(run_id) == std::string::npos) continue;
    delivered = true;
    EXPECT_EQ(*FindHeader(request.headers, "Authorization"), "Bearer " + agent_credential);
    EXPECT_EQ(request.target, "/hook?key=" + agent_query_key);
    const std::string timestamp(*FindHeader(request.headers, "webhook-timestamp"));
    const std::string expected = "v1," + crypto::Base64Encode(crypto::Hmac(
                                             crypto::DigestAlgorithm::kSha256,
                                             crypto::Base64Decode(agent_secret.substr(6)).value(),
                                             run_id + "." + timestamp + "." + request.body));
    EXPECT_EQ(*FindHeader(request.headers, "webhook-signature"), expected);
  }
  EXPECT_TRUE(delivered);

  const std::vector<std::string> secrets = {source_secret,
                                            token,
                                            url_secret,
                                            open_url_secret,
                                            agent_credential,
                                            agent_query_key,
                                            agent_secret,
                                            agent_secret.substr(6),
                                            webhook_secret,
                                            signature,
                                            wrong_token,
                                            wrong_signature,
                                            wrong_url_secret,
                                            webhook_signature.substr(7),
                                            webhook_wrong_signature.substr(7),
                                            master_key_b64};
  // The admin key too, in the files (stored as a hash). Not in the output: the first start
  // prints it once, on purpose (README "First steps").
  std::vector<std::string> stored_secrets = secrets;
  stored_secrets.push_back(admin_);
  // While it runs (the WAL holds the latest writes), and after a clean stop (checkpointed).
  ExpectNowhere(stored_secrets, "the database files", DatabaseBytes());
  ASSERT_EQ(process_->Stop(), 0);
  ExpectNowhere(stored_secrets, "the database files", DatabaseBytes());
  const std::string output = process_->Output();
  // The refusals were logged (at warn), so what is grepped below includes their lines.
  EXPECT_NE(output.find("refused request"), std::string::npos) << output;
  ExpectNowhere(secrets, "the process output", output);

  // A second start reuses the key: the secrets still open (same URL, same verification).
  ASSERT_NO_FATAL_FAILURE(StartProcess());
  json::object again = Expect(200, Api("GET", "/api/v1/sources/" + Str(source, "id")));
  const std::string again_url = Str(again, "url");
  EXPECT_EQ(again_url.substr(again_url.find("/api/v1/w/")), path);  // the port is new
  EXPECT_EQ(send(path_without_secret, token, signature).status, 200);
  ASSERT_EQ(process_->Stop(), 0);
  ExpectNowhere(stored_secrets, "the process output", process_->Output());  // no bootstrap now
}

TEST_F(SecretsE2eTest, MasterKeyIsChosenCheckedAndKeptFromCommandAgents) {
  ASSERT_NO_FATAL_FAILURE(StartProcess());
  Expect(201, Api("POST", "/api/v1/sources",
                  {{"name", "s"},
                   {"auth", {{"hmac", {{"header", "X-Sig"}}}}},
                   {"secret", "a secret to seal"}}));
  ASSERT_EQ(process_->Stop(), 0);
  const std::filesystem::path key_file = DataDir() / "master.key";
  const std::string key_text = testing::ReadFileOrDie(key_file);
  const std::string key_b64 = key_text.substr(0, key_text.find('\n'));

  // Another key in TRIGGERD_MASTER_KEY takes precedence over the file, and the database refuses
  // it: a clear error naming the key ids, never a server that cannot verify its sources.
  const std::string other_hex(64, 'e');
  std::string refused = FailingStart({{"TRIGGERD_MASTER_KEY", other_hex}});
  EXPECT_NE(refused.find("sealed with master key"), std::string::npos) << refused;
  EXPECT_NE(refused.find("TRIGGERD_MASTER_KEY"), std::string::npos) << refused;
  EXPECT_EQ(refused.find(other_hex), std::string::npos) << "the key was echoed";
  // A malformed key is a start-up error, not a fallback to the file.
  refused = FailingStart({{"TRIGGERD_MASTER_KEY", "not-a-key"}});
  EXPECT_NE(refused.find("TRIGGERD_MASTER_KEY"), std::string::npos) << refused;
  EXPECT_NE(refused.find("64 hex characters or in base64"), std::string::npos) << refused;
  // A key file others may read is refused, saying how to fix it.
  ASSERT_EQ(::chmod(key_file.c_str(), 0644), 0);
  refused = FailingStart();
  EXPECT_NE(refused.find("chmod 600 " + key_file.string()), std::string::npos) << refused;
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);

  // The right key through the environment opens the database, and a command agent, which
  // inherits the server's environment, does not see it.
  ASSERT_NO_FATAL_FAILURE(StartProcess({{"TRIGGERD_MASTER_KEY", key_b64}}));
  json::object source = Expect(201, Api("POST", "/api/v1/sources", {{"name", "open"}}));
  json::object agent =
      Expect(201, Api("POST", "/api/v1/agents",
                      {{"name", "env"},
                       {"target", {{"type", "command"}, {"argv", json::array{"/usr/bin/env"}}}}}));
  Expect(201, Api("POST", "/api/v1/triggers",
                  {{"source_id", Str(source, "id")}, {"agent_id", Str(agent, "id")}}));
  const std::string url = Str(source, "url");
  HttpResult ingested = client_->Send("POST", url.substr(url.find("/api/v1/w/")), "{}",
                                      {{"Content-Type", "application/json"}});
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  const std::string run_id = Str(Parse(ingested.body)["runs"].as_array()[0].as_object(), "run_id");
  json::object run = WaitForFinishedRun(run_id);
  ASSERT_EQ(Str(run, "status"), "succeeded") << json::serialize(run);
  const std::string messages = json::serialize(run);
  EXPECT_NE(messages.find("TRIGGER_RUN_ID"), std::string::npos) << "not env's output?" << messages;
  EXPECT_EQ(messages.find("TRIGGERD_MASTER_KEY"), std::string::npos) << messages;
  EXPECT_EQ(messages.find(key_b64), std::string::npos);
  ASSERT_EQ(process_->Stop(), 0);
  EXPECT_EQ(process_->Output().find(key_b64), std::string::npos);
}

}  // namespace
}  // namespace triggerd::e2e
