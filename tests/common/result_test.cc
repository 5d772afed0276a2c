#include "common/result.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace triggerd {
namespace {

Result<int> Parse(bool ok, int value) {
  if (!ok) return Status::InvalidArgument("bad number");
  return value;
}

Result<int> SumOfTwo(bool first_ok, bool second_ok) {
  TRIGGERD_ASSIGN_OR_RETURN(int a, Parse(first_ok, 1));
  TRIGGERD_ASSIGN_OR_RETURN(const int b, Parse(second_ok, 2));
  return a + b;
}

Status Store(bool ok, int* out) {
  TRIGGERD_ASSIGN_OR_RETURN(*out, Parse(ok, 7));
  return Status::Ok();
}

Result<std::unique_ptr<std::string>> MakeText() { return std::make_unique<std::string>("text"); }

Result<size_t> MoveOnlyLength() {
  TRIGGERD_ASSIGN_OR_RETURN(std::unique_ptr<std::string> text, MakeText());
  return text->size();
}

TEST(ResultTest, AssignOrReturnUnwrapsValues) {
  Result<int> sum = SumOfTwo(true, true);
  ASSERT_TRUE(sum.has_value());
  EXPECT_EQ(*sum, 3);
}

TEST(ResultTest, AssignOrReturnReturnsTheFirstError) {
  Result<int> first = SumOfTwo(false, true);
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(first.error().message(), "bad number");
  EXPECT_FALSE(SumOfTwo(true, false).has_value());
}

TEST(ResultTest, AssignOrReturnAssignsToAnExistingLvalueAndReturnsStatus) {
  int out = 0;
  EXPECT_TRUE(Store(true, &out).ok());
  EXPECT_EQ(out, 7);
  out = 0;
  Status failed = Store(false, &out);
  EXPECT_EQ(failed.type(), ErrorType::kInvalidArgument);
  EXPECT_EQ(out, 0);
}

TEST(ResultTest, AssignOrReturnMovesMoveOnlyValues) {
  Result<size_t> length = MoveOnlyLength();
  ASSERT_TRUE(length.has_value());
  EXPECT_EQ(*length, 4u);
}

}  // namespace
}  // namespace triggerd
