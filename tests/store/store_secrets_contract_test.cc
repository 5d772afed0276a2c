// Secrets at rest (store/secret_codec.h, docs/storage.md "Secrets at rest") on every backend
// (store_backend.h): sealed columns hold only sealed text, the Store API gives plaintext back, a
// database of an older version is sealed in place at open, and a wrong key or an altered value
// stops the open. That no plaintext is left anywhere in the files (freed cells, the WAL) is
// SQLite's promise (VACUUM at the upgrade); on PostgreSQL the columns are checked instead. Master
// key rotation: a store opened with previous keys re-seals their values under the new key at
// open, in one transaction.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/crypto_sealer.h"
#include "store/store.h"
#include "store_backend.h"
#include "test_util.h"

namespace triggerd::store {
namespace {

using triggerd::testing::kTestMasterKey;

constexpr std::string_view kOtherKey = "another-master-key-32-bytes-long";
static_assert(kOtherKey.size() == 32);

// Distinct, greppable plaintexts.
constexpr char kUrlSecret[] = "URLSECRETplaintext0123456789abcd";
constexpr char kSourceSecret[] = "whsec_SOURCEsigningSECRETplain==";
constexpr char kTriggerConfig[] =
    R"({"url":"https://feed.example","headers":{"X-Api":"POLLCREDplain"}})";
constexpr char kTargetJson[] = R"({"type":"http","url":"https://agent.example/hook",)"
                               R"("headers":{"Authorization":"Bearer AGENTAUTHplain"}})";
constexpr char kAgentSecret[] = "whsec_AGENTsigningSECRETplain===";
constexpr char kWebhookSecret[] = "WEBHOOKhmacSECRETplain";

class StoreSecretsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = testing::RequireBackend(GetParam());
    if (backend_ == nullptr) return;  // skipped (or failed, under CI)
  }

  Result<std::unique_ptr<Store>> Open(std::string_view key,
                                      std::vector<std::string> previous_keys = {}) {
    testing::BackendOptions options;
    options.master_key = std::string(key);
    options.previous_master_keys = std::move(previous_keys);
    return backend_->Open(options);
  }

  // The sealed columns, as table and column.
  static std::vector<std::pair<std::string, std::string>> SealedColumns() {
    return {{"sources", "url_secret"},     {"sources", "signing_secret"},
            {"sources", "trigger_config"}, {"agents", "target_json"},
            {"agents", "signing_secret"},  {"agent_webhooks", "hmac_secret"}};
  }

  // The stored value of each sealed column (Populate writes one row per table).
  std::vector<std::string> StoredValues() {
    std::vector<std::string> values;
    for (const auto& [table, column] : SealedColumns()) {
      values.push_back(raw().Text("SELECT " + column + " FROM " + table + " ORDER BY id"));
    }
    return values;
  }

  // How many values of the sealed columns name `key`'s id.
  int64_t ValuesUnder(std::string_view key) {
    const std::string like = "'enc:v1:" + crypto::Sealer::KeyIdFor(key) + ":%'";
    int64_t n = 0;
    for (const auto& [table, column] : SealedColumns()) {
      n += raw().Int("SELECT count(*) FROM " + table + " WHERE " + column + " LIKE " + like);
    }
    return n;
  }

  // Raw access to the database, as someone holding a copy of it would have.
  testing::StoreBackend& raw() { return *backend_; }

  // SQLite: every byte of the database files (main file and WAL, when there is one).
  // PostgreSQL: every value of the secret columns (the server's files are not ours to read).
  std::string FileBytes() {
    std::string bytes;
    if (backend_->sqlite()) {
      for (const char* suffix : {"", "-wal"}) {
        std::filesystem::path path = backend_->location() + suffix;
        if (std::filesystem::exists(path)) bytes += triggerd::testing::ReadFileOrDie(path);
      }
      return bytes;
    }
    for (const char* sql :
         {"SELECT coalesce(string_agg(url_secret || signing_secret || trigger_config, ''), '') "
          "FROM sources",
          "SELECT coalesce(string_agg(target_json || signing_secret, ''), '') FROM agents",
          "SELECT coalesce(string_agg(hmac_secret, ''), '') FROM agent_webhooks"}) {
      bytes += backend_->Text(sql);
    }
    return bytes.empty() ? std::string("(no secret columns)") : bytes;
  }

