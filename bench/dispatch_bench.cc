// From acknowledged event to the agent's endpoint, in process: the real SQLite store (WAL,
// synchronous=FULL), the ingestor with one trigger, the dispatcher and an http agent served by a
// loopback HTTP server (tests/support/recording_target.h) that answers 200 at once.
//
//   BM_AckToDelivery   one event at a time: the time from the ingest acknowledgement (the 200)
//                      to the request reaching the agent — the dispatcher's wake-up, claim
//                      (a durable write), message build, signing and the HTTP round trip.
//                      Counters p50_us, p99_us, max_us: the distribution of those per-event
//                      latencies, in microseconds (the benchmark's time is their mean).
//   BM_AckToDeliveryUnderIngest
//                      the same while a background thread ingests 8 KiB events (the shared
//                      github-pr.json) into a second source that has no trigger, as fast as the
//                      store accepts them (at most 64 in flight, like load.sh's 64 connections):
//                      the idle latency above on a box busy with ingest, which shares the group
//                      commit with the claims. Counter busy_events_per_s: the background rate.
//   BM_Throughput/N    N events ingested at once; the time until every run has succeeded
//                      (delivered and its result durably recorded). items/s = runs/s.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "dispatch/dispatch.h"
#include "ingest/ingest.h"
#include "recording_target.h"
#include "store/store.h"

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
using testing::RecordingTarget;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "dispatch_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

// The whole pipeline, set up once per benchmark run.
struct Pipeline {
  explicit Pipeline(int agent_concurrency)
      : target([](const RecordingTarget::Received&) { return RecordingTarget::Reply(200, "ok"); }) {
    std::string pattern = "/tmp/triggerd-dispatch-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
    dir = pattern;
    auto opened = store::OpenSqliteStore({(dir / "triggerd.db").string()});
    if (!opened) Die("open store: " + opened.error().ToString());
    store = std::move(opened).value();
    const int64_t now = SystemClock::Instance().NowMicros();
    Check(store->CreateWorkspace({"ws_b", "bench", now}), "workspace");
    // src_b has the trigger; src_busy, none: what BM_AckToDeliveryUnderIngest keeps busy.
    for (const char* id : {"src_b", "src_busy"}) {
      store::Source source;
      // Whole strings moved in (assigning literals trips GCC 12's -Wrestrict false positive).
      source.id = std::string(id);
      source.workspace_id = std::string("ws_b");
      source.name = std::string(id);
      source.url_secret = std::string("s");
      Check(store->CreateSource(source), "source");
    }
    store::Agent agent;
    agent.id = "agt_b";
    agent.workspace_id = "ws_b";
    agent.name = "bench";
    agent.target_json = R"({"type":"http","url":")" + target.Url("/agent") + R"("})";
    agent.signing_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    agent.concurrency = agent_concurrency;
    Check(store->CreateAgent(agent), "agent");
    store::Trigger trigger;
    trigger.id = "trg_b";
    trigger.workspace_id = "ws_b";
    trigger.source_id = "src_b";
    trigger.agent_id = "agt_b";
    trigger.filter = R"((eq "action" "opened"))";
    trigger.created_at = now;
    Check(store->CreateTrigger(trigger), "trigger");
    ingestor = std::make_unique<ingest::Ingestor>(store.get(), &SystemClock::Instance(),
                                                  BenchIngestOptions());
    Check(ingestor->Reload(), "reload");
    dispatch::Options options;
    options.workers = 16;
    dispatcher = std::make_unique<dispatch::Dispatcher>(store.get(), &SystemClock::Instance(),
                                                        options);
    Check(dispatcher->Start(), "dispatcher");
  }
  ~Pipeline() {
    dispatcher->Stop();
    store->Close();
    target.Stop();
    fs::remove_all(dir);
  }

  // Ingests one event; `acked` runs at the acknowledgement (on the store's thread).
  void Ingest(std::function<void()> acked) {
    IngestInto("src_b", R"({"action":"opened","number":1})",
               [acked = std::move(acked)](Result<ingest::IngestOutcome> outcome) {
                 if (!outcome || outcome->runs.size() != 1) Die("ingest did not start a run");
                 acked();
               });
  }

  // Ingests `body` into `source_id`; `done` runs at the acknowledgement or refusal.
  void IngestInto(std::string_view source_id, std::string body,
                  std::function<void(Result<ingest::IngestOutcome>)> done) {
    static const Headers kNone;
    ingest::HeadRequest head;
    head.workspace_id = "ws_b";
    head.source_id = source_id;
    head.url_secret = "s";
    head.method = "POST";
    head.headers = &kNone;
    head.remote_ip = "127.0.0.1";
    auto admitted = ingestor->Admit(head);
    if (!admitted) Die("admit: " + admitted.error().ToString());
    ingestor->Ingest({admitted->source, "POST", "/hooks", {{"Content-Type", "application/json"}},
                      "127.0.0.1", std::move(body)},
                     std::move(done));
  }

