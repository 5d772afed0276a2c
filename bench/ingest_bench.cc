// ingest_bench: the webhook body phase on real GitHub payloads, from the parts to the whole.
//
//   BM_GithubVerify        X-Hub-Signature-256 check (HMAC-SHA256 over the raw body), the verifier
//                          ingest caches per source.
//   BM_JsonParse           boost::json::parse of the body with ingest's parse options.
//   BM_JsonParseArena      the same into a per-request monotonic_resource (a possible change).
//   BM_JsonValidate        the grammar check alone (ingest::ParseBody without a document), what
//                          ingest does when no trigger reads the payload.
//   BM_IngestBodyPhase     Ingestor::Admit + Ingestor::Ingest (verify, parse, event type and
//                          delivery id, header redaction, event id) with a store whose append
//                          answers at once: everything up to, not including, the durable append.
//   BM_IngestDurable/T     Ingestor::Ingest against a real SQLite store (WAL, synchronous=FULL) in
//                          a temp dir, T threads each waiting for its own event to be durable
//                          before sending the next (like T keep-alive connections). Reports the
//                          group-commit batch statistics from Store::Stats().
//
// Payloads: every *.json under ../shared/payloads/github/<event>/ (the octokit examples), each
// signed the way GitHub signs it (verify::Sign), X-GitHub-Event = the directory name. The /pr8k
// variants use ../shared/bench/github-pr.json, the body bench/load.sh sends through wrk.
//
// Benchmarks report (bytes/s, items/s, batch counters); they never assert times. The temp
// directory of BM_IngestDurable is created under $TMPDIR (default /tmp), which must be a real
// disk for the fsync cost to be the real one (tmpfs would make durability free).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/headers.h"
#include "ingest/body.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "verify/verify.h"