  // True when opening created the database (a file, or tables in the schema).
  bool DatabaseCreated() {
    if (backend_->sqlite()) return std::filesystem::exists(backend_->location());
    return backend_->Int("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = current_schema()") > 0;
  }

  // A boolean literal for raw SQL.
  std::string True() const { return backend_->sqlite() ? "1" : "true"; }

  static std::vector<std::string> Plaintexts() {
    return {kUrlSecret,    "POLLCREDplain", "AGENTAUTHplain",
            kSourceSecret, kAgentSecret,    kWebhookSecret};
  }

  static Source MakeSource(const std::string& id) {
    Source s;
    s.id = id;
    s.workspace_id = "ws_1";
    s.name = id;
    s.url_secret = kUrlSecret;
    s.signing_secret = kSourceSecret;
    s.trigger_config_json = kTriggerConfig;
    s.created_at = s.updated_at = 1;
    return s;
  }

  // A workspace, a source, an agent and an agent webhook, each with its secrets.
  void Populate(Store& store) {
    ASSERT_OK(store.CreateWorkspace({"ws_1", "one", 1}));
    ASSERT_OK(store.CreateSource(MakeSource("src_1")));
    Agent agent;
    agent.id = "agt_1";
    agent.workspace_id = "ws_1";
    agent.name = "agent";
    agent.target_json = kTargetJson;
    agent.signing_secret = kAgentSecret;
    ASSERT_OK(store.CreateAgent(agent));
    AgentWebhook webhook;
    webhook.id = "whk_1";
    webhook.workspace_id = "ws_1";
    webhook.agent_id = "agt_1";
    webhook.kind = "agent";
    webhook.hmac_secret = kWebhookSecret;
    ASSERT_OK(store.CreateAgentWebhook(webhook));
  }

  // The Store API answers with the plaintexts.
  void ExpectPlaintexts(Store& store) {
    auto source = store.GetSource("ws_1", "src_1");
    ASSERT_TRUE(source) << source.error().ToString();
    EXPECT_EQ(source->url_secret, kUrlSecret);
    EXPECT_EQ(source->signing_secret, kSourceSecret);
    EXPECT_EQ(source->trigger_config_json, kTriggerConfig);
    auto all = store.ListAllSources();
    ASSERT_TRUE(all) << all.error().ToString();
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].signing_secret, kSourceSecret);
    auto agent = store.GetAgent("ws_1", "agt_1");
    ASSERT_TRUE(agent) << agent.error().ToString();
    EXPECT_EQ(agent->target_json, kTargetJson);
    EXPECT_EQ(agent->signing_secret, kAgentSecret);
    auto agents = store.ListAgents("ws_1");
    ASSERT_TRUE(agents) << agents.error().ToString();
    EXPECT_EQ((*agents)[0].target_json, kTargetJson);
    auto webhook = store.GetAgentWebhook("agt_1", "agent");
    ASSERT_TRUE(webhook) << webhook.error().ToString();
    EXPECT_EQ(webhook->hmac_secret, kWebhookSecret);
    auto webhooks = store.ListAgentWebhooks("ws_1", "agent");
    ASSERT_TRUE(webhooks) << webhooks.error().ToString();
    EXPECT_EQ((*webhooks)[0].hmac_secret, kWebhookSecret);
  }

  void ExpectNoPlaintextInFiles() {
    const std::string bytes = FileBytes();
    ASSERT_FALSE(bytes.empty());
    for (const std::string& secret : Plaintexts()) {
      EXPECT_EQ(bytes.find(secret), std::string::npos) << secret << " is in the database files";
    }
  }

  std::unique_ptr<testing::StoreBackend> backend_;
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreSecretsTest, ::testing::ValuesIn(testing::BackendNames()),
                         testing::BackendParamName);

