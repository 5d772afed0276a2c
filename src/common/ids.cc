#include "common/ids.h"

#include "common/crypto.h"

namespace triggerd {
namespace {
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
}  // namespace

namespace {

// Random base62 characters for ids, from a per-thread pool refilled 4 KiB at a time from the
// CSPRNG: a fan-out creates thousands of run ids per event, and one RAND_bytes call each (with
// its fork check, a getpid system call) was most of their cost. Ids are not secrets, so holding
// CSPRNG output for a while is harmless; secrets (keys, tokens) still come straight from
// crypto::RandomToken.
void AppendRandomBase62(std::string* out, size_t n) {
  thread_local std::string pool;
  thread_local size_t next = 0;
  while (n > 0) {
    if (next == pool.size()) {
      pool = crypto::RandomBytes(4096);
      next = 0;
    }
    auto b = static_cast<unsigned char>(pool[next++]);
    // Rejection sampling keeps the distribution uniform: 248 = 4 * 62.
    if (b < 248) {
      *out += kBase62[b % 62];
      --n;
    }
  }
}

}  // namespace

std::string NewId(std::string_view prefix) {
  // From the pool too: every HTTP request without a usable X-Request-Id gets a "req_" id, and a
  // RAND_bytes call each was ~3% of an io thread's time under load.
  std::string id;
  id.reserve(prefix.size() + 1 + 22);
  id.append(prefix);
  id += '_';
  AppendRandomBase62(&id, 22);
  return id;
}

std::string NewTimeOrderedId(std::string_view prefix, int64_t unix_micros) {
  // 9 base62 digits cover 62^9 ~ 1.35e16 micros, i.e. until the year 2397; fixed width keeps the
  // lexicographic order equal to the time order (the digit alphabet is in ASCII order).
  char time_part[9];
  auto v = static_cast<uint64_t>(unix_micros < 0 ? 0 : unix_micros);
  for (int i = 8; i >= 0; --i) {
    time_part[i] = kBase62[v % 62];
    v /= 62;
  }
  std::string id(prefix);
  id += '_';
  id.reserve(prefix.size() + 1 + 9 + 16);
  id.append(time_part, 9);
  AppendRandomBase62(&id, 16);
  return id;
}

bool IsWellFormedId(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() + 1 || id.substr(0, prefix.size()) != prefix ||
      id[prefix.size()] != '_') {
    return false;
  }
  std::string_view rest = id.substr(prefix.size() + 1);
  if (rest.size() > 64) return false;
  for (char c : rest) {
    if (!IsBase62(c)) return false;
  }
  return true;
}

}  // namespace triggerd