namespace triggerd {
namespace {

// Benchmarks drive one source as hard as they can: without the production rate limits.
ingest::Options BenchIngestOptions() {
  ingest::Options options;
  options.per_source = {};
  options.per_workspace = {};
  return options;
}

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "triggerd-bench-secret";
constexpr std::string_view kWorkspace = "ws_bench";
constexpr std::string_view kSourceId = "src_bench";
constexpr std::string_view kUrlSecret = "bench-url-secret";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct Payload {
  std::string event;  // X-GitHub-Event
  std::string body;
  Headers headers;    // as wrk + Beast hand them to ingest, minus the delivery id
};

Headers GithubHeaders(const Payload& p) {
  verify::SignRequest sign;
  sign.body = p.body;
  auto signed_headers = verify::Sign("github", verify::AuthSettings{}, kSecret, sign);
  if (!signed_headers) Die("sign: " + signed_headers.error().message());
  Headers headers = {
      {"Host", "127.0.0.1:18080"},
      {"Content-Type", "application/json"},
      {"User-Agent", "GitHub-Hookshot/5a7b2c1"},
      {"X-GitHub-Event", p.event},
      {"X-GitHub-Hook-ID", "512398741"},
      {"X-GitHub-Hook-Installation-Target-Type", "repository"},
      {"X-GitHub-Hook-Installation-Target-ID", "582917344"},
      {"Content-Length", std::to_string(p.body.size())},
  };
  for (auto& h : *signed_headers) headers.push_back(std::move(h));
  return headers;
}

// Every octokit GitHub example, sorted by path so runs are comparable.
const std::vector<Payload>& GithubPayloads() {
  static const std::vector<Payload> payloads = [] {
    fs::path root = fs::path(TRIGGERD_SHARED_DIR) / "payloads" / "github";
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
      if (entry.is_regular_file() && entry.path().extension() == ".json") {
        files.push_back(entry.path());
      }
    }
    if (ec || files.empty()) Die("no payloads under " + root.string());
    std::sort(files.begin(), files.end());
    std::vector<Payload> out;
    for (const auto& file : files) {
      Payload p{file.parent_path().filename().string(), ReadFile(file), {}};
      p.headers = GithubHeaders(p);
      out.push_back(std::move(p));
    }
    return out;
  }();
  return payloads;
}

// The body bench/load.sh posts (8247 bytes), alone.
const std::vector<Payload>& PrPayload() {
  static const std::vector<Payload> payloads = [] {
    Payload p{"pull_request",
              ReadFile(fs::path(TRIGGERD_SHARED_DIR) / "bench" / "github-pr.json"), {}};
    p.headers = GithubHeaders(p);
    return std::vector<Payload>{std::move(p)};
  }();
  return payloads;
}

const std::vector<Payload>& PayloadSet(int64_t which) {
  return which == 0 ? GithubPayloads() : PrPayload();
}

std::unique_ptr<verify::Verifier> GithubVerifier() {
  verify::Secrets secrets;
  secrets.signing.emplace_back(kSecret);
  auto verifier = verify::MakeVerifier("github", verify::AuthSettings{}, secrets);
  if (!verifier) Die("make verifier: " + verifier.error().message());
  return std::move(verifier).value();
}

store::Source BenchSource() {
  store::Source source;
  source.id = kSourceId;
  source.workspace_id = kWorkspace;
  source.name = "bench";
  source.kind = "github";
  source.url_secret = kUrlSecret;
  source.auth_json = "{}";
  source.signing_secret = kSecret;
  source.created_by = "bench";
  return source;
}

// One request as the ingest route builds it: Admit on the head, then Ingest with the body.
// The headers and body are copied per request (the server moves them from its parser; the
// copy is ~1 µs of the figure for an 8 KB body).
template <typename Done>
void IngestOne(ingest::Ingestor& ingestor, const Payload& p, std::string delivery_id, Done done) {
  Headers headers = p.headers;
  headers.push_back({"X-GitHub-Delivery", std::move(delivery_id)});
  ingest::HeadRequest head;
  head.workspace_id = kWorkspace;
  head.source_id = kSourceId;
  head.url_secret = kUrlSecret;
  head.method = "POST";
  head.headers = &headers;
  head.remote_ip = "127.0.0.1";
  head.content_length = p.body.size();
  auto admitted = ingestor.Admit(head);
  if (!admitted) Die("admit: " + admitted.error().message());
  ingest::BodyRequest body{std::move(admitted->source), "POST",
                           std::string("/api/v1/w/ws_bench/triggers/hooks/src_bench/") +
                               std::string(kUrlSecret),
                           std::move(headers), "127.0.0.1", p.body};
  ingestor.Ingest(std::move(body), std::move(done));
}

std::string DeliveryId(uint64_t n) {
  char id[48];
  std::snprintf(id, sizeof id, "bench-%016llx", static_cast<unsigned long long>(n));
  return id;
}

// ---- Parts ----

void BM_GithubVerify(benchmark::State& state) {
  const auto& payloads = PayloadSet(state.range(0));
  auto verifier = GithubVerifier();
  int64_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Payload& p = payloads[i++ % payloads.size()];
    verify::Request request{p.headers, p.body, "POST", "http://127.0.0.1:18080/", 0};
    Status s = verifier->Verify(request);
    if (!s.ok()) Die("verify: " + s.message());
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GithubVerify)->ArgName("pr8k")->Arg(0)->Arg(1);

void BM_JsonParse(benchmark::State& state) {
  const auto& payloads = PayloadSet(state.range(0));
  boost::json::parse_options options;
  options.max_depth = 128;  // as ingest's ParseBody
  int64_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Payload& p = payloads[i++ % payloads.size()];
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(p.body, ec, {}, options);
    if (ec) Die("parse: " + ec.message());
    benchmark::DoNotOptimize(value);
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonParse)->ArgName("pr8k")->Arg(0)->Arg(1);

// Not what ingest does today: the same parse into a per-request arena (monotonic_resource over a
// stack buffer), which is safe there because the parsed value dies with Ingest(). Kept next to
// BM_JsonParse to show what that change would save per request.
void BM_JsonParseArena(benchmark::State& state) {
  const auto& payloads = PayloadSet(state.range(0));
  boost::json::parse_options options;
  options.max_depth = 128;
  int64_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Payload& p = payloads[i++ % payloads.size()];
    unsigned char buffer[16 * 1024];
    boost::json::monotonic_resource arena(buffer, sizeof buffer);
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(p.body, ec, &arena, options);
    if (ec) Die("parse: " + ec.message());
    benchmark::DoNotOptimize(value);
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonParseArena)->ArgName("pr8k")->Arg(0)->Arg(1);

// What ingest does with a body when no trigger reads the payload (bench/load.sh's case): the
// JSON grammar checked without building a document (ingest::ParseBody with need_payload=false).
void BM_JsonValidate(benchmark::State& state) {
  const auto& payloads = PayloadSet(state.range(0));
  int64_t bytes = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Payload& p = payloads[i++ % payloads.size()];
    boost::json::value unused;
    std::string payload_json;
    Status s = ingest::ParseBody("application/json", p.body, /*need_payload=*/false, &unused,
                                 &payload_json);
    if (!s.ok()) Die("validate: " + s.message());
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JsonValidate)->ArgName("pr8k")->Arg(0)->Arg(1);

// ---- The body phase without the store ----

// A store whose AppendEvent answers at once (not durable, nothing kept); nothing else is used.
class ImmediateStore final : public store::Store {
 public:
  Status CreateWorkspace(const store::Workspace&) override { return Unused(); }
  Result<bool> CreateFirstWorkspace(const store::Workspace&, const store::ApiKey&) override {
    return Unused();
  }
  Result<store::Workspace> GetWorkspace(std::string_view) override { return Unused(); }
  Result<std::vector<store::Workspace>> ListWorkspaces() override { return Unused(); }
  Status CreateApiKey(const store::ApiKey&) override { return Unused(); }
  Result<store::ApiKey> FindApiKeyByHash(std::string_view) override { return Unused(); }
  Result<std::vector<store::ApiKey>> ListApiKeys(std::string_view) override { return Unused(); }
  Status RevokeApiKey(std::string_view, std::string_view, int64_t) override { return Unused(); }
  Status CreateSource(const store::Source&) override { return Unused(); }
  Result<store::Source> GetSource(std::string_view, std::string_view) override { return Unused(); }
  Result<std::vector<store::Source>> ListSources(std::string_view) override { return Unused(); }
  Result<std::vector<store::Source>> ListAllSources() override { return Unused(); }
  Status UpdateSource(const store::Source&) override { return Unused(); }
  Status DeleteSource(std::string_view, std::string_view) override { return Unused(); }
  void AppendEvent(store::NewEvent event, AppendCallback done) override {
    benchmark::DoNotOptimize(event);
    done(store::AppendOutcome{event.id, event.received_at, false});
  }
  Result<store::Event> GetEvent(std::string_view, std::string_view) override { return Unused(); }
  Result<store::Page<store::EventSummary>> ListEvents(const store::EventQuery&) override {
    return Unused();
  }
  Status CreateAgent(const store::Agent&) override { return Unused(); }
  Result<store::Agent> GetAgent(std::string_view, std::string_view) override { return Unused(); }
  Result<std::vector<store::Agent>> ListAgents(std::string_view) override { return Unused(); }
  Status UpdateAgent(const store::Agent&) override { return Unused(); }
  Status DeleteAgent(std::string_view, std::string_view) override { return Unused(); }
  Status CreateTrigger(const store::Trigger&) override { return Unused(); }
  Result<store::Trigger> GetTrigger(std::string_view, std::string_view) override {
    return Unused();
  }
  Result<std::vector<store::Trigger>> ListTriggers(std::string_view, std::string_view,
                                                   std::string_view) override {
    return Unused();
  }
  Result<std::vector<store::Trigger>> ListAllTriggers() override { return Unused(); }
  Status UpdateTrigger(const store::Trigger&) override { return Unused(); }
  Status DeleteTrigger(std::string_view, std::string_view) override { return Unused(); }
  Result<std::vector<store::Match>> ListEventMatches(std::string_view, std::string_view) override {
    return Unused();
  }
  Result<store::Page<store::Match>> ListTriggerMatches(const store::MatchQuery&) override {
    return Unused();
  }
  Status AppendMatches(std::string_view, std::string_view, std::vector<store::Match>,
                       std::vector<store::NewRun>) override {
    return Unused();
  }
  Result<store::Run> GetRun(std::string_view, std::string_view) override { return Unused(); }
  Result<store::Page<store::Run>> ListRuns(const store::RunQuery&) override { return Unused(); }
  Result<std::vector<store::RunMessage>> ListRunMessages(std::string_view) override {
    return Unused();
  }
  Status RetryRun(std::string_view, std::string_view, int64_t) override { return Unused(); }
  Status CancelRun(std::string_view, std::string_view, int64_t) override { return Unused(); }
  Result<std::vector<store::Run>> ClaimRuns(const store::ClaimRequest&) override {
    return Unused();
  }
  Result<std::vector<Status>> FinishAttempts(const std::vector<store::AttemptResult>&) override {
    return Unused();
  }
  Result<std::optional<int64_t>> NextDueTime() override { return Unused(); }
  Status ReleaseLeases(std::string_view, int64_t) override { return Unused(); }
  void SetRunsQueuedListener(std::function<void()>) override {}
  bool SetStandingClaim(StandingClaim) override { return false; }
  void Close() override {}
  Status CreateAgentWebhook(const store::AgentWebhook&) override { return Unused(); }
  Result<store::AgentWebhook> GetAgentWebhook(std::string_view, std::string_view) override {
    return Unused();
  }
  Result<store::AgentWebhook> FindAgentWebhookByTokenHash(std::string_view) override {
    return Unused();
  }
  Result<std::vector<store::AgentWebhook>> ListAgentWebhooks(std::string_view,
                                                             std::string_view) override {
    return Unused();
  }
  Status UpdateAgentWebhook(const store::AgentWebhook&) override { return Unused(); }
  Status DeleteAgentWebhook(std::string_view, std::string_view) override { return Unused(); }
  Result<store::Trigger> FindTrigger(std::string_view) override { return Unused(); }
  Result<store::TriggerExtras> GetTriggerExtras(std::string_view, std::string_view) override {
    return Unused();
  }
  Status PutTriggerExtras(const store::TriggerExtras&) override { return Unused(); }
  Result<store::LiveRunCounts> CountLiveRuns() override { return Unused(); }
  Result<store::PurgeResult> Purge(const store::PurgeRequest&) override { return Unused(); }

