#include "common/ids.h"

#include <gtest/gtest.h>

namespace triggerd {
namespace {

TEST(IdsTest, RandomIdsCarryPrefixAndAreWellFormed) {
  std::string id = NewId("src");
  EXPECT_TRUE(IsWellFormedId(id, "src")) << id;
  EXPECT_FALSE(IsWellFormedId(id, "ws"));
  EXPECT_NE(NewId("src"), id);
}

TEST(IdsTest, TimeOrderedIdsSortByTime) {
  std::string a = NewTimeOrderedId("evt", 1'700'000'000'000'000);
  std::string b = NewTimeOrderedId("evt", 1'700'000'000'000'001);
  std::string c = NewTimeOrderedId("evt", 1'800'000'000'000'000);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_TRUE(IsWellFormedId(a, "evt"));
}

TEST(IdsTest, RejectsMalformedIds) {
  EXPECT_FALSE(IsWellFormedId("src_", "src"));
  EXPECT_FALSE(IsWellFormedId("src-abc", "src"));
  EXPECT_FALSE(IsWellFormedId("src_ab/c", "src"));
  EXPECT_FALSE(IsWellFormedId("src_" + std::string(65, 'a'), "src"));
}

}  // namespace
}  // namespace triggerd
