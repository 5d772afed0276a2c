#include "common/crypto_master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "common/crypto.h"
#include "test_util.h"

namespace triggerd::crypto {
namespace {

class MasterKeyTest : public ::testing::Test {
 protected:
  std::filesystem::path KeyPath() const { return dir_.path() / "master.key"; }
  mode_t Mode(const std::filesystem::path& path) const {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  void WriteFile(const std::string& text, mode_t mode) {
    std::ofstream(KeyPath()) << text;
    ASSERT_EQ(::chmod(KeyPath().c_str(), mode), 0);
  }

  testing::TempDir dir_;
};

TEST_F(MasterKeyTest, FirstStartCreatesA0600KeyFileThatTheSecondStartReuses) {
  Result<MasterKey> first = LoadMasterKey(dir_.path(), std::nullopt);
  ASSERT_OK(first);
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->bytes.size(), 32u);
  EXPECT_EQ(first->origin, KeyPath().string());
  EXPECT_EQ(Mode(KeyPath()), 0600u);
  // Base64 text plus a newline, so it can be pasted into TRIGGERD_MASTER_KEY as it is.
  EXPECT_EQ(testing::ReadFileOrDie(KeyPath()), Base64Encode(first->bytes) + "\n");
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()),
            1);

  Result<MasterKey> second = LoadMasterKey(dir_.path(), std::nullopt);
  ASSERT_OK(second);
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->bytes, first->bytes);
}

TEST_F(MasterKeyTest, CreatedFileIs0600WhateverTheUmask) {
  const mode_t old = ::umask(0);
  Result<MasterKey> key = LoadMasterKey(dir_.path(), std::nullopt);
  ::umask(old);
  ASSERT_OK(key);
  EXPECT_EQ(Mode(KeyPath()), 0600u);
}

TEST_F(MasterKeyTest, RefusesAKeyFileReadableByGroupOrOthers) {
  ASSERT_OK(LoadMasterKey(dir_.path(), std::nullopt));
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    ASSERT_EQ(::chmod(KeyPath().c_str(), mode), 0);
    Result<MasterKey> key = LoadMasterKey(dir_.path(), std::nullopt);
    ASSERT_FALSE(key) << std::oct << mode;
    EXPECT_EQ(key.error().type(), ErrorType::kInvalidArgument);
    // Says how to fix it.
    EXPECT_NE(key.error().message().find("chmod 600 " + KeyPath().string()), std::string::npos)
        << key.error().message();
  }
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0400), 0);
  EXPECT_OK(LoadMasterKey(dir_.path(), std::nullopt));
}

TEST_F(MasterKeyTest, EnvironmentTakesPrecedenceOverTheFile) {
  ASSERT_OK(LoadMasterKey(dir_.path(), std::nullopt));
  const std::string hex(64, 'c');
  Result<MasterKey> key = LoadMasterKey(dir_.path(), hex);
  ASSERT_OK(key);
  EXPECT_EQ(key->bytes, std::string(32, '\xcc'));
  EXPECT_EQ(key->origin, "TRIGGERD_MASTER_KEY");
  EXPECT_FALSE(key->created);
}

TEST_F(MasterKeyTest, EnvironmentKeyCreatesNoFile) {
  ASSERT_OK(LoadMasterKey(dir_.path(), Base64Encode(std::string(32, 'x'))));
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
}

TEST_F(MasterKeyTest, MalformedEnvironmentKeyIsAnErrorNotAFallback) {
  for (std::string bad : {std::string(), std::string("short"), std::string(63, 'a'),
                          std::string(65, 'a'), Base64Encode(std::string(31, 'x')),
                          Base64Encode(std::string(33, 'x')), std::string(64, 'g')}) {
    Result<MasterKey> key = LoadMasterKey(dir_.path(), bad);
    ASSERT_FALSE(key) << bad;
    EXPECT_EQ(key.error().type(), ErrorType::kInvalidArgument);
    EXPECT_NE(key.error().message().find("TRIGGERD_MASTER_KEY"), std::string::npos);
    if (!bad.empty()) {
      EXPECT_EQ(key.error().message().find(bad), std::string::npos) << "echoed";
    }
  }
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
}

TEST_F(MasterKeyTest, ParsesHexAndBothBase64AlphabetsWithWhitespace) {
  const std::string bytes =
      HexDecode("fbff00112233445566778899aabbccddeeff00112233445566778899aabbccdd").value();
  EXPECT_EQ(ParseMasterKey(HexEncode(bytes)).value(), bytes);
  std::string upper = HexEncode(bytes);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(ParseMasterKey(upper).value(), bytes);
  const std::string b64 = Base64Encode(bytes);
  EXPECT_EQ(ParseMasterKey(b64).value(), bytes);
  EXPECT_EQ(ParseMasterKey(" " + b64 + "\n").value(), bytes);
  std::string url_safe = b64.substr(0, b64.find('='));
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  EXPECT_EQ(ParseMasterKey(url_safe).value(), bytes);
}