 private:
  static Status Unused() { return Status::Internal("not used by the benchmark"); }
};

void BM_IngestBodyPhase(benchmark::State& state) {
  const auto& payloads = PayloadSet(state.range(0));
  ImmediateStore store;
  ingest::Ingestor ingestor(&store, &SystemClock::Instance(), BenchIngestOptions());
  ingestor.Upsert(BenchSource());
  int64_t bytes = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    const Payload& p = payloads[n % payloads.size()];
    bool ok = false;
    IngestOne(ingestor, p, DeliveryId(n++), [&ok](Result<ingest::IngestOutcome> outcome) {
      if (!outcome) Die("ingest: " + outcome.error().message());
      ok = true;
    });
    if (!ok) Die("ingest did not answer synchronously");
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IngestBodyPhase)->ArgName("pr8k")->Arg(0)->Arg(1);

// ---- The whole path, durable ----

// One store + ingestor per benchmark run, shared by its threads (Setup/Teardown run once per
// run, outside the threads).
struct DurableFixture {
  fs::path dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
  store::StoreStats before;
  std::atomic<uint64_t> next_delivery{0};
};
DurableFixture* g_durable = nullptr;

void DurableSetup(const benchmark::State&) {
  auto fixture = std::make_unique<DurableFixture>();
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                        "/triggerd-ingest-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp " + pattern);
  fixture->dir = pattern;
  store::SqliteOptions options;
  options.path = (fixture->dir / "triggerd.db").string();
  auto opened = store::OpenSqliteStore(options);
  if (!opened) Die("open store: " + opened.error().message());
  fixture->store = std::move(opened).value();
  Status s = fixture->store->CreateWorkspace({std::string(kWorkspace), "bench", 0});
  if (!s.ok()) Die("create workspace: " + s.message());
  s = fixture->store->CreateSource(BenchSource());
  if (!s.ok()) Die("create source: " + s.message());
  fixture->ingestor = std::make_unique<ingest::Ingestor>(
      fixture->store.get(), &SystemClock::Instance(), BenchIngestOptions());
  s = fixture->ingestor->Reload();
  if (!s.ok()) Die("load sources: " + s.message());
  fixture->before = fixture->store->Stats();
  g_durable = fixture.release();
}

