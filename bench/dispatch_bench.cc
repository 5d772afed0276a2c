// From acknowledged event to the agent's endpoint, in process: the real SQLite store (WAL,
// synchronous=FULL), the ingestor with one trigger, the dispatcher and an http agent served by a
// loopback HTTP server (tests/support/recording_target.h) that answers 200 at once.
//
//   BM_AckToDelivery   one event at a time: the time from the ingest acknowledgement (the 200)
//                      to the request reaching the agent — the dispatcher's wake-up, claim
//                      (a durable write), message build, signing and the HTTP round trip.
//   BM_Throughput/N    N events ingested at once; the time until every run has succeeded
//                      (delivered and its result durably recorded). items/s = runs/s.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

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
      : target([](const auto&, const auto&) { return RecordingTarget::Reply(200, "ok"); }) {
    std::string pattern = "/tmp/triggerd-dispatch-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
    dir = pattern;
    auto opened = store::OpenSqliteStore({(dir / "triggerd.db").string()});
    if (!opened) Die("open store: " + opened.error().ToString());
    store = std::move(opened).value();
    const int64_t now = SystemClock::Instance().NowMicros();
    Check(store->CreateWorkspace({"ws_b", "bench", now}), "workspace");
    store::Source source;
    source.id = "src_b";
    source.workspace_id = "ws_b";
    source.name = "bench";
    source.url_secret = "s";
    Check(store->CreateSource(source), "source");
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
    static const Headers kNone;
    ingest::HeadRequest head;
    head.workspace_id = "ws_b";
    head.source_id = "src_b";
    head.url_secret = "s";
    head.method = "POST";
    head.headers = &kNone;
    head.remote_ip = "127.0.0.1";
    auto admitted = ingestor->Admit(head);
    if (!admitted) Die("admit: " + admitted.error().ToString());
    ingestor->Ingest({admitted->source, "POST", "/hooks", {{"Content-Type", "application/json"}},
                      "127.0.0.1", R"({"action":"opened","number":1})"},
                     [acked = std::move(acked)](Result<ingest::IngestOutcome> outcome) {
                       if (!outcome || outcome->runs.size() != 1) Die("ingest did not start a run");
                       acked();
                     });
  }

  fs::path dir;
  RecordingTarget target;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ingest::Ingestor> ingestor;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
};

void BM_AckToDelivery(benchmark::State& state) {
  Pipeline pipeline(/*agent_concurrency=*/4);
  size_t delivered = 0;
  for (auto _ : state) {
    std::promise<std::chrono::steady_clock::time_point> acked;
    pipeline.Ingest([&] { acked.set_value(std::chrono::steady_clock::now()); });
    auto acked_at = acked.get_future().get();
    ++delivered;
    if (!pipeline.target.WaitFor([&](const auto& requests) { return requests.size() >= delivered; },
                                 std::chrono::seconds(10))) {
      Die("the run was not delivered within 10 s");
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - acked_at).count());
  }
}
BENCHMARK(BM_AckToDelivery)->UseManualTime()->Unit(benchmark::kMillisecond);

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
