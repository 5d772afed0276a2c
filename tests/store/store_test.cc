#include "store/store.h"

#include <gtest/gtest.h>

namespace triggerd::store {
namespace {

TEST(RoleTest, NamesRoundTripThroughParse) {
  for (Role role : {Role::kAdmin, Role::kBuilder, Role::kUser}) {
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
  EXPECT_EQ(RoleName(Role::kBuilder), "builder");
  EXPECT_EQ(RoleName(Role::kUser), "user");
}

TEST(RoleTest, RejectsUnknownAndWrongCaseNames) {
  EXPECT_FALSE(ParseRole("").has_value());
  EXPECT_FALSE(ParseRole("Admin").has_value());
  EXPECT_FALSE(ParseRole("owner").has_value());
  EXPECT_FALSE(ParseRole("admin ").has_value());
}

}  // namespace
}  // namespace triggerd::store