TEST_P(StoreSecretsTest, SecretColumnsHoldSealedTextAndTheApiPlaintext) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
    ExpectPlaintexts(**store);
    ExpectNoPlaintextInFiles();  // the WAL too: the store is still open
  }
  const std::string key_id = crypto::Sealer::KeyIdFor(kTestMasterKey);
  for (const char* sql :
       {"SELECT url_secret FROM sources", "SELECT signing_secret FROM sources",
        "SELECT trigger_config FROM sources", "SELECT target_json FROM agents",
        "SELECT signing_secret FROM agents", "SELECT hmac_secret FROM agent_webhooks"}) {
    EXPECT_EQ(raw().Text(sql).rfind("enc:v1:" + key_id + ":", 0), 0u) << sql;
  }
  // "none" stays '' (the API tells whether a secret is set anyway).
  raw().Exec("UPDATE sources SET signing_secret = '' WHERE id = 'src_1'");
  auto store = Open(kTestMasterKey);
  ASSERT_TRUE(store) << store.error().ToString();
  EXPECT_EQ((*store)->GetSource("ws_1", "src_1")->signing_secret, "");
  ExpectNoPlaintextInFiles();
}

TEST_P(StoreSecretsTest, UpdatesAreSealedToo) {
  auto store = Open(kTestMasterKey);
  ASSERT_TRUE(store) << store.error().ToString();
  Populate(**store);
  Source source = MakeSource("src_1");
  source.signing_secret = "whsec_ROTATEDsecretPLAIN";
  ASSERT_OK((*store)->UpdateSource(source));
  Agent agent = (*store)->GetAgent("ws_1", "agt_1").value();
  agent.signing_secret = "whsec_ROTATEDagentPLAIN";
  ASSERT_OK((*store)->UpdateAgent(agent));
  AgentWebhook webhook = (*store)->GetAgentWebhook("agt_1", "agent").value();
  webhook.hmac_secret = "ROTATEDwebhookPLAIN";
  ASSERT_OK((*store)->UpdateAgentWebhook(webhook));
  EXPECT_EQ((*store)->GetSource("ws_1", "src_1")->signing_secret, "whsec_ROTATEDsecretPLAIN");
  EXPECT_EQ((*store)->GetAgent("ws_1", "agt_1")->signing_secret, "whsec_ROTATEDagentPLAIN");
  EXPECT_EQ((*store)->GetAgentWebhook("agt_1", "agent")->hmac_secret, "ROTATEDwebhookPLAIN");
  const std::string bytes = FileBytes();
  for (const char* secret :
       {"whsec_ROTATEDsecretPLAIN", "whsec_ROTATEDagentPLAIN", "ROTATEDwebhookPLAIN"}) {
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
}

TEST_P(StoreSecretsTest, WrongKeyOnAnExistingDatabaseIsRefusedAtOpen) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
  }
  auto wrong = Open(kOtherKey);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), crypto::Sealer::kWrongKey);
  // Names the key the database needs and the one in use, never a secret.
  EXPECT_NE(wrong.error().message().find(crypto::Sealer::KeyIdFor(kTestMasterKey)),
            std::string::npos)
      << wrong.error().message();
  EXPECT_NE(wrong.error().message().find(crypto::Sealer::KeyIdFor(kOtherKey)), std::string::npos);
  for (const std::string& secret : Plaintexts()) {
    EXPECT_EQ(wrong.error().message().find(secret), std::string::npos);
  }
  // Without any key, a sealed database does not open either.
  auto keyless = Open("");
  ASSERT_FALSE(keyless);
  EXPECT_NE(keyless.error().message().find("without a master key"), std::string::npos);
  // Refusing changed nothing: the right key still opens it.
  auto right = Open(kTestMasterKey);
  ASSERT_TRUE(right) << right.error().ToString();
  ExpectPlaintexts(**right);
}

