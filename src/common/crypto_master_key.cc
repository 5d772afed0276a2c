#include "common/crypto_master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/crypto.h"
#include "common/crypto_sealer.h"

namespace triggerd::crypto {
namespace {

constexpr size_t kMaxKeyFileBytes = 4096;  // a key is < 100 bytes of text; refuse to slurp more

std::string ErrnoText(int err) { return std::strerror(err); }

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Closes on scope exit; keeps the error paths below free of close() bookkeeping.
struct Fd {
  explicit Fd(int fd) : fd(fd) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int fd;
};

Result<MasterKey> ReadKeyFile(const std::filesystem::path& path, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::Internal("cannot stat master key file " + path.string() + ": " +
                            ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("master key file " + path.string() + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument(
        "master key file " + path.string() + " has mode " + ModeText(st.st_mode) +
        ": group and others must have no access to it. Fix it with: chmod 600 " + path.string());
  }
  std::string text(kMaxKeyFileBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status::Internal("cannot read master key file " + path.string() + ": " +
                              ErrnoText(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  Result<std::string> key = got > kMaxKeyFileBytes
                                ? Result<std::string>(Status::InvalidArgument("too long"))
                                : ParseMasterKey(std::string_view(text.data(), got));
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) {
    return Status::InvalidArgument("master key file " + path.string() + ": " +
                                   key.error().message());
  }
  MasterKey out;
  out.bytes = std::move(key).value();
  out.origin = path.string();
  return out;
}

Status FsyncDir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd < 0 || ::fsync(fd.fd) != 0) {
    return Status::Internal("cannot sync directory " + dir.string() + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Writes `key` as the text of a key file to a new file beside `path`, mode 0600 from the first
// byte, fsync'd; returns its name. The caller links or renames it into place.
Result<std::filesystem::path> WriteTempKeyFile(const std::filesystem::path& path,
                                               std::string_view key) {
  // Base64 text rather than raw bytes: the file can be copied into TRIGGERD_MASTER_KEY as it is,
  // and backed up or compared by eye.
  std::string text = Base64Encode(key) + "\n";
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid()) + "-" + RandomToken(8);
  Status written = [&]() -> Status {
    Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.fd < 0) {
      return Status::Internal("cannot create master key file " + temp.string() + ": " +
                              ErrnoText(errno));
    }
    // The umask can only narrow 0600; fchmod makes the mode exact whatever it is.
    bool ok = ::fchmod(fd.fd, 0600) == 0 &&
              ::write(fd.fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd.fd) == 0;
    if (!ok) {
      return Status::Internal("cannot write master key file " + temp.string() + ": " +
                              ErrnoText(errno));
    }
    return Status::Ok();
  }();
  OPENSSL_cleanse(text.data(), text.size());
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written;
  }
  return temp;
}

// Creates `path` holding a new key. kConflict when another start created it first.
Result<MasterKey> CreateKeyFile(const std::filesystem::path& path) {
  MasterKey key;
  key.bytes = RandomBytes(Sealer::kMasterKeyBytes);
  key.origin = path.string();
  key.created = true;
  Result<std::filesystem::path> temp = WriteTempKeyFile(path, key.bytes);
  if (!temp) return temp.error();
  const int linked = ::link(temp->c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(temp->c_str());
  if (linked != 0) {
    if (link_errno == EEXIST) return Status::Conflict("created concurrently");
    return Status::Internal("cannot create master key file " + path.string() + ": " +
                            ErrnoText(link_errno));
  }
  TRIGGERD_RETURN_IF_ERROR(FsyncDir(path.parent_path()));
  return key;
}

}  // namespace

MasterKey::~MasterKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Result<std::string> ParseMasterKey(std::string_view text) {
  text = Trim(text);
  std::optional<std::string> key;
  if (text.size() == 2 * Sealer::kMasterKeyBytes) key = HexDecode(text);
  if (!key) key = Base64Decode(text);
  if (!key || key->size() != Sealer::kMasterKeyBytes) {
    if (key) OPENSSL_cleanse(key->data(), key->size());
    return Status::InvalidArgument(
        "a master key must be 32 random bytes written as 64 hex characters or in base64 (`openssl "
        "rand -base64 32` makes one); got " +
        std::to_string(text.size()) + " characters that are neither");
  }
  return std::move(*key);
}

Result<MasterKey> LoadMasterKey(const std::filesystem::path& data_dir,
                                std::optional<std::string_view> env_value) {
  if (env_value) {
    Result<std::string> key = ParseMasterKey(*env_value);
    if (!key) {
      return Status::InvalidArgument(std::string(kMasterKeyEnv) + ": " + key.error().message());
    }
    MasterKey out;
    out.bytes = std::move(key).value();
    out.origin = std::string(kMasterKeyEnv);
    return out;
  }
  const std::filesystem::path path = data_dir / kMasterKeyFileName;
  // Two rounds at most: a start that loses the creation race reads the winner's file.
  for (int round = 0; round < 2; ++round) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd >= 0) return ReadKeyFile(path, fd.fd);
    if (errno != ENOENT) {
      return Status::Internal("cannot open master key file " + path.string() + ": " +
                              ErrnoText(errno));
    }
    Result<MasterKey> created = CreateKeyFile(path);
    if (created || created.error().type() != ErrorType::kConflict) return created;
  }
  return Status::Internal("cannot create or read master key file " + path.string());
}

Result<MasterKey> ReadMasterKeyFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    return Status::Internal("cannot open master key file " + path.string() + ": " +
                            ErrnoText(errno));
  }
  return ReadKeyFile(path, fd.fd);
}

Status WriteMasterKeyFile(const std::filesystem::path& path, std::string_view key) {
  if (key.size() != Sealer::kMasterKeyBytes) {
    return Status::InvalidArgument("a master key must be 32 bytes");
  }
  Result<std::filesystem::path> temp = WriteTempKeyFile(path, key);
  if (!temp) return temp.error();
  if (::rename(temp->c_str(), path.c_str()) != 0) {
    const int rename_errno = errno;
    ::unlink(temp->c_str());
    return Status::Internal("cannot replace master key file " + path.string() + ": " +
                            ErrnoText(rename_errno));
  }
  return FsyncDir(path.parent_path());
}

Result<std::optional<MasterKey>> LoadPreviousMasterKey(const std::filesystem::path& data_dir,
                                                       std::optional<std::string_view> env_value) {
  if (env_value) {
    if (Trim(*env_value).empty()) return std::optional<MasterKey>();
    Result<std::string> key = ParseMasterKey(*env_value);
    if (!key) {
      return Status::InvalidArgument(std::string(kPreviousMasterKeyEnv) + ": " +
                                     key.error().message());
    }
    MasterKey out;
    out.bytes = std::move(key).value();
    out.origin = std::string(kPreviousMasterKeyEnv);
    return std::optional<MasterKey>(std::move(out));
  }
  const std::filesystem::path path = data_dir / kPreviousMasterKeyFileName;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) {
    if (errno == ENOENT) return std::optional<MasterKey>();
    return Status::Internal("cannot open master key file " + path.string() + ": " +
                            ErrnoText(errno));
  }
  Result<MasterKey> key = ReadKeyFile(path, fd.fd);
  if (!key) return key.error();
  return std::optional<MasterKey>(std::move(key).value());
}

}  // namespace triggerd::crypto