void DurableTeardown(const benchmark::State&) {
  std::unique_ptr<DurableFixture> fixture(g_durable);
  g_durable = nullptr;
  fixture->ingestor.reset();
  fixture->store->Close();
  fixture->store.reset();
  std::error_code ec;
  fs::remove_all(fixture->dir, ec);
}

void BM_IngestDurable(benchmark::State& state) {
  DurableFixture& f = *g_durable;
  const auto& payloads = PayloadSet(state.range(0));
  int64_t bytes = 0;
  std::atomic<bool> durable{false};
  for (auto _ : state) {
    uint64_t n = f.next_delivery.fetch_add(1, std::memory_order_relaxed);
    const Payload& p = payloads[n % payloads.size()];
    durable.store(false, std::memory_order_relaxed);
    IngestOne(*f.ingestor, p, DeliveryId(n), [&durable](Result<ingest::IngestOutcome> outcome) {
      if (!outcome) Die("ingest: " + outcome.error().message());
      if (outcome->duplicate) Die("ingest: unexpected duplicate");
      durable.store(true, std::memory_order_release);
      durable.notify_one();
    });
    durable.wait(false, std::memory_order_acquire);
    bytes += static_cast<int64_t>(p.body.size());
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(state.iterations());
  // Every thread has passed the end-of-run barrier, so all its appends are durable and counted.
  // Counters are summed over threads: only thread 0 reports them.
  if (state.thread_index() == 0) {
    store::StoreStats after = f.store->Stats();
    double batches = static_cast<double>(after.batches - f.before.batches);
    double events = static_cast<double>(after.events_committed - f.before.events_committed);
    state.counters["batches"] = batches;
    state.counters["events"] = events;
    state.counters["avg_batch"] = batches > 0 ? events / batches : 0;
    state.counters["max_batch"] = static_cast<double>(after.max_batch);
    state.counters["commits/s"] = benchmark::Counter(batches, benchmark::Counter::kIsRate);
  }
}
BENCHMARK(BM_IngestDurable)
    ->ArgName("pr8k")
    ->Arg(0)
    ->Threads(1)
    ->Threads(8)
    ->Threads(64)
    ->Setup(DurableSetup)
    ->Teardown(DurableTeardown)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace
}  // namespace triggerd

BENCHMARK_MAIN();
