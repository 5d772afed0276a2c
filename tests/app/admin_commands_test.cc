// `triggerd key` and `triggerd migrate` on a real data dir (SQLite file, master key file), as an
// operator uses them beside a server: the key works through the store's lookup, is shown once,
// listings never show it, revocation is at once. `key rotate-master` re-seals the secrets under a
// new master key and replaces master.key, and a crash between its steps leaves a data dir that
// opens.
#include "app/admin_commands.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "api/api.h"
#include "app/data_dir.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/crypto_master_key.h"
#include "common/crypto_sealer.h"
#include "test_util.h"

namespace triggerd::app {
namespace {

class AdminCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = (dir_.path() / "data").string();
    auto opened = OpenDataDir(data_dir_);  // creates master.key and the database
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    auto bootstrap = api::BootstrapIfEmpty(opened->store.get(), SystemClock::Instance(), "default");
    ASSERT_TRUE(bootstrap.has_value() && bootstrap->has_value());
    opened->store->Close();
  }

  // The stored record of a full key, through the lookup the API's authentication uses (which
  // finds only keys that are not revoked).
  std::optional<store::ApiKey> Lookup(const std::string& key) {
    auto opened = OpenDataDir(data_dir_);
    EXPECT_TRUE(opened.has_value());
    auto found = opened->store->FindApiKeyByHash(
        crypto::HexEncode(crypto::Digest(crypto::DigestAlgorithm::kSha256, key)));
    opened->store->Close();
    if (!found) return std::nullopt;
    return *found;
  }

  testing::TempDir dir_;
  std::string data_dir_;
};

TEST_F(AdminCommandsTest, CreateListRevoke) {
  std::ostringstream out, err;
  KeyCommand create{.action = "create", .data_dir = data_dir_, .role = "builder", .name = "ops"};
  ASSERT_EQ(RunKey(create, out, err), 0) << err.str();
  const std::string key = out.str().substr(0, out.str().find('\n'));
  ASSERT_EQ(key.rfind("tdk_", 0), 0u) << out.str();
  std::optional<store::ApiKey> record = Lookup(key);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->role, store::Role::kBuilder);
  EXPECT_EQ(record->name, "ops");
  EXPECT_FALSE(record->revoked_at.has_value());

  std::ostringstream listed, list_err;
  ASSERT_EQ(RunKey({.action = "list", .data_dir = data_dir_}, listed, list_err), 0);
  EXPECT_NE(listed.str().find(record->id), std::string::npos) << listed.str();
  EXPECT_NE(listed.str().find("bootstrap admin"), std::string::npos);
  EXPECT_EQ(listed.str().find(key), std::string::npos);  // never the key itself

  std::ostringstream revoked, revoke_err;
  ASSERT_EQ(RunKey({.action = "revoke", .data_dir = data_dir_, .key_id = record->id}, revoked,
                   revoke_err),
            0)
      << revoke_err.str();
  // Authentication finds only keys that are not revoked.
  EXPECT_FALSE(Lookup(key).has_value());
}

TEST_F(AdminCommandsTest, MistakesExitNonZeroWithAReason) {
  std::ostringstream out, err;
  EXPECT_EQ(RunKey({.action = "create", .data_dir = data_dir_, .role = "boss"}, out, err), 2);
  EXPECT_EQ(RunKey({.action = "rotate", .data_dir = data_dir_}, out, err), 2);
  EXPECT_EQ(RunKey({.action = "revoke", .data_dir = data_dir_}, out, err), 2);
  EXPECT_EQ(RunKey({.action = "revoke", .data_dir = data_dir_, .key_id = "key_nope"}, out, err), 1);
  EXPECT_EQ(RunKey({.action = "create", .data_dir = data_dir_, .workspace = "nope"}, out, err), 1);
  // A data dir without a database (a typo): refused, and nothing is created there.
  const std::filesystem::path typo = dir_.path() / "dtaa";
  std::ostringstream typo_err;
  EXPECT_EQ(RunKey({.action = "list", .data_dir = typo.string()}, out, typo_err), 1);
  EXPECT_NE(typo_err.str().find("no database at"), std::string::npos) << typo_err.str();
  EXPECT_FALSE(std::filesystem::exists(typo));
  EXPECT_NE(err.str().find("no workspace \"nope\""), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());  // nothing issued
}

