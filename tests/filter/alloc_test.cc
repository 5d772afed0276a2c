// Proves that evaluation does not allocate: this binary replaces the global allocation functions
// with counting ones (every form, so sanitizers never see a mismatched pair).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "filter/filter.h"
#include "filter_test_util.h"
#include "test_util.h"

namespace {
std::atomic<long> g_allocations{0};

void* CountedAlloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* CountedAlignedAlloc(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  auto a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (size + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return CountedAlloc(size); }
void* operator new[](std::size_t size) { return CountedAlloc(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t align) {
  return CountedAlignedAlloc(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return CountedAlignedAlloc(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace triggerd::filter {
namespace {

class FilterAllocationTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FilterAllocationTest, EvaluationDoesNotAllocate) {
  std::string payload_text = triggerd::testing::ReadFileOrDie(
      triggerd::testing::SharedPath("payloads/github/pull_request/opened.payload.json"));
  boost::json::value payload = testing::Json(payload_text);
  Headers headers = {{"X-GitHub-Event", "pull_request"}, {"X-GitHub-Delivery", "abc"}};
  Result<CompiledFilter> compiled = Compile(GetParam());
  ASSERT_OK(compiled);
  EvalContext context{payload, &headers, "pull_request", "src_1"};
  // The first run may fill RE2's lazily built DFA cache; steady state is what counts.
  Result<bool> first = Evaluate(*compiled, context);
  ASSERT_OK(first);

  long before = g_allocations.load();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(*Evaluate(*compiled, context), *first);
  }
  EXPECT_EQ(g_allocations.load() - before, 0) << GetParam();
}

TEST(FilterAllocationCounterTest, CountsAllocations) {
  long before = g_allocations.load();
  auto* p = new std::vector<int>(100);
  delete p;
  EXPECT_GE(g_allocations.load() - before, 2);
}

INSTANTIATE_TEST_SUITE_P(
    Filters, FilterAllocationTest,
    ::testing::Values(
        R"((eq "action" "opened"))",
        R"((and (eq "action" "opened") (gt "pull_request.changed_files" 20)))",
        R"((has "pull_request.labels.*.name" "bug"))",
        R"((has-all "pull_request.requested_reviewers.*.login" ("a" "b")))",
        R"((has-any "pull_request.labels.*.name" ("wip" "do-not-review")))",
        R"((not (has-any "pull_request.assignees.*.login" ("x"))))",
        R"((in "action" ("opened" "reopened" "synchronize")))",
        R"((exists "pull_request.head.repo.owner.login"))", R"((gt "pull_request.title.length" 3))",
        R"((eq "pull_request.labels.length" 0))",
        R"((starts-with "pull_request.head.ref" "feature/"))",
        R"((ends-with "repository.full_name" "/Hello-World"))",
        R"((contains "pull_request.body" "fix"))",
        R"((matches "pull_request.title" "^(Update|Fix) .*"))",
        R"((eq "$headers.x-github-event" "pull_request"))",
        R"((and (eq "$event" "pull_request") (eq "$source" "src_1")))",
        R"((eq "pull_request.head.repo.owner.login" "Codertocat"))",
        R"((or (eq "a.b.c.d" 1) (has "*.*" 1) (lt "number" 0.5) (eq "sender.id" 21031067)))"));

}  // namespace
}  // namespace triggerd::filter
