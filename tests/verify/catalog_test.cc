// The provider catalog: complete for every preset, samples that parse and agree with where the
// preset reads the event type and delivery id, schemas that cover the payloads they were
// derived from, and verification summaries that name the headers the presets really send.
#include "verify/catalog.h"

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "test_util.h"
#include "verify/verify.h"

namespace triggerd::verify {
namespace {

namespace fs = std::filesystem;

boost::json::value ParseOrFail(std::string_view text, const std::string& what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << what << ": " << ec.message();
  return v;
}

// The dotted body field as ingest reads it (a string, or an integer as decimal text).
std::string ReadBodyField(const boost::json::value& payload, std::string_view path) {
  const boost::json::value* node = &payload;
  while (node != nullptr && !path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    node = node->is_object() ? node->as_object().if_contains(key) : nullptr;
  }
  if (node == nullptr) return "";
  if (node->is_string()) return std::string(node->as_string());
  if (node->is_int64()) return std::to_string(node->as_int64());
  return "";
}

// Every path of `value` spelled as filters spell it, array elements as "*".
void CollectPaths(const boost::json::value& value, const std::string& prefix,
                  std::set<std::string>* out) {
  if (const auto* object = value.if_object()) {
    for (const auto& [key, child] : *object) {
      if (key.empty() || key.find('.') != boost::json::string_view::npos || key == "*") continue;
      const std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
      out->insert(path);
      CollectPaths(child, path, out);
    }
  } else if (const auto* array = value.if_array()) {
    for (const auto& child : *array) {
      const std::string path = prefix.empty() ? "*" : prefix + ".*";
      out->insert(path);
      CollectPaths(child, path, out);
    }
  }
}

TEST(CatalogTest, CoversEveryPresetInOrder) {
  std::vector<std::string_view> presets;
  for (const auto& p : kProviders) {
    if (p.kind != "custom") presets.push_back(p.kind);
  }
  std::vector<std::string_view> catalog;
  for (const auto& c : Catalog()) catalog.push_back(c.kind);
  EXPECT_EQ(catalog, presets);
  EXPECT_EQ(FindCatalog("custom"), nullptr);
  EXPECT_EQ(FindCatalog("GitHub"), nullptr);
  ASSERT_NE(FindCatalog("github"), nullptr);
  EXPECT_EQ(FindCatalog("github")->kind, "github");
}

// Issue 18, item 10: what stored events redact and filters may not read.
TEST(CatalogTest, EveryPresetNamesItsCredentialHeadersAmongTheHeadersItReads) {
  for (const ProviderCatalog& p : Catalog()) {
    int credentials = 0;
    for (std::string_view credential : p.verification.credentials) {
      if (credential.empty()) continue;
      ++credentials;
      EXPECT_TRUE(IsCredentialHeader(credential)) << p.kind << " " << credential;
      bool read = false;
      for (std::string_view header : p.verification.headers) {
        read = read || (!header.empty() && header == credential);
      }
      EXPECT_TRUE(read) << p.kind << ": " << credential << " is not among its headers";
    }
    EXPECT_GT(credentials, 0) << p.kind;
  }
  EXPECT_TRUE(IsCredentialHeader("x-shopify-hmac-sha256"));
  EXPECT_TRUE(IsCredentialHeader("X-Gitlab-Token"));
  EXPECT_TRUE(IsCredentialHeader("X-Password"));
  EXPECT_FALSE(IsCredentialHeader("X-Slack-Request-Timestamp"));
  EXPECT_FALSE(IsCredentialHeader("webhook-id"));
  EXPECT_FALSE(IsCredentialHeader("X-GitHub-Event"));
}

TEST(CatalogTest, EveryPresetHasDescribedEventTypesWithUniqueNames) {
  for (const auto& provider : Catalog()) {
    SCOPED_TRACE(std::string(provider.kind));
    EXPECT_FALSE(provider.event_types.empty());
    std::set<std::string_view> names;
    for (const auto& e : provider.event_types) {
      EXPECT_TRUE(names.insert(e.name).second) << e.name;
      EXPECT_FALSE(e.description.empty()) << e.name;
      EXPECT_EQ(e.description.find('\n'), std::string_view::npos) << e.name;
      EXPECT_EQ(FindEventType(provider.kind, e.name), &e);
    }
    EXPECT_FALSE(provider.samples_origin.empty());
    EXPECT_FALSE(provider.verification.algorithm.empty());
    EXPECT_FALSE(provider.verification.headers[0].empty());
  }
  EXPECT_EQ(FindEventType("github", "pull_requests"), nullptr);
  EXPECT_EQ(FindEventType("nope", "push"), nullptr);
}

TEST(CatalogTest, GithubListsTheCommonEventsAndOnlyGithubIsReal) {
  for (const char* name : {"pull_request", "issues", "push", "issue_comment", "ping", "release",
                           "workflow_run", "check_suite"}) {
    EXPECT_NE(FindEventType("github", name), nullptr) << name;
  }
  for (const auto& provider : Catalog()) {
    EXPECT_EQ(provider.illustrative, provider.kind != "github") << provider.kind;
  }
}

// Where the preset reads the event type or delivery id from the body, the sample carries them,
// and the event type found is the catalog name (so `event_types` subscriptions match).
TEST(CatalogTest, EverySampleParsesAndCarriesWhatThePresetReadsFromTheBody) {
  for (const auto& provider : Catalog()) {
    const ProviderInfo* info = FindProvider(provider.kind);
    ASSERT_NE(info, nullptr) << provider.kind;
    for (const auto& e : provider.event_types) {
      const std::string what = std::string(provider.kind) + " " + std::string(e.name);
      boost::json::value sample = ParseOrFail(e.sample, what);
      EXPECT_TRUE(sample.is_object() || sample.is_array()) << what;
      if (info->event_type.source == FieldSource::kBodyField) {
        EXPECT_EQ(ReadBodyField(sample, info->event_type.name), e.name) << what;
      }
      if (info->delivery_id.source == FieldSource::kBodyField) {
        EXPECT_FALSE(ReadBodyField(sample, info->delivery_id.name).empty()) << what;
      }
    }
  }
}

TEST(CatalogTest, HandshakeSamplesParseAndAreDescribed) {
  std::set<std::string_view> with_handshake;
  for (const auto& provider : Catalog()) {
    if (provider.handshake == nullptr) continue;
    with_handshake.insert(provider.kind);
    EXPECT_FALSE(provider.handshake->name.empty());
    EXPECT_FALSE(provider.handshake->description.empty());
    EXPECT_TRUE(ParseOrFail(provider.handshake->sample, std::string(provider.kind)).is_object());
  }
  EXPECT_EQ(with_handshake, (std::set<std::string_view>{"discord", "notion", "slack"}));
  EXPECT_FALSE(FindCatalog("notion")->handshake->signed_by_provider);
  EXPECT_TRUE(FindCatalog("slack")->handshake->signed_by_provider);
}

TEST(CatalogTest, CommonEventsHaveSchemas) {
  for (const char* github : {"pull_request", "issues", "push", "issue_comment"}) {
    EXPECT_NE(FindSchema("github", github), nullptr) << github;
  }
  EXPECT_NE(FindSchema("jira", "jira:issue_created"), nullptr);
  EXPECT_NE(FindSchema("jira", "jira:issue_updated"), nullptr);
  for (const auto& e : FindCatalog("stripe")->event_types) {
    EXPECT_NE(FindSchema("stripe", e.name), nullptr) << e.name;
  }
  for (const auto& e : FindCatalog("zendesk")->event_types) {
    const bool ticket = e.name.starts_with("zen:event-type:ticket.");
    EXPECT_EQ(FindSchema("zendesk", e.name) != nullptr, ticket) << e.name;
  }
  EXPECT_EQ(FindSchema("github", "star"), nullptr);
  EXPECT_EQ(FindSchema("github", "nope"), nullptr);
  // Every schema in the catalog parses (FindSchema drops one that does not).
  for (const auto& provider : Catalog()) {
    for (const auto& e : provider.event_types) {
      if (!e.schema_json.empty()) {
        EXPECT_NE(FindSchema(provider.kind, e.name), nullptr) << provider.kind << " " << e.name;
      }
    }
  }
}

TEST(CatalogTest, SchemasCoverTheirSamples) {
  for (const auto& provider : Catalog()) {
    for (const auto& e : provider.event_types) {
      const EventSchema* schema = FindSchema(provider.kind, e.name);
      if (schema == nullptr) continue;
      std::set<std::string> paths;
      CollectPaths(ParseOrFail(e.sample, std::string(e.name)), "", &paths);
      for (const auto& path : paths) {
        EXPECT_TRUE(schema->Has(path)) << provider.kind << " " << e.name << ": " << path;
      }
    }
  }
}

// The GitHub schemas were derived from every octokit/webhooks payload of their event; they must
// still accept every path of every one of them (all actions, not only the catalog sample).
TEST(CatalogTest, GithubSchemasCoverEveryOctokitPayloadOfTheirEvent) {
  for (const char* event : {"pull_request", "issues", "push", "issue_comment"}) {
    const EventSchema* schema = FindSchema("github", event);
    ASSERT_NE(schema, nullptr);
    const fs::path dir = testing::SharedPath(std::string("payloads/github/") + event);
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      ++files;
      std::set<std::string> paths;
      CollectPaths(ParseOrFail(testing::ReadFileOrDie(entry.path()), entry.path().string()), "",
                   &paths);
      for (const auto& path : paths) {
        EXPECT_TRUE(schema->Has(path)) << entry.path().filename() << ": " << path;
      }
    }
    EXPECT_GT(files, 0) << event;
  }
}

// The GitHub samples are octokit's payloads unmodified (so the licence beside them applies).
TEST(CatalogTest, GithubSamplesAreOctokitPayloadsVerbatim) {
  for (const auto& e : FindCatalog("github")->event_types) {
    const fs::path dir = testing::SharedPath("payloads/github/" + std::string(e.name));
    bool found = false;
    for (const auto& entry : fs::directory_iterator(dir)) {
      found = found || testing::ReadFileOrDie(entry.path()) == e.sample;
    }
    EXPECT_TRUE(found) << e.name;
  }
}

// Every data file in src/verify/catalog is used by the catalog (catalog/files.cmake embeds what
// catalog.cc names; this catches a file added to the folder but to neither).
TEST(CatalogTest, EveryCatalogFileOnDiskIsInTheCatalog) {
  std::set<std::string_view> used;
  for (const auto& provider : Catalog()) {
    for (const auto& e : provider.event_types) {
      used.insert(e.sample);
      if (!e.schema_json.empty()) used.insert(e.schema_json);
    }
    if (provider.handshake != nullptr) used.insert(provider.handshake->sample);
  }
  std::set<std::string> on_disk;  // contents: two files may hold the same text
  const fs::path root = fs::path(TRIGGERD_SOURCE_DIR) / "src/verify/catalog";
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() != ".json") continue;
    const std::string text = testing::ReadFileOrDie(entry.path());
    on_disk.insert(text);
    EXPECT_TRUE(used.count(text)) << entry.path() << " is not referenced by catalog.cc";
  }
  EXPECT_EQ(on_disk.size(), used.size());
  EXPECT_TRUE(fs::exists(root / "github/LICENSE.octokit-webhooks"));
}

