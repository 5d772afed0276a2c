// The providers' own signing libraries (npm, pinned in npm/package.json) sign the catalog's
// sample payloads; triggerd's verifier for that preset must accept every one and refuse it once
// the body is changed (and, where a timestamp is signed, once it is too old). This checks our
// reading of each scheme against the real senders' code, not only against our reading of their
// docs.
//
// Needs node and `npm ci --prefix tests/providers/npm`. Missing either, the test skips with a
// message, except under CI=true, where it fails: CI must run it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/catalog.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr std::string_view kTwilioUrl =
    "https://hooks.example.com/api/v1/w/ws_1/triggers/hooks/src_1/Xy7s?tenant=acme";

struct Library {
  std::string name;  // sign.mjs's library name, and the test's
  std::string kind;  // the preset whose verifier must accept it
  std::string secret;
  std::string samples_of;  // the catalog kind whose samples are signed
  bool timestamped = false;
};

void PrintTo(const Library& library, std::ostream* os) { *os << library.name; }

std::vector<Library> Libraries() {
  const std::string sw_secret = "whsec_" + crypto::Base64Encode("triggerd-official-signer-key-32b");
  return {
      {"octokit", "github", "It's a Secret to Everybody", "github"},
      {"stripe", "stripe", "whsec_test_7bT3hQ9xLm2Vn5Kp8Rw1Zy4Uc6Ed0Fg", "stripe", true},
      {"standardwebhooks", "standard-webhooks", sw_secret, "standard-webhooks", true},
      {"svix", "standard-webhooks", sw_secret, "standard-webhooks", true},
      {"shopify", "shopify", "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", "shopify"},
      {"twilio", "twilio", "12345abcdef67890abcdef12345abcde", "twilio"},
      {"twilio-json", "twilio", "12345abcdef67890abcdef12345abcde", "twilio"},
  };
}

bool Executable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

// $TRIGGERD_NODE, else `node` (or Debian's `nodejs`) on $PATH; "" when there is none.
std::string FindNode() {
  if (const char* env = std::getenv("TRIGGERD_NODE"); env != nullptr && *env != '\0') return env;
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (const char* name : {"node", "nodejs"}) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && Executable(fs::path(dir) / name)) return (fs::path(dir) / name).string();
    }
  }
  return "";
}

// Why the signers cannot run here, or "" when they can.
std::string MissingTooling(const std::string& node) {
  if (node.empty()) return "node is not installed (scripts/deps.sh installs it)";
  const fs::path modules = fs::path(TRIGGERD_SIGNERS_DIR) / "node_modules";
  for (const char* package : {"@octokit/webhooks-methods", "stripe", "standardwebhooks", "svix",
                              "@shopify/shopify-api", "twilio"}) {
    if (!fs::exists(modules / package / "package.json")) {
      return std::string("npm module ") + package +
             " is missing: run `npm ci --prefix tests/providers/npm`";
    }
  }
  return "";
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs sign.mjs on `requests`; the parsed answer, or a failure.
json::array RunSigner(const std::string& node, const json::array& requests) {
  testing::TempDir dir;
  const fs::path input = dir.path() / "requests.json";
  std::ofstream(input) << json::serialize(requests);
  const std::string command = ShellQuote(node) + " " +
                              ShellQuote((fs::path(TRIGGERD_SIGNERS_DIR) / "sign.mjs").string()) +
                              " < " + ShellQuote(input.string()) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return {};
  }
  std::string output;
  char buffer[65536];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  boost::system::error_code ec;
  json::value answer = json::parse(output, ec);
  if (status != 0 || ec || !answer.is_array()) {
    ADD_FAILURE() << "sign.mjs failed (status " << status << "): " << output.substr(0, 2000);
    return {};
  }
  return answer.as_array();
}

std::string FormEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// application/x-www-form-urlencoded, as Twilio posts its parameters.
std::string FormEncode(const json::object& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += FormEscape(name) + "=" + FormEscape(value.as_string());
  }
  return out;
}

