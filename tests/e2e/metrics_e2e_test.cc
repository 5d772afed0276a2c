// GET /metrics and GET /api/v1/openapi.json on the real binary: webhooks and API calls move the
// counters they should, route labels are patterns (never raw paths), and the module stats
// (ingest, store) agree with what was sent and stored.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "http_client.h"
#include "recording_target.h"
#include "test_util.h"
#include "triggerd_process.h"

namespace triggerd {
namespace {

using testing::HttpClient;
using testing::HttpResult;
using testing::TempDir;
using testing::TriggerdProcess;
namespace json = boost::json;

constexpr const char* kIngestRoute = "/api/v1/w/{workspace_id}/triggers/hooks/{source_id}";

// A parsed exposition: "name{a=\"x\",b=\"y\"}" (labels sorted by name, values unescaped) ->
// value, and the TYPE of each family.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::string error;  // the first line that does not parse

  // The value of `name` with exactly these labels; -1 when absent.
  double Get(const std::string& name, std::map<std::string, std::string> labels = {}) const {
    auto it = samples.find(Key(name, labels));
    return it == samples.end() ? -1 : it->second;
  }
  // Sum over every series of `name` whose labels include `match`.
  double Sum(const std::string& name, const std::map<std::string, std::string>& match) const {
    double total = 0;
    for (const auto& [key, value] : samples) {
      if (key != name && key.rfind(name + "{", 0) != 0) continue;
      bool all = true;
      for (const auto& [label, v] : match) {
        all = all && key.find(label + "=\"" + v + "\"") != std::string::npos;
      }
      if (all) total += value;
    }
    return total;
  }
  static std::string Key(const std::string& name, const std::map<std::string, std::string>& l) {
    if (l.empty()) return name;
    std::string key = name + "{";
    for (const auto& [label, value] : l) {
      if (key.back() != '{') key += ',';
      key += label + "=\"" + value + "\"";
    }
    return key + "}";
  }
};

// Parses the text format 0.0.4 strictly enough to catch malformed output: every sample line is
// name, optional {label="value",...} with \\, \" and \n escapes, one space, a number.
Scrape ParseExposition(const std::string& text) {
  Scrape out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      out.error = "no final newline";
      break;
    }
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      size_t space = line.find(' ', 7);
      out.types[line.substr(7, space - 7)] = line.substr(space + 1);
      continue;
    }
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.empty() || line[0] == '#') {
      if (out.error.empty()) out.error = "unexpected line: " + line;
      continue;
    }
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    std::map<std::string, std::string> labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find("=\"", i);
        if (eq == std::string::npos) break;
        std::string label = line.substr(i, eq - i);
        i = eq + 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
        labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      if (out.error.empty()) out.error = "no value: " + line;
      continue;
    }
    out.samples[Scrape::Key(name, labels)] = std::stod(line.substr(i + 1));
  }
  return out;
}

class MetricsE2eTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args = {}) {
    process_ = std::make_unique<TriggerdProcess>(dir_.path() / "data", std::move(args));
    ASSERT_TRUE(process_->Start()) << process_->error();
    client_ = std::make_unique<HttpClient>("127.0.0.1", process_->port());
    admin_ = process_->AdminKey();
    ASSERT_FALSE(admin_.empty());
  }

  Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

  Scrape ScrapeMetrics(const Headers& headers = {}) {
    HttpResult r = client_->Send("GET", "/metrics", "", headers);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    Scrape scrape = ParseExposition(r.body);
    EXPECT_EQ(scrape.error, "") << r.body;
    return scrape;
  }

  TempDir dir_;
  std::unique_ptr<TriggerdProcess> process_;
  std::unique_ptr<HttpClient> client_;
  std::string admin_;
};

