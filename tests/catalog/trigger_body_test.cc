// catalog::ApplyTriggerBody: what a trigger body may say (issue 18, item 1: no filter reads a
// credential header).
#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include "catalog/validate.h"
#include "store/store.h"
#include "test_util.h"

namespace triggerd::catalog {
namespace {

std::optional<BodyError> ApplyFilter(std::string_view filter, store::Store* references = nullptr,
                                     store::Trigger* trigger = nullptr) {
  store::Trigger scratch;
  scratch.workspace_id = "ws_1";
  scratch.source_id = "src_1";
  boost::json::object body{{"filter", filter}};
  return ApplyTriggerBody(references, body, /*creating=*/false,
                          trigger != nullptr ? trigger : &scratch);
}

TEST(TriggerBodyTest, RefusesFiltersReadingCredentialHeaders) {
  for (const char* filter : {
           R"((matches "$headers.authorization" "^Bearer tdt_a"))",
           R"((or (eq "a" 1) (exists "$headers.X-Shopify-Hmac-Sha256")))",
           R"((eq "$headers.X-Hub-Signature-256" "sha256=00"))",
           R"((starts-with "$headers.x_api_key" "k"))",
           R"((eq "$headers.Cookie" "c"))",
       }) {
    std::optional<BodyError> e = ApplyFilter(filter);
    ASSERT_TRUE(e.has_value()) << filter;
    EXPECT_EQ(e->status.code(), "filter_reads_credential") << filter;
    EXPECT_EQ(e->status.type(), ErrorType::kInvalidArgument);
    EXPECT_EQ(e->field, "filter");
    EXPECT_NE(e->status.message().find("credential header"), std::string::npos)
        << e->status.message();
  }
  std::optional<BodyError> e = ApplyFilter(R"((and (eq "a" 1)
  (eq "$headers.Authorization" "x")))");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status.message().substr(0, 5), "2:3: ") << e->status.message();
  // Other headers, $event and the payload stay readable.
  EXPECT_FALSE(ApplyFilter(R"((and (eq "$headers.X-GitHub-Event" "push") (eq "$event" "p")))"));
}

TEST(TriggerBodyTest, RefusesTheSourcesOwnSignatureHeader) {
  testing::TempDir dir;
  store::SqliteOptions options;
  options.path = (dir.path() / "t.db").string();
  options.master_key = std::string(testing::kTestMasterKey);
  auto opened = store::OpenSqliteStore(options);
  ASSERT_OK(opened);
  std::unique_ptr<store::Store> store = std::move(*opened);
  ASSERT_OK(store->CreateWorkspace({"ws_1", "default", 1}));
  store::Source source;
  source.id = "src_1";
  source.workspace_id = "ws_1";
  source.name = "s";
  source.url_secret = "u";
  source.auth_json = R"({"hmac":{"header":"X-Hook-Digest"}})";
  source.signing_secret = "k";
  ASSERT_OK(store->CreateSource(source));
  std::optional<BodyError> e = ApplyFilter(R"((eq "$headers.x-hook-digest" "ab"))", store.get());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status.code(), "filter_reads_credential");
  // Without the store (the config file resolves sources itself) the name alone decides.
  EXPECT_FALSE(ApplyFilter(R"((eq "$headers.x-hook-digest" "ab"))"));
  store->Close();
}

}  // namespace
}  // namespace triggerd::catalog