TEST_F(AdminCommandsTest, MigrateBringsTheDatabaseToTheLatestVersion) {
  std::ostringstream out, err;
  ASSERT_EQ(RunMigrate(data_dir_, "sqlite", out, err), 0) << err.str();
  EXPECT_NE(out.str().find("schema version " + std::to_string(store::LatestSqliteSchemaVersion())),
            std::string::npos)
      << out.str();
  EXPECT_GE(store::LatestSqliteSchemaVersion(), 6);
  // A data dir that does not exist (a typo) is refused, and nothing is created.
  const std::filesystem::path typo = dir_.path() / "dtaa";
  std::ostringstream typo_err;
  EXPECT_EQ(RunMigrate(typo.string(), "sqlite", out, typo_err), 1);
  EXPECT_NE(typo_err.str().find("no data dir at"), std::string::npos) << typo_err.str();
  EXPECT_FALSE(std::filesystem::exists(typo));
}

class RotateMasterKeyTest : public AdminCommandsTest {
 protected:
  void SetUp() override {
    AdminCommandsTest::SetUp();
    auto opened = OpenDataDir(data_dir_);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    auto workspaces = opened->store->ListWorkspaces();
    ASSERT_TRUE(workspaces.has_value() && !workspaces->empty());
    workspace_id_ = (*workspaces)[0].id;
    store::Source source;
    source.id = "src_rotate";
    source.workspace_id = workspace_id_;
    source.name = "rotate";
    source.url_secret = "URLSECRETbeforeROTATION";
    source.signing_secret =
        "whsec_SIGNINGbeforeROTATION";  // and trigger_config_json "{}": 3 values
    source.created_at = source.updated_at = 1;
    ASSERT_TRUE(opened->store->CreateSource(source).ok());
    opened->store->Close();
    old_key_ = crypto::ReadMasterKeyFile(KeyFile()).value().bytes;
    new_key_ = crypto::RandomBytes(32);
    new_key_file_ = dir_.path() / "new.key";
    ASSERT_TRUE(crypto::WriteMasterKeyFile(new_key_file_, new_key_).ok());
  }

  std::filesystem::path KeyFile() const { return std::filesystem::path(data_dir_) / "master.key"; }
  std::filesystem::path PreviousKeyFile() const {
    return std::filesystem::path(data_dir_) / "master.key.previous";
  }
  static mode_t Mode(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  // The source's secrets, read through a store opened with exactly `key`.
  Result<store::Source> SourceUnder(const std::string& key) {
    auto opened = OpenStoreWithKeys(data_dir_, {}, key, {});
    if (!opened) return opened.error();
    auto source = (*opened)->GetSource(workspace_id_, "src_rotate");
    (*opened)->Close();
    return source;
  }

  int Rotate(std::ostringstream& out, std::ostringstream& err) {
    return RunRotateMasterKey({.data_dir = data_dir_, .new_key_file = new_key_file_.string()}, out,
                              err);
  }

  std::string workspace_id_;
  std::string old_key_, new_key_;
  std::filesystem::path new_key_file_;
};

TEST_F(RotateMasterKeyTest, ReSealsUnderTheNewKeyAndReplacesTheKeyFile) {
  std::ostringstream out, err;
  ASSERT_EQ(Rotate(out, err), 0) << err.str();
  const std::string old_id = crypto::Sealer::KeyIdFor(old_key_);
  const std::string new_id = crypto::Sealer::KeyIdFor(new_key_);
  EXPECT_EQ(out.str(), "old_key_id\t" + old_id + "\nnew_key_id\t" + new_id + "\nresealed\t3\n");
  // master.key holds the new key, 0600; the old one is gone from the data dir.
  EXPECT_EQ(crypto::ReadMasterKeyFile(KeyFile()).value().bytes, new_key_);
  EXPECT_EQ(Mode(KeyFile()), 0600u);
  EXPECT_FALSE(std::filesystem::exists(PreviousKeyFile()));

  // The usual open (master.key) serves the same secrets.
  auto opened = OpenDataDir(data_dir_);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  EXPECT_EQ(opened->key_id, new_id);
  EXPECT_EQ(opened->secrets_sealed_at_open, 0u);
  auto source = opened->store->GetSource(workspace_id_, "src_rotate");
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->url_secret, "URLSECRETbeforeROTATION");
  EXPECT_EQ(source->signing_secret, "whsec_SIGNINGbeforeROTATION");
  opened->store->Close();
  // The old key alone no longer opens the database, and says which key it needs.
  auto with_old = SourceUnder(old_key_);
  ASSERT_FALSE(with_old.has_value());
  EXPECT_EQ(with_old.error().code(), crypto::Sealer::kWrongKey);
  EXPECT_NE(with_old.error().message().find(new_id), std::string::npos);