TEST_F(MetricsE2eTest, WebhooksAndApiCallsMoveTheirCounters) {
  Start();
  HttpResult created = client_->Send(
      "POST", "/api/v1/sources",
      R"({"name":"metrics","auth":{"bearer":true},"delivery_id_header":"X-Delivery"})",
      Auth(admin_));
  ASSERT_EQ(created.status, 201) << created.body;
  json::object source = json::parse(created.body).as_object();
  const std::string source_id(source.at("id").as_string());
  const std::string token(source.at("token").as_string());
  std::string url(source.at("url").as_string());
  url = url.substr(url.find("/api/v1/w/"));
  const std::string short_path = url.substr(0, url.rfind('/'));  // without the URL secret

  auto webhook = [&](const std::string& delivery, const std::string& bearer) {
    return client_->Send("POST", short_path, R"({"n":1})",
                         {{"Content-Type", "application/json"},
                          {"Authorization", "Bearer " + bearer},
                          {"X-Delivery", delivery}});
  };
  for (const char* delivery : {"d1", "d2", "d3"}) EXPECT_EQ(webhook(delivery, token).status, 200);
  HttpResult duplicate = webhook("d2", token);
  EXPECT_EQ(duplicate.status, 200);
  EXPECT_NE(duplicate.body.find("\"duplicate\":true"), std::string::npos) << duplicate.body;
  EXPECT_EQ(webhook("d4", "tdt_wrong").status, 401);
  EXPECT_EQ(client_->Send("GET", short_path).status, 405);  // answered from the head
  const std::string unknown_source =
      short_path.substr(0, short_path.rfind('/')) + "/src_doesnotexist";
  EXPECT_EQ(client_->Send("POST", unknown_source, "{}").status, 404);
  EXPECT_EQ(client_->Send("GET", "/no/such/path").status, 404);

  EXPECT_EQ(client_->Send("GET", "/api/v1/sources/" + source_id, "", Auth(admin_)).status, 200);
  EXPECT_EQ(client_->Send("GET", "/api/v1/sources/" + source_id, "", Auth(admin_)).status, 200);
  EXPECT_EQ(client_->Send("GET", "/api/v1/sources/src_missing", "", Auth(admin_)).status, 404);
  EXPECT_EQ(client_->Send("GET", "/api/v1/me").status, 401);
  HttpResult events =
      client_->Send("GET", "/api/v1/events?source_id=" + source_id, "", Auth(admin_));
  ASSERT_EQ(events.status, 200) << events.body;
  const size_t stored = json::parse(events.body).at("data").as_array().size();
  EXPECT_EQ(stored, 3u);

  ScrapeMetrics();  // counted in the next scrape, not in its own
  Scrape m = ScrapeMetrics();
  const std::string requests = "triggerd_http_requests_total";
  // Route labels are patterns: the raw paths (ids, secrets) never appear.
  EXPECT_EQ(m.Get(requests, {{"route", kIngestRoute}, {"method", "POST"}, {"code", "200"}}), 4);
  EXPECT_EQ(m.Get(requests, {{"route", kIngestRoute}, {"method", "POST"}, {"code", "401"}}), 1);
  EXPECT_EQ(m.Get(requests, {{"route", kIngestRoute}, {"method", "POST"}, {"code", "404"}}), 1);
  EXPECT_EQ(m.Get(requests, {{"route", kIngestRoute}, {"method", "GET"}, {"code", "405"}}), 1);
  EXPECT_EQ(m.Get(requests, {{"route", "unmatched"}, {"method", "GET"}, {"code", "404"}}), 1);
  EXPECT_EQ(
      m.Get(requests, {{"route", "/api/v1/sources/{id}"}, {"method", "GET"}, {"code", "200"}}), 2);
  EXPECT_EQ(
      m.Get(requests, {{"route", "/api/v1/sources/{id}"}, {"method", "GET"}, {"code", "404"}}), 1);
  EXPECT_EQ(m.Get(requests, {{"route", "/api/v1/sources"}, {"method", "POST"}, {"code", "201"}}),
            1);
  EXPECT_EQ(m.Get(requests, {{"route", "/api/v1/me"}, {"method", "GET"}, {"code", "401"}}), 1);
  EXPECT_EQ(m.Get(requests, {{"route", "/metrics"}, {"method", "GET"}, {"code", "200"}}), 1);
  for (const auto& [key, value] : m.samples) {
    // Only the by-source failure count names a source (by id, never by URL secret).
    if (key.rfind("triggerd_ingest_auth_failures_total{", 0) == 0) continue;
    EXPECT_EQ(key.find(source_id), std::string::npos) << "raw path in a label: " << key;
  }
  EXPECT_EQ(m.Get("triggerd_ingest_auth_failures_total", {{"source_id", source_id}}), 1);
  // The duration histogram counts every answered request of the route, head answers included.
  const std::string duration = "triggerd_http_request_duration_seconds";
  EXPECT_EQ(m.Get(duration + "_count", {{"route", kIngestRoute}}), 7);
  EXPECT_EQ(m.Get(duration + "_bucket", {{"route", kIngestRoute}, {"le", "+Inf"}}), 7);
  EXPECT_GT(m.Get(duration + "_sum", {{"route", kIngestRoute}}), 0);
  EXPECT_EQ(m.Get(duration + "_count", {{"route", "/api/v1/sources/{id}"}}),
            m.Sum(requests, {{"route", "/api/v1/sources/{id}"}}));
  EXPECT_EQ(m.types[requests], "counter");
  EXPECT_EQ(m.types[duration], "histogram");

  // Module stats, read at scrape time.
  EXPECT_EQ(m.Get("triggerd_ingest_events_accepted_total"), 3);
  EXPECT_EQ(m.Get("triggerd_ingest_duplicates_total"), 1);
  EXPECT_EQ(m.Get("triggerd_ingest_refused_total", {{"reason", "auth"}}), 1);
  EXPECT_GE(m.Get("triggerd_ingest_refused_total", {{"reason", "other"}}), 2);  // 404 and 405
  EXPECT_EQ(m.Get("triggerd_store_events_committed_total"), static_cast<double>(stored));
  EXPECT_EQ(m.Get("triggerd_store_duplicates_total"), 1);
  EXPECT_GE(m.Get("triggerd_store_batches_total"), 1);
  EXPECT_LE(m.Get("triggerd_store_batches_total"),
            m.Get("triggerd_store_events_committed_total") +
                m.Get("triggerd_store_duplicates_total") +
                m.Get("triggerd_store_writes_committed_total"));
  EXPECT_GE(m.Get("triggerd_store_batch_size_max"), 1);
  EXPECT_EQ(m.Get("triggerd_store_queue_depth"), 0);
  EXPECT_EQ(m.Get("triggerd_store_failed_batches_total"), 0);
  EXPECT_EQ(m.types["triggerd_store_queue_depth"], "gauge");
  EXPECT_EQ(m.Get("triggerd_dispatch_claimed_total"), 0);  // no triggers: no runs
  EXPECT_EQ(m.Get("triggerd_dispatch_attempts_total", {{"outcome", "succeeded"}}), 0);
  EXPECT_EQ(m.Get("triggerd_dispatch_in_flight"), 0);
}