TEST_P(StoreSecretsTest, MalformedKeyIsRefusedBeforeTheDatabaseIsCreated) {
  auto store = Open("too short");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().type(), ErrorType::kInvalidArgument);
  EXPECT_FALSE(DatabaseCreated());
}

TEST_P(StoreSecretsTest, ValueMovedToAnotherRowOrColumnIsRefused) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
    Source second = MakeSource("src_2");
    second.signing_secret = "whsec_SECONDsource";
    ASSERT_OK((*store)->CreateSource(second));
  }
  {
    // src_1's sealed secret pasted into src_2: same key, but bound to another row.
      raw().Exec(
        "UPDATE sources SET signing_secret = (SELECT signing_secret FROM sources WHERE id = "
        "'src_1') WHERE id = 'src_2'");
  }
  auto moved_row = Open(kTestMasterKey);
  ASSERT_FALSE(moved_row);
  EXPECT_EQ(moved_row.error().code(), crypto::Sealer::kCorrupt);
  EXPECT_NE(moved_row.error().message().find("src_2"), std::string::npos)
      << moved_row.error().message();
  {
    // And a row's url_secret pasted into its own signing_secret: bound to another column.
      raw().Exec("UPDATE sources SET signing_secret = url_secret");
  }
  auto moved_column = Open(kTestMasterKey);
  ASSERT_FALSE(moved_column);
  EXPECT_EQ(moved_column.error().code(), crypto::Sealer::kCorrupt);
}

TEST_P(StoreSecretsTest, TamperedValueIsRefused) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
  }
  {
      std::string sealed = raw().Text("SELECT target_json FROM agents");
    // Flip one character of the base64 blob (A <-> B changes a bit of the ciphertext or tag).
    char& c = sealed[sealed.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    raw().Exec("UPDATE agents SET target_json = '" + sealed + "'");
  }
  auto store = Open(kTestMasterKey);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), crypto::Sealer::kCorrupt);
  EXPECT_NE(store.error().message().find("agents.target_json of agt_1"), std::string::npos)
      << store.error().message();
}

TEST_P(StoreSecretsTest, PlaintextDatabaseIsSealedInPlaceOnceAndServesTheSamePlaintext) {
  {
    // The schema only: an older version's database, whose rows follow, written with raw SQL.
    auto schema = Open("");
    ASSERT_TRUE(schema) << schema.error().ToString();
  }
  {
      raw().Exec("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_1', 'one', 1)");
    // A secret rotated before the upgrade: its old value sits in a freed cell of the page.
    raw().Exec(std::string("INSERT INTO sources (id, workspace_id, name, kind, url_secret, enabled, "
                         "auth_json, signing_secret, token_hash, allowed_ips, allowed_origins, "
                         "delivery_id_header, max_body_bytes, created_by, created_at, updated_at, "
                         "trigger_config) VALUES ('src_1', 'ws_1', 'src_1', 'custom', '") +
             kUrlSecret + "', " + True() + ", '{}', 'whsec_OLDrotatedBEFOREupgrade', '', '[]', '[]', '', 0, " +
             "'key_1', 1, 1, '" + kTriggerConfig + "')");
    raw().Exec(std::string("UPDATE sources SET signing_secret = '") + kSourceSecret + "'");
    raw().Exec(std::string("INSERT INTO agents (id, workspace_id, name, instructions, target_json, "
                         "signing_secret, max_attempts, concurrency, created_by, created_at, "
                         "updated_at) VALUES ('agt_1', 'ws_1', 'agent', '', '") +
             kTargetJson + "', '" + kAgentSecret + "', 8, 4, 'key_1', 1, 1)");
    raw().Exec(std::string("INSERT INTO agent_webhooks (id, workspace_id, agent_id, kind, enabled, "
                         "token_hash, token_prefix, event_source, allowed_ips, hmac_secret, "
                         "description, metadata_json, created_by, created_at, updated_at) VALUES "
                         "('whk_1', 'ws_1', 'agt_1', 'agent', " + True() + ", '', '', '', '[]', '") +
             kWebhookSecret + "', '', '{}', 'key_1', 1, 1)");
    ASSERT_NE(FileBytes().find(kSourceSecret), std::string::npos) << "the setup wrote plaintext";
    if (backend_->sqlite()) {
      ASSERT_NE(FileBytes().find("whsec_OLDrotatedBEFOREupgrade"), std::string::npos);
    }
  }

  std::string sealed_before;
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    ExpectPlaintexts(**store);
    ExpectNoPlaintextInFiles();
    // SQLite rewrites its files (VACUUM); PostgreSQL's old row versions go with its own VACUUM.
    EXPECT_EQ(FileBytes().find("whsec_OLDrotatedBEFOREupgrade"), std::string::npos);
  }
  {
      sealed_before = raw().Text("SELECT signing_secret || url_secret FROM sources") +
                    raw().Text("SELECT target_json || signing_secret FROM agents") +
                    raw().Text("SELECT hmac_secret FROM agent_webhooks");
    EXPECT_EQ(sealed_before.find("plain"), std::string::npos);
  }
  {
    // Idempotent: a second open finds everything sealed and rewrites nothing (a second seal
    // would have drawn new nonces).
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    ExpectPlaintexts(**store);
  }
  EXPECT_EQ(raw().Text("SELECT signing_secret || url_secret FROM sources") +
                raw().Text("SELECT target_json || signing_secret FROM agents") +
                raw().Text("SELECT hmac_secret FROM agent_webhooks"),
            sealed_before);
}

