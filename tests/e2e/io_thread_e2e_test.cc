// A management call waiting on the store must not hold the io thread that webhooks need
// (issue 17: management handlers run on a blocking pool and answer through the Reply).
//
// The real binary with ONE io thread, on PostgreSQL: a test connection holds a row lock on
// source B, so `PATCH /api/v1/sources/B` waits inside its UPDATE for as long as the test likes —
// a slow store write, made with the real database and no stand-in. While it waits, a signed
// webhook to source A (whose append does not touch B's row) must be answered 200. Before the
// change the PATCH ran on the only io thread, and the webhook waited for the lock to go.
//
// Needs TRIGGERD_TEST_PG_URL (scripts/test.sh starts a cluster): skipped without it, failed
// under CI=true.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "common/crypto.h"
#include "http_client.h"
#include "store_backend.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd::e2e {
namespace {

namespace json = boost::json;
using testing::HttpClient;
using testing::HttpResult;
using testing::TriggerdProcess;
using namespace std::chrono_literals;

constexpr std::string_view kSecret = "io-thread-signing-secret";
constexpr std::string_view kMasterKey =
    "696f2d7468726561642d6532652d746573742d6d61737465722d6b65792121ab";

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : "";
}

// A libpq connection of the test's own, in the test's schema.
class RawConnection {
 public:
  explicit RawConnection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {}
  ~RawConnection() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  std::string error() const { return PQerrorMessage(conn_); }
  // Runs one statement; the error text, or "" on success.
  std::string Exec(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    std::string error;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(result);
    }
    PQclear(result);
    return error;
  }

 private:
  PGconn* conn_;
};

class IoThreadE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = store::testing::RequireBackend("postgres");
    if (backend_ == nullptr) return;  // skipped (or failed under CI=true)
    // One io thread, so that a blocked one would stall every connection.
    process_ = std::make_unique<TriggerdProcess>(
        dir_.path() / "node",
        std::vector<std::string>{"--threads", "1", "--database-url", backend_->location()});
    process_->SetEnv("TRIGGERD_MASTER_KEY", std::string(kMasterKey));
    ASSERT_TRUE(process_->Start()) << process_->error();
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  HttpResult Api(HttpClient& client, const std::string& method, const std::string& path,
                 const json::object& body = {}) {
    Headers headers = {{"Authorization", "Bearer " + admin_},
                       {"Content-Type", "application/json"}};
    return client.Send(method, path, json::serialize(body), headers);
  }

  // A github source; returns {id, ingest path}.
  std::pair<std::string, std::string> CreateSource(HttpClient& client, const std::string& name) {
    HttpResult r = Api(client, "POST", "/api/v1/sources",
                       {{"name", name}, {"kind", "github"}, {"secret", kSecret}});
    EXPECT_EQ(r.status, 201) << r.body;
    json::object source = Parse(r.body);
    const std::string url = Str(source, "url");
    return {Str(source, "id"), url.substr(url.find("/api/v1/w/"))};
  }

  HttpResult Deliver(HttpClient& client, const std::string& path, const std::string& delivery) {
    const std::string body = R"({"action":"opened"})";
    return client.Send(
        "POST", path, body,
        {{"Content-Type", "application/json"},
         {"X-GitHub-Event", "issues"},
         {"X-GitHub-Delivery", delivery},
         {"X-Hub-Signature-256",
          "sha256=" + crypto::HexEncode(crypto::Hmac(crypto::DigestAlgorithm::kSha256, kSecret,
                                                     body))}});
  }

  std::unique_ptr<store::testing::StoreBackend> backend_;
  testing::TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::string admin_;
};

TEST_F(IoThreadE2eTest, AWebhookIsAnsweredWhileAManagementWriteWaitsOnTheStore) {
  if (backend_ == nullptr) return;
  HttpClient setup("127.0.0.1", process_->port());
  auto [a_id, a_path] = CreateSource(setup, "a");
  auto [b_id, b_path] = CreateSource(setup, "b");
  ASSERT_EQ(Deliver(setup, a_path, "warm-up").status, 200);

  RawConnection lock(backend_->location());
  ASSERT_TRUE(lock.ok()) << lock.error();
  ASSERT_EQ(lock.Exec("BEGIN"), "");
  ASSERT_EQ(lock.Exec("SELECT 1 FROM sources WHERE id = '" + b_id + "' FOR UPDATE"), "");

  // The PATCH waits in its UPDATE of B's row, on the server, until the lock goes.
  auto patch = std::async(std::launch::async, [&, b_id = b_id] {
    HttpClient client("127.0.0.1", process_->port());
    return Api(client, "PATCH", "/api/v1/sources/" + b_id, {{"name", "b-renamed"}}).status;
  });
  // Give the PATCH time to reach the lock (it would answer now if it could not be blocked).
  EXPECT_EQ(patch.wait_for(500ms), std::future_status::timeout)
      << "the PATCH did not wait for the row lock: the test proves nothing";

  auto webhook = std::async(std::launch::async, [&, a_path = a_path] {
    HttpClient client("127.0.0.1", process_->port());
    return Deliver(client, a_path, "while-locked").status;
  });
  // A generous "did not hang" bound, not a speed claim: a blocked io thread never answers
  // before the lock goes.
  const bool answered = webhook.wait_for(15s) == std::future_status::ready;

  ASSERT_EQ(lock.Exec("COMMIT"), "");
  EXPECT_TRUE(answered) << "the webhook waited for a management call's store write";
  EXPECT_EQ(webhook.get(), 200);
  EXPECT_EQ(patch.get(), 200);
}

}  // namespace
}  // namespace triggerd::e2e
