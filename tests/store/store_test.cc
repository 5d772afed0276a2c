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

TEST(MatchOutcomeTest, NamesAreTheApiSpellingsAndRoundTrip) {
  EXPECT_EQ(MatchOutcomeName(MatchOutcome::kMatched), "matched");
  EXPECT_EQ(MatchOutcomeName(MatchOutcome::kIgnored), "ignored");
  EXPECT_EQ(MatchOutcomeName(MatchOutcome::kDisabled), "disabled");
  EXPECT_EQ(MatchOutcomeName(MatchOutcome::kFilterError), "filter_error");
  for (MatchOutcome outcome : {MatchOutcome::kMatched, MatchOutcome::kIgnored,
                               MatchOutcome::kDisabled, MatchOutcome::kFilterError}) {
    EXPECT_EQ(ParseMatchOutcome(MatchOutcomeName(outcome)), outcome);
  }
  EXPECT_FALSE(ParseMatchOutcome("").has_value());
  EXPECT_FALSE(ParseMatchOutcome("Matched").has_value());
  EXPECT_FALSE(ParseMatchOutcome("filter-error").has_value());
}

TEST(RunStatusTest, NamesAreTheApiSpellingsAndRoundTrip) {
  EXPECT_EQ(RunStatusName(RunStatus::kQueued), "queued");
  EXPECT_EQ(RunStatusName(RunStatus::kRunning), "running");
  EXPECT_EQ(RunStatusName(RunStatus::kSucceeded), "succeeded");
  EXPECT_EQ(RunStatusName(RunStatus::kFailed), "failed");
  EXPECT_EQ(RunStatusName(RunStatus::kRetrying), "retrying");
  EXPECT_EQ(RunStatusName(RunStatus::kDead), "dead");
  EXPECT_EQ(RunStatusName(RunStatus::kCancelled), "cancelled");
  for (RunStatus status : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kSucceeded,
                           RunStatus::kFailed, RunStatus::kRetrying, RunStatus::kDead,
                           RunStatus::kCancelled}) {
    EXPECT_EQ(ParseRunStatus(RunStatusName(status)), status);
  }
  EXPECT_FALSE(ParseRunStatus("canceled").has_value());  // api.md spells it "cancelled"
  EXPECT_FALSE(ParseRunStatus("Queued").has_value());
  EXPECT_FALSE(ParseRunStatus("").has_value());
}

}  // namespace
}  // namespace triggerd::store
