// `triggerd key` and `triggerd migrate` on a real data dir (SQLite file, master key file), as an
// operator uses them beside a server: the key works through the store's lookup, is shown once,
// listings never show it, revocation is at once.
#include "app/admin_commands.h"

#include <gtest/gtest.h>

#include <sstream>

#include "api/api.h"
#include "app/data_dir.h"
#include "common/clock.h"
#include "common/crypto.h"
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
}

}  // namespace
}  // namespace triggerd::app