  fs::path dir;
  RecordingTarget target;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
};

// Keeps the store busy ingesting events into the source with no trigger, from construction to
// destruction: at most kInFlight at once, the next one as soon as one is acknowledged.
class BusyIngest {
 public:
  static constexpr int kInFlight = 64;

  explicit BusyIngest(Pipeline* pipeline) : pipeline_(pipeline), body_(ReadBody()) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~BusyIngest() {
    stop_ = true;
    thread_.join();
    for (int i = 0; i < kInFlight; ++i) slots_.acquire();  // every event acknowledged
  }
  uint64_t acked() const { return acked_; }

 private:
  static std::string ReadBody() {
    const std::string path = std::string(TRIGGERD_SHARED_DIR) + "/bench/github-pr.json";
    std::ifstream in(path, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (body.empty()) Die("cannot read " + path);
    return body;
  }
  void Loop() {
    while (!stop_) {
      if (!slots_.try_acquire_for(std::chrono::milliseconds(10))) continue;
      pipeline_->IngestInto("src_busy", body_, [this](Result<ingest::IngestOutcome> outcome) {
        if (!outcome || !outcome->runs.empty()) Die("the busy source's event was refused or ran");
        ++acked_;
        slots_.release();
      });
    }
  }

  Pipeline* pipeline_;
  const std::string body_;
  std::counting_semaphore<kInFlight> slots_{kInFlight};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acked_{0};
  std::thread thread_;
};

// One event at a time through `pipeline`; each iteration's time is from the acknowledgement to
// the agent's receipt. Adds the p50/p99/max of those times as counters, in microseconds.
void MeasureAckToDelivery(benchmark::State& state, Pipeline& pipeline) {
  size_t delivered = pipeline.target.requests().size();
  std::vector<double> samples_us;
  for (auto _ : state) {
    std::promise<std::chrono::steady_clock::time_point> acked;
    pipeline.Ingest([&] { acked.set_value(std::chrono::steady_clock::now()); });
    auto acked_at = acked.get_future().get();
    ++delivered;
    if (!pipeline.target.WaitFor([&](const auto& requests) { return requests.size() >= delivered; },
                                 std::chrono::seconds(10))) {
      Die("the run was not delivered within 10 s");
    }
    const std::chrono::duration<double> latency = std::chrono::steady_clock::now() - acked_at;
    state.SetIterationTime(latency.count());
    samples_us.push_back(latency.count() * 1e6);
  }
  if (samples_us.empty()) return;
  std::sort(samples_us.begin(), samples_us.end());
  // Nearest rank: the smallest sample with at least p% of them at or below it.
  auto percentile = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(samples_us.size())));
    return samples_us[std::clamp<size_t>(rank, 1, samples_us.size()) - 1];
  };
  state.counters["p50_us"] = percentile(50);
  state.counters["p99_us"] = percentile(99);
  state.counters["max_us"] = samples_us.back();
}

void BM_AckToDelivery(benchmark::State& state) {
  Pipeline pipeline(/*agent_concurrency=*/4);
  MeasureAckToDelivery(state, pipeline);
}
BENCHMARK(BM_AckToDelivery)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_AckToDeliveryUnderIngest(benchmark::State& state) {
  Pipeline pipeline(/*agent_concurrency=*/4);
  const auto start = std::chrono::steady_clock::now();
  uint64_t busy_events = 0;
  {
    BusyIngest busy(&pipeline);
    MeasureAckToDelivery(state, pipeline);
    busy_events = busy.acked();
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  state.counters["busy_events_per_s"] = static_cast<double>(busy_events) / elapsed.count();
}
// Bounded: the background load makes each iteration slower, so cap the count as well as the time.
BENCHMARK(BM_AckToDeliveryUnderIngest)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1000);

void BM_Throughput(benchmark::State& state) {
  const int events = static_cast<int>(state.range(0));
  Pipeline pipeline(/*agent_concurrency=*/16);
  uint64_t succeeded_before = 0;
  for (auto _ : state) {
    std::atomic<int> acked{0};
    for (int i = 0; i < events; ++i) pipeline.Ingest([&] { ++acked; });
    const uint64_t want = succeeded_before + events;
    while (pipeline.dispatcher->stats().succeeded < want) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    succeeded_before = want;
  }
  state.SetItemsProcessed(state.iterations() * events);
  const dispatch::DispatchStats stats = pipeline.dispatcher->stats();
  state.counters["retried"] = static_cast<double>(stats.retried);
  const store::StoreStats store_stats = pipeline.store->Stats();
  state.counters["writes_per_commit"] =
      static_cast<double>(store_stats.writes_committed + store_stats.events_committed) /
      static_cast<double>(std::max<uint64_t>(store_stats.batches, 1));
}
BENCHMARK(BM_Throughput)->Arg(200)->Unit(benchmark::kMillisecond)->Iterations(5)->UseRealTime();

}  // namespace
}  // namespace triggerd

BENCHMARK_MAIN();