TEST_F(MasterKeyTest, MalformedKeyFileIsRefused) {
  WriteFile("not a key\n", 0600);
  Result<MasterKey> key = LoadMasterKey(dir_.path(), std::nullopt);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message().find(KeyPath().string()), std::string::npos);
  // An empty file (e.g. a crash of an older writer) is refused too, never replaced.
  WriteFile("", 0600);
  EXPECT_FALSE(LoadMasterKey(dir_.path(), std::nullopt));
  EXPECT_EQ(testing::ReadFileOrDie(KeyPath()), "");
}

TEST_F(MasterKeyTest, AKeyFileWrittenByHandIsRead) {
  WriteFile(std::string(64, 'd') + "\n", 0400);
  Result<MasterKey> key = LoadMasterKey(dir_.path(), std::nullopt);
  ASSERT_OK(key);
  EXPECT_EQ(key->bytes, std::string(32, '\xdd'));
  EXPECT_FALSE(key->created);
}

TEST_F(MasterKeyTest, ADirectoryInPlaceOfTheKeyIsRefused) {
  std::filesystem::create_directory(KeyPath());
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0700), 0);
  EXPECT_FALSE(LoadMasterKey(dir_.path(), std::nullopt));
}

// ---- Rotation: the previous key and replacing key files ----

TEST_F(MasterKeyTest, WriteMasterKeyFileReplacesTheFileAtomicallyAs0600) {
  ASSERT_OK(LoadMasterKey(dir_.path(), std::nullopt));
  const std::string next(32, '\x42');
  const mode_t old = ::umask(0);
  Status written = WriteMasterKeyFile(KeyPath(), next);
  ::umask(old);
  ASSERT_OK(written);
  EXPECT_EQ(Mode(KeyPath()), 0600u);
  EXPECT_EQ(LoadMasterKey(dir_.path(), std::nullopt)->bytes, next);
  EXPECT_EQ(ReadMasterKeyFile(KeyPath())->bytes, next);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_FALSE(WriteMasterKeyFile(KeyPath(), "short").ok());
}

TEST_F(MasterKeyTest, ReadMasterKeyFileNeverCreatesAndKeepsTheModeCheck) {
  EXPECT_FALSE(ReadMasterKeyFile(KeyPath()));
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
  WriteFile(std::string(64, 'e'), 0644);
  Result<MasterKey> readable = ReadMasterKeyFile(KeyPath());
  ASSERT_FALSE(readable);
  EXPECT_NE(readable.error().message().find("chmod 600"), std::string::npos);
}

TEST_F(MasterKeyTest, PreviousKeyComesFromTheEnvironmentElseAnExistingFile) {
  const std::filesystem::path previous_path = dir_.path() / "master.key.previous";
  // Neither: no previous key, and no file is created.
  Result<std::optional<MasterKey>> none = LoadPreviousMasterKey(dir_.path(), std::nullopt);
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(std::filesystem::exists(previous_path));

  ASSERT_OK(WriteMasterKeyFile(previous_path, std::string(32, '\x01')));
  Result<std::optional<MasterKey>> from_file = LoadPreviousMasterKey(dir_.path(), std::nullopt);
  ASSERT_OK(from_file);
  ASSERT_TRUE(from_file->has_value());
  EXPECT_EQ((*from_file)->bytes, std::string(32, '\x01'));
  EXPECT_EQ((*from_file)->origin, previous_path.string());

  // The variable wins; set but blank, it means "none" (the file is not read).
  Result<std::optional<MasterKey>> from_env =
      LoadPreviousMasterKey(dir_.path(), std::string(64, 'a'));
  ASSERT_OK(from_env);
  EXPECT_EQ((*from_env)->bytes, std::string(32, '\xaa'));
  EXPECT_EQ((*from_env)->origin, "TRIGGERD_MASTER_KEY_PREVIOUS");
  Result<std::optional<MasterKey>> cleared = LoadPreviousMasterKey(dir_.path(), " \n");
  ASSERT_OK(cleared);
  EXPECT_FALSE(cleared->has_value());
  EXPECT_FALSE(LoadPreviousMasterKey(dir_.path(), "not a key"));

  ASSERT_EQ(::chmod(previous_path.c_str(), 0640), 0);
  EXPECT_FALSE(LoadPreviousMasterKey(dir_.path(), std::nullopt));
}

}  // namespace
}  // namespace triggerd::crypto