TEST_F(MetricsE2eTest, FiltersRunsAndDispatchLatencyAreCounted) {
  testing::RecordingTarget agent_endpoint(
      [](const auto&, const auto&) { return testing::RecordingTarget::Reply(200, "{}"); });
  Start();
  auto post = [&](const std::string& path, const std::string& body) {
    HttpResult r = client_->Send("POST", path, body,
                                 {{"Authorization", "Bearer " + admin_},
                                  {"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).as_object();
  };
  json::object source = post("/api/v1/sources", R"({"name":"s"})");
  json::object agent = post("/api/v1/agents", R"({"name":"a","target":{"type":"http","url":")" +
                                                  agent_endpoint.Url("/run") + R"("}})");
  post("/api/v1/triggers", R"({"name":"opened","source_id":")" +
                               std::string(source.at("id").as_string()) + R"(","agent_id":")" +
                               std::string(agent.at("id").as_string()) +
                               R"j(","filter":"(eq \"action\" \"opened\")"})j");
  std::string url(source.at("url").as_string());
  url = url.substr(url.find("/api/v1/w/"));
  for (const char* action : {"opened", "closed", "opened"}) {
    HttpResult r = client_->Send("POST", url, std::string(R"({"action":")") + action + "\"}",
                                 {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  ASSERT_TRUE(agent_endpoint.WaitFor([](const auto& got) { return got.size() >= 2; },
                                     std::chrono::seconds(20)));
  // The attempts are recorded just after the agent answers, each series on its own (a scrape
  // can see the counter and not yet the histograms): scrape until every one counts both.
  Scrape m;
  for (int i = 0; i < 400; ++i) {
    m = ScrapeMetrics();
    if (m.Get("triggerd_dispatch_attempts_total", {{"outcome", "succeeded"}}) == 2 &&
        m.Get("triggerd_dispatch_attempt_duration_seconds_count", {{"outcome", "succeeded"}}) ==
            2 &&
        m.Get("triggerd_dispatch_first_attempt_delay_seconds_count") == 2) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(m.Get("triggerd_filter_evaluations_total"), 3);
  EXPECT_EQ(m.Get("triggerd_filter_matches_total"), 2);
  EXPECT_EQ(m.Get("triggerd_filter_errors_total"), 0);
  EXPECT_EQ(m.Get("triggerd_dispatch_attempt_duration_seconds_count", {{"outcome", "succeeded"}}),
            2);
  EXPECT_EQ(m.Get("triggerd_dispatch_first_attempt_delay_seconds_count"), 2);
  EXPECT_EQ(m.types["triggerd_dispatch_attempt_duration_seconds"], "histogram");
  // Live runs: none waiting once both succeeded.
  EXPECT_EQ(m.Get("triggerd_runs", {{"status", "queued"}}), 0);
  EXPECT_EQ(m.Get("triggerd_runs", {{"status", "running"}}), 0);
  EXPECT_EQ(m.types["triggerd_runs"], "gauge");
}

TEST_F(MetricsE2eTest, OpenApiDocumentIsServedWithoutAKey) {
  Start();
  HttpResult r = client_->Send("GET", "/api/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  json::object doc = json::parse(r.body).as_object();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  EXPECT_TRUE(doc.at("paths").as_object().contains("/api/v1/sources/{id}"));
}

TEST_F(MetricsE2eTest, MetricsRequireKeyWhenConfigured) {
  const auto config = dir_.path() / "triggerd.yaml";
  std::ofstream(config) << "metrics_require_key: true\n";
  Start({"--config", config.string()});
  HttpResult refused = client_->Send("GET", "/metrics");
  EXPECT_EQ(refused.status, 401) << refused.body;
  Scrape m = ScrapeMetrics(Auth(admin_));
  EXPECT_EQ(m.Get("triggerd_http_requests_total",
                  {{"route", "/metrics"}, {"method", "GET"}, {"code", "401"}}),
            1);
}

}  // namespace
}  // namespace triggerd