  // Run again with the same key: nothing left to do, still success.
  std::ostringstream again, again_err;
  ASSERT_EQ(Rotate(again, again_err), 0) << again_err.str();
  EXPECT_NE(again.str().find("resealed\t0\n"), std::string::npos) << again.str();
}

// A crash after step 2 (the key files written, the database not yet re-sealed): the files hold
// {new, previous = old}, a plain start opens the database and finishes the rotation, and the
// command run again completes it.
TEST_F(RotateMasterKeyTest, CrashBetweenKeyFilesAndDatabaseLeavesADataDirThatOpens) {
  ASSERT_TRUE(crypto::WriteMasterKeyFile(PreviousKeyFile(), old_key_).ok());
  ASSERT_TRUE(crypto::WriteMasterKeyFile(KeyFile(), new_key_).ok());
  {
    auto opened = OpenDataDir(data_dir_);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    EXPECT_EQ(opened->previous_key_id, crypto::Sealer::KeyIdFor(old_key_));
    EXPECT_EQ(opened->secrets_sealed_at_open, 3u);
    EXPECT_EQ(opened->store->GetSource(workspace_id_, "src_rotate")->signing_secret,
              "whsec_SIGNINGbeforeROTATION");
    opened->store->Close();
  }
  std::ostringstream out, err;
  ASSERT_EQ(Rotate(out, err), 0) << err.str();
  EXPECT_NE(out.str().find("resealed\t0\n"), std::string::npos) << out.str();
  EXPECT_FALSE(std::filesystem::exists(PreviousKeyFile()));
  EXPECT_EQ(SourceUnder(new_key_)->signing_secret, "whsec_SIGNINGbeforeROTATION");
}

TEST_F(RotateMasterKeyTest, NewKeyFromAnEnvironmentVariableWhichIsThenRemoved) {
  ASSERT_EQ(::setenv("TRIGGERD_TEST_NEW_MASTER_KEY", crypto::HexEncode(new_key_).c_str(), 1), 0);
  std::ostringstream out, err;
  ASSERT_EQ(RunRotateMasterKey(
                {.data_dir = data_dir_, .new_key_env = "TRIGGERD_TEST_NEW_MASTER_KEY"}, out, err),
            0)
      << err.str();
  EXPECT_EQ(std::getenv("TRIGGERD_TEST_NEW_MASTER_KEY"), nullptr);
  EXPECT_EQ(crypto::ReadMasterKeyFile(KeyFile()).value().bytes, new_key_);
  EXPECT_EQ(SourceUnder(new_key_)->url_secret, "URLSECRETbeforeROTATION");
}

TEST_F(RotateMasterKeyTest, MistakesChangeNothing) {
  std::ostringstream out, err;
  // Usage: no new key, both, or the current key's own variable.
  EXPECT_EQ(RunRotateMasterKey({.data_dir = data_dir_}, out, err), 2);
  EXPECT_EQ(RunRotateMasterKey(
                {.data_dir = data_dir_, .new_key_file = new_key_file_.string(), .new_key_env = "X"},
                out, err),
            2);
  EXPECT_EQ(
      RunRotateMasterKey({.data_dir = data_dir_, .new_key_env = "TRIGGERD_MASTER_KEY"}, out, err),
      2);
  // A new key file others can read is refused, as master.key would be.
  ASSERT_EQ(::chmod(new_key_file_.c_str(), 0644), 0);
  EXPECT_EQ(Rotate(out, err), 1);
  EXPECT_NE(err.str().find("chmod 600"), std::string::npos) << err.str();
  // A data dir without a database.
  EXPECT_EQ(RunRotateMasterKey({.data_dir = (dir_.path() / "empty").string(),
                                .new_key_file = new_key_file_.string()},
                               out, err),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "empty" / "master.key"));
  EXPECT_TRUE(out.str().empty());
  EXPECT_EQ(crypto::ReadMasterKeyFile(KeyFile()).value().bytes, old_key_);
  EXPECT_FALSE(std::filesystem::exists(PreviousKeyFile()));
  EXPECT_EQ(SourceUnder(old_key_)->signing_secret, "whsec_SIGNINGbeforeROTATION");
}

}  // namespace
}  // namespace triggerd::app