class OfficialSignerTest : public ::testing::TestWithParam<Library> {
 protected:
  void SetUp() override {
    node_ = FindNode();
    const std::string missing = MissingTooling(node_);
    if (missing.empty()) return;
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string_view(ci) == "true") {
      FAIL() << missing << " (CI=true: the official signers must run in CI)";
    }
    GTEST_SKIP() << missing;
  }

  // One request per catalog sample of the library's preset, plus a body with non-ASCII text.
  json::array Requests() const {
    const Library& lib = GetParam();
    std::vector<std::string> bodies;
    for (const auto& e : FindCatalog(lib.samples_of)->event_types) bodies.emplace_back(e.sample);
    json::array requests;
    int i = 0;
    for (const auto& body : bodies) {
      json::object r{{"library", lib.name},
                     {"secret", lib.secret},
                     {"timestamp", kNow},
                     {"msg_id", "msg_2Lh9Pq" + std::to_string(i++)},
                     {"url", kTwilioUrl}};
      if (lib.name == "twilio") {
        json::object params = json::parse(body).as_object();
        r["params"] = params;
        r["body"] = FormEncode(params);
      } else {
        r["body"] = body;
      }
      requests.push_back(std::move(r));
    }
    if (lib.name != "twilio") {
      requests.push_back(
          json::object{{"library", lib.name},
                       {"secret", lib.secret},
                       {"timestamp", kNow},
                       {"msg_id", "msg_utf8"},
                       {"url", kTwilioUrl},
                       {"body", "{\"text\":\"h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80\"}\n"}});
    }
    return requests;
  }

  Status Check(const Verifier& verifier, const Headers& headers, std::string_view body,
               std::string_view url, int64_t now = kNow) {
    return verifier.Verify(Request{headers, body, "POST", url, now});
  }

  std::string node_;
};

TEST_P(OfficialSignerTest, VerifierAcceptsWhatTheLibrarySignsAndRefusesTampering) {
  const Library& lib = GetParam();
  Secrets secrets;
  secrets.signing = {lib.secret};
  auto verifier = MakeVerifier(lib.kind, AuthSettings{}, secrets);
  ASSERT_OK(verifier);

  const json::array requests = Requests();
  const json::array signed_requests = RunSigner(node_, requests);
  ASSERT_EQ(signed_requests.size(), requests.size());
  for (size_t i = 0; i < signed_requests.size(); ++i) {
    const json::object& s = signed_requests[i].as_object();
    ASSERT_FALSE(s.contains("error")) << json::serialize(s);
    Headers headers;
    for (const auto& [name, value] : s.at("headers").as_object()) {
      headers.push_back({std::string(name), std::string(value.as_string())});
    }
    const std::string body(s.at("body").as_string());
    const std::string url =
        s.contains("url") ? std::string(s.at("url").as_string()) : std::string(kTwilioUrl);
    SCOPED_TRACE(lib.name + " request " + std::to_string(i) + ": " +
                 json::serialize(s.at("headers")));

    EXPECT_OK(Check(**verifier, headers, body, url));

    // Any change to the body is refused.
    const std::string tampered =
        lib.name == "twilio" ? body + "&Injected=1" : body.substr(0, body.size() - 1) + " ";
    Status refused = Check(**verifier, headers, tampered, url);
    EXPECT_EQ(refused.type(), ErrorType::kUnauthenticated) << refused.ToString();
    // So is the right body under another secret.
    Secrets other;
    other.signing = {lib.name == "standardwebhooks" || lib.name == "svix"
                         ? "whsec_" + crypto::Base64Encode("another-key-of-thirty-two-bytes!")
                         : lib.secret + "x"};
    auto wrong = MakeVerifier(lib.kind, AuthSettings{}, other);
    ASSERT_OK(wrong);
    EXPECT_EQ(Check(**wrong, headers, body, url).type(), ErrorType::kUnauthenticated);
    // The library's signed timestamp is the one checked: an hour later it is too old.
    if (lib.timestamped) {
      Status late = Check(**verifier, headers, body, url, kNow + 3600);
      EXPECT_EQ(late.code(), kTimestampOutOfTolerance) << late.ToString();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Libraries, OfficialSignerTest, ::testing::ValuesIn(Libraries()),
                         [](const ::testing::TestParamInfo<Library>& info) {
                           std::string name;
                           for (char c : info.param.name) name += std::isalnum(c) ? c : '_';
                           return name;
                         });

// The pinned versions, printed so a failure names what it ran against.
TEST(OfficialSignerVersionsTest, ReportsThePinnedLibraryVersions) {
  const std::string node = FindNode();
  const std::string missing = MissingTooling(node);
  if (!missing.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string_view(ci) == "true") FAIL() << missing;
    GTEST_SKIP() << missing;
  }
  const std::string command = ShellQuote(node) + " " +
                              ShellQuote((fs::path(TRIGGERD_SIGNERS_DIR) / "sign.mjs").string()) +
                              " --versions";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  std::string output;
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << output;
  json::object versions = json::parse(output).as_object();
  EXPECT_EQ(versions.size(), 6u) << output;
  RecordProperty("versions", output);
  std::printf("official signers: %s", output.c_str());
}

}  // namespace
}  // namespace triggerd::verify