TEST_P(StoreSecretsTest, KeylessStoreKeepsPlaintextForTestsOfOtherModules) {
  auto store = Open("");
  ASSERT_TRUE(store) << store.error().ToString();
  Populate(**store);
  ExpectPlaintexts(**store);
  store->reset();
  EXPECT_EQ(raw().Text("SELECT signing_secret FROM sources"), kSourceSecret);
}

// ---- Master key rotation (SqliteOptions::previous_master_keys) ----

TEST_P(StoreSecretsTest, RotationReSealsEveryValueUnderTheNewKey) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
  }
  ASSERT_EQ(ValuesUnder(kTestMasterKey), 6);
  const std::vector<std::string> under_old = StoredValues();
  {
    auto rotated = Open(kOtherKey, {std::string(kTestMasterKey)});
    ASSERT_TRUE(rotated) << rotated.error().ToString();
    EXPECT_EQ((*rotated)->Stats().secrets_sealed_at_open, 6u);
    ExpectPlaintexts(**rotated);
  }
  EXPECT_EQ(ValuesUnder(kTestMasterKey), 0);
  EXPECT_EQ(ValuesUnder(kOtherKey), 6);
  if (backend_->sqlite()) {
    // VACUUM: the values under the old key (which whoever leaked it could open) are gone from
    // the files, freed cells and WAL included.
    const std::string bytes = FileBytes();
    for (const std::string& value : under_old) {
      EXPECT_EQ(bytes.find(value.substr(value.rfind(':') + 1)), std::string::npos) << value;
    }
  }
  {
    // The new key alone opens it now, with nothing left to do.
    auto store = Open(kOtherKey);
    ASSERT_TRUE(store) << store.error().ToString();
    EXPECT_EQ((*store)->Stats().secrets_sealed_at_open, 0u);
    ExpectPlaintexts(**store);
  }
  // And the old key alone is refused, naming the key the database now needs.
  auto old_only = Open(kTestMasterKey);
  ASSERT_FALSE(old_only);
  EXPECT_EQ(old_only.error().code(), crypto::Sealer::kWrongKey);
  EXPECT_NE(old_only.error().message().find(crypto::Sealer::KeyIdFor(kOtherKey)), std::string::npos)
      << old_only.error().message();
}

