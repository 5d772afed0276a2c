#include "store/sqlite/migrations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "store/sqlite/connection.h"
#include "test_util.h"

namespace triggerd::store::sqlite {
namespace {

using ::testing::HasSubstr;

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Connection>> db =
        Connection::Open((dir_.path() / "m.db").string(), "", true);
    ASSERT_OK(db);
    db_ = std::move(db).value();
  }
  int64_t Version() { return *db_->QueryInt64("PRAGMA user_version", "version"); }
  int64_t Count(const std::string& table) {
    return *db_->QueryInt64("SELECT count(*) FROM " + table, "count");
  }

  triggerd::testing::TempDir dir_;
  std::unique_ptr<Connection> db_;
};

constexpr Migration kV1 = {1, "001_a.sql",
                           "PRAGMA application_id = 1414678340; CREATE TABLE a (x INTEGER);"};
constexpr Migration kV2 = {2, "002_b.sql", "CREATE TABLE b (y); INSERT INTO a VALUES (1);"};
constexpr Migration kBroken = {2, "002_broken.sql",
                               "CREATE TABLE c (z); INSERT INTO nope VALUES (1);"};

TEST_F(MigrationsTest, AppliesPendingMigrationsInOrderOnce) {
  const Migration v1[] = {kV1};
  ASSERT_OK(ApplyMigrations(*db_, v1));
  EXPECT_EQ(Version(), 1);
  const Migration v12[] = {kV1, kV2};
  ASSERT_OK(ApplyMigrations(*db_, v12));
  EXPECT_EQ(Version(), 2);
  ASSERT_OK(ApplyMigrations(*db_, v12));  // nothing pending: nothing runs again
  EXPECT_EQ(Count("a"), 1);
}

TEST_F(MigrationsTest, FailingMigrationLeavesTheOldVersionAndNoPartialChanges) {
  const Migration v1[] = {kV1};
  ASSERT_OK(ApplyMigrations(*db_, v1));
  const Migration broken[] = {kV1, kBroken};
  Status s = ApplyMigrations(*db_, broken);
  EXPECT_EQ(s.type(), ErrorType::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("002_broken.sql"));
  EXPECT_EQ(Version(), 1);
  EXPECT_EQ(*db_->QueryInt64("SELECT count(*) FROM sqlite_schema WHERE name = 'c'", "c"), 0);
  EXPECT_FALSE(db_->in_transaction());
}

TEST_F(MigrationsTest, RefusesNewerVersionWithoutTouchingTheFile) {
  const Migration v12[] = {kV1, kV2};
  ASSERT_OK(ApplyMigrations(*db_, v12));
  const Migration v1[] = {kV1};
  Status s = ApplyMigrations(*db_, v1);
  EXPECT_EQ(s.code(), "schema_too_new");
  EXPECT_EQ(Version(), 2);
}

TEST_F(MigrationsTest, RejectsMigrationListWithGaps) {
  const Migration gap[] = {kV2};
  EXPECT_THAT(ApplyMigrations(*db_, gap).message(), HasSubstr("out of order"));
  EXPECT_EQ(Version(), 0);
}

TEST_F(MigrationsTest, BuiltinMigrationsStartAtOneAndCreateTheTables) {
  ASSERT_FALSE(BuiltinMigrations().empty());
  EXPECT_EQ(BuiltinMigrations().front().version, 1);
  ASSERT_OK(ApplyMigrations(*db_, BuiltinMigrations()));
  for (const char* table : {"workspaces", "api_keys", "sources", "events", "agents", "triggers",
                            "matches", "runs", "run_messages"}) {
    EXPECT_EQ(Count(table), 0) << table;
  }
  EXPECT_EQ(*db_->QueryInt64("PRAGMA application_id", "app id"), kApplicationId);
}

}  // namespace
}  // namespace triggerd::store::sqlite
