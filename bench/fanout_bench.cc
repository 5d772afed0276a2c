// Fan-out: one ~10 KB GitHub pull_request event matched against 1, 100 and 10,000 triggers on
// its source, with realistic, all-different filters — what ingest does for every event before
// it commits the event, its match records and its runs together (ingest::Ingestor::
// EvaluateTriggers: the payload is parsed once, each filter compiled once and cached).
//
// Reported: events/s (items = events) and the cost per trigger (ns per trigger = time per event
// / triggers). One trigger in four matches (so 10,000 triggers start 2,500 runs per event).
#include <benchmark/benchmark.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "common/clock.h"
#include "ingest/ingest.h"

namespace triggerd::ingest {
namespace {

// The shared bench payload (../shared/bench/github-pr.json, ~8 KB), its description padded so
// the document is about 10 KB, as a typical pull_request delivery.
const std::string& Payload() {
  static const std::string* const payload = [] {
    std::ifstream in(std::string(TRIGGERD_SHARED_DIR) + "/bench/github-pr.json");
    std::stringstream text;
    text << in.rdbuf();
    boost::json::value doc = boost::json::parse(text.str());
    std::string body = "This change reworks the retry loop. ";
    auto& pr = doc.as_object()["pull_request"].as_object();
    while (boost::json::serialize(doc).size() < 10 * 1024) {
      pr["body"] = body;
      body += "More detail on the change. ";
    }
    return new std::string(boost::json::serialize(doc));
  }();
  return *payload;
}

// Trigger i's filter: eight shapes users write, each with its own constants; shapes 1 and 7
// match this event (one in four).
std::string FilterFor(int i) {
  const std::string n = std::to_string(i);
  switch (i % 8) {
    case 0: return "(eq \"action\" \"action-" + n + "\")";
    case 1: return "(and (eq \"action\" \"opened\") (gte \"pull_request.changed_files\" 0))";
    case 2: return "(has \"pull_request.labels.*.name\" \"label-" + n + "\")";
    case 3: return "(starts-with \"pull_request.head.ref\" \"feature/" + n + "\")";
    case 4: return "(in \"sender.login\" (\"user-" + n + "\" \"bot-" + n + "\"))";
    case 5:
      return "(and (eq \"repository.full_name\" \"org/repo-" + n + "\") (exists \"pull_request\"))";
    case 6:
      return "(or (lt \"pull_request.additions\" -" + n +
             ") (eq \"$headers.x-github-event\" \"e" + n + "\"))";
    default:
      return "(not (has-any \"pull_request.assignees.*.login\" (\"a" + n + "\" \"b" + n + "\")))";
  }
}

// range(0) triggers on the source; range(1) = T > 0: trigger i subscribes to event type
// "type-(i % T)" (type 1 being the event's, "pull_request"), so the event-type index
// hands only 1/T of them to the evaluator; T = 0: every trigger takes every type.
void BM_FanOut(benchmark::State& state) {
  const int triggers = static_cast<int>(state.range(0));
  const int types = static_cast<int>(state.range(1));
  ManualClock clock(1'700'000'000'000'000);
  Ingestor ingestor(/*store=*/nullptr, &clock, Options{});  // evaluation reads only its cache
  for (int i = 0; i < triggers; ++i) {
    store::Trigger trigger;
    trigger.id = "trg_" + std::to_string(100000 + i);
    trigger.workspace_id = "ws_1";
    trigger.source_id = "src_1";
    trigger.agent_id = "agt_" + std::to_string(i % 50);
    trigger.filter = FilterFor(i);
    trigger.created_by = "key_1";
    trigger.created_at = i;
    if (types > 0) {
      trigger.event_types = {i % types == 1 ? "pull_request" : "type-" + std::to_string(i % types)};
    }
    ingestor.UpsertTrigger(trigger);
  }
  const std::string& body = Payload();
  Headers headers = {{"X-GitHub-Event", "pull_request"}, {"Content-Type", "application/json"}};
  size_t runs = 0, records = 0;
  for (auto _ : state) {
    // Per event: parse once, evaluate every trigger, build the match records and runs.
    boost::json::value payload = boost::json::parse(body);
    Evaluation evaluation = ingestor.EvaluateTriggers(
        EventToMatch{"ws_1", "src_1", "evt_1", "pull_request", &payload, &headers},
        clock.NowMicros(), /*replay=*/false);
    runs = evaluation.runs.size();
    records = evaluation.matches.size();
    benchmark::DoNotOptimize(evaluation);
  }
  state.SetItemsProcessed(state.iterations());  // items/s = events/s
  state.counters["triggers"] = triggers;
  state.counters["runs_per_event"] = static_cast<double>(runs);
  state.counters["evaluated"] = static_cast<double>(records);
  state.counters["payload_bytes"] = static_cast<double>(body.size());
  // Seconds per trigger, shown by Google Benchmark as e.g. "85n": inverted rate of
  // (events * triggers) per second.
  state.counters["per_trigger"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * triggers,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FanOut)
    ->Args({1, 0})
    ->Args({100, 0})
    ->Args({10'000, 0})
    ->Args({10'000, 20})  // the same 10,000 triggers split over 20 subscribed event types
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace triggerd::ingest

BENCHMARK_MAIN();
