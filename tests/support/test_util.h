// Helpers every test may use: status matchers, temporary directories, reading ../shared.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"

#define EXPECT_OK(expr)                                              \
  do {                                                               \
    auto triggerd_s_ = ::triggerd::ToStatus(expr);                   \
    EXPECT_TRUE(triggerd_s_.ok()) << triggerd_s_.ToString();         \
  } while (0)
#define ASSERT_OK(expr)                                              \
  do {                                                               \
    auto triggerd_s_ = ::triggerd::ToStatus(expr);                   \
    ASSERT_TRUE(triggerd_s_.ok()) << triggerd_s_.ToString();         \
  } while (0)

namespace triggerd::testing {

// A fresh directory under $TMPDIR, removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A fixed master key (32 raw bytes) for stores opened by tests (SqliteOptions::master_key), so
// that what tests exercise is the sealing store that ships. Never a key to use anywhere else.
inline constexpr std::string_view kTestMasterKey = "triggerd-tests-fixed-master-key!";
static_assert(kTestMasterKey.size() == 32);

// Absolute path of a file in ../shared (e.g. "vectors/filters.json").
std::filesystem::path SharedPath(const std::string& relative);
// Whole file contents; fails the current test (and returns "") when unreadable.
std::string ReadFileOrDie(const std::filesystem::path& path);

}  // namespace triggerd::testing