// A rolling rotation of several nodes: a node still on the old key (with the new one in its ring)
// reads what a rotated node wrote and seals its own writes under the old key; the next open with
// the new key re-seals those.
TEST_P(StoreSecretsTest, NodesOnEitherKeyOfTheRingShareTheDatabaseDuringARotation) {
  const std::string old_key(kTestMasterKey), new_key(kOtherKey);
  auto old_node = Open(old_key, {new_key});
  ASSERT_TRUE(old_node) << old_node.error().ToString();
  Populate(**old_node);
  auto new_node = Open(new_key, {old_key});
  ASSERT_TRUE(new_node) << new_node.error().ToString();
  EXPECT_EQ((*new_node)->Stats().secrets_sealed_at_open, 6u);
  ExpectPlaintexts(**old_node);  // the old node reads values sealed under the new key
  Source late = MakeSource("src_2");
  late.signing_secret = "whsec_WRITTENbyTHEoldNODE";
  ASSERT_OK((*old_node)->CreateSource(late));
  EXPECT_EQ((*new_node)->GetSource("ws_1", "src_2")->signing_secret, "whsec_WRITTENbyTHEoldNODE");
  EXPECT_EQ(ValuesUnder(old_key), 3);
  old_node->reset();
  new_node->reset();
  auto settled = Open(new_key, {old_key});
  ASSERT_TRUE(settled) << settled.error().ToString();
  EXPECT_EQ((*settled)->Stats().secrets_sealed_at_open, 3u);
  EXPECT_EQ(ValuesUnder(old_key), 0);
}

TEST_P(StoreSecretsTest, InterruptedRotationLeavesTheOldKeyWorking) {
  {
    auto store = Open(kTestMasterKey);
    ASSERT_TRUE(store) << store.error().ToString();
    Populate(**store);
  }
  const std::vector<std::string> before = StoredValues();
  // A failure in the middle of the re-sealing: the sources' values are already rewritten in the
  // transaction when the update of agents.signing_secret fails.
  if (backend_->sqlite()) {
    raw().Exec(
        "CREATE TRIGGER fail_reseal BEFORE UPDATE OF signing_secret ON agents "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  } else {
    raw().Exec(
        "CREATE FUNCTION fail_reseal() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$");
    raw().Exec(
        "CREATE TRIGGER fail_reseal BEFORE UPDATE OF signing_secret ON agents "
        "FOR EACH ROW EXECUTE FUNCTION fail_reseal()");
  }
  auto interrupted = Open(kOtherKey, {std::string(kTestMasterKey)});
  ASSERT_FALSE(interrupted);
  EXPECT_NE(interrupted.error().message().find("injected failure"), std::string::npos)
      << interrupted.error().message();
  raw().Exec(backend_->sqlite() ? "DROP TRIGGER fail_reseal"
                                : "DROP TRIGGER fail_reseal ON agents");
  // Rolled back whole: every value as it was, under the old key, which alone still opens it.
  EXPECT_EQ(StoredValues(), before);
  EXPECT_EQ(ValuesUnder(kTestMasterKey), 6);
  {
    auto old_key = Open(kTestMasterKey);
    ASSERT_TRUE(old_key) << old_key.error().ToString();
    EXPECT_EQ((*old_key)->Stats().secrets_sealed_at_open, 0u);
    ExpectPlaintexts(**old_key);
  }
  // Run again, the rotation completes.
  auto rotated = Open(kOtherKey, {std::string(kTestMasterKey)});
  ASSERT_TRUE(rotated) << rotated.error().ToString();
  EXPECT_EQ((*rotated)->Stats().secrets_sealed_at_open, 6u);
  ExpectPlaintexts(**rotated);
}

TEST_P(StoreSecretsTest, PreviousKeysNeedAMasterKeyAndMustBeWellFormed) {
  auto keyless = Open("", {std::string(kTestMasterKey)});
  ASSERT_FALSE(keyless);
  EXPECT_EQ(keyless.error().type(), ErrorType::kInvalidArgument);
  auto malformed = Open(kTestMasterKey, {"too short"});
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().type(), ErrorType::kInvalidArgument);
  EXPECT_FALSE(DatabaseCreated());
}

}  // namespace
}  // namespace triggerd::store