// The summary names every header the preset's signer sends (names compared case-insensitively),
// so the REST catalog cannot drift from the schemes.
TEST(CatalogTest, VerificationHeadersNameEveryHeaderTheSignerSends) {
  for (const auto& provider : Catalog()) {
    const std::string kind(provider.kind);
    std::string secret = "catalog-test-secret";
    if (kind == "discord") secret = crypto::HexEncode(std::string(32, '\x07'));
    if (kind == "standard-webhooks") secret = "whsec_" + crypto::Base64Encode(std::string(32, 'k'));
    SignRequest request;
    request.body = R"({"webhookTimestamp":1767225600000})";
    request.now_unix = 1767225600;
    request.url = "https://hooks.example.com/hook";
    auto headers = Sign(kind, AuthSettings{}, secret, request);
    ASSERT_OK(headers);
    for (const auto& header : *headers) {
      bool listed = false;
      for (std::string_view h : provider.verification.headers) {
        listed = listed || (!h.empty() && HeaderNameEquals(h, header.name));
      }
      EXPECT_TRUE(listed) << kind << " sends " << header.name;
    }
  }
}

TEST(CatalogTest, DefaultTolerancesComeFromTheSchemes) {
  EXPECT_EQ(DefaultToleranceSeconds("stripe"), 300);
  EXPECT_EQ(DefaultToleranceSeconds("calendly"), 180);
  EXPECT_EQ(DefaultToleranceSeconds("linear"), 60);
  EXPECT_EQ(DefaultToleranceSeconds("github"), 0);
  EXPECT_EQ(DefaultToleranceSeconds("custom"), 0);
  EXPECT_EQ(DefaultToleranceSeconds("nope"), std::nullopt);
  for (const auto& provider : Catalog()) {
    // A preset with a window says where its signed timestamp is, and only then.
    EXPECT_EQ(*DefaultToleranceSeconds(provider.kind) > 0, !provider.verification.timestamp.empty())
        << provider.kind;
  }
}

}  // namespace
}  // namespace triggerd::verify
