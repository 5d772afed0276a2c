// Filter language benchmarks on real GitHub payloads (../shared/payloads/github): payload
// parsing, filter compilation, and evaluation of 1 clause, 10 clauses, wildcards, and 1,000
// different filters on one parsed payload (the "one event, many triggers" case).
//
// Every evaluation benchmark reports `allocs_per_eval`, counted by the global operator new that
// this binary replaces; the contract (filter.h) is zero.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "common/headers.h"
#include "filter/filter.h"

namespace {
std::atomic<long> g_allocations{0};

void* CountedAlloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* CountedAlignedAlloc(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  auto a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (size + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t size) { return CountedAlloc(size); }
void* operator new[](std::size_t size) { return CountedAlloc(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  try {
    return CountedAlloc(size);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t size, std::align_val_t align) {
  return CountedAlignedAlloc(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return CountedAlignedAlloc(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace triggerd::filter {
namespace {

const char* const kPayloads[] = {
    "payloads/github/pull_request/opened.payload.json",
    "payloads/github/push/payload.json",
    "bench/github-pr.json",
};

std::string ReadShared(const std::string& relative) {
  std::string path = std::string(TRIGGERD_SHARED_DIR) + "/" + relative;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::exit(2);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const boost::json::value& PullRequestPayload() {
  static const boost::json::value payload = boost::json::parse(ReadShared(kPayloads[0]));
  return payload;
}

CompiledFilter CompileOrDie(const std::string& text) {
  Result<CompiledFilter> compiled = Compile(text);
  if (!compiled) {
    std::fprintf(stderr, "bench filter does not compile: %s\n%s\n",
                 compiled.error().message().c_str(), text.c_str());
    std::exit(2);
  }
  return *compiled;
}

constexpr const char* kOneClause = R"((eq "action" "opened"))";

constexpr const char* kTenClauses = R"(
(and (eq "action" "opened")
     (eq "pull_request.state" "open")
     (not (eq "pull_request.draft" true))
     (gte "pull_request.changed_files" 1)
     (lt "pull_request.additions" 10000)
     (starts-with "pull_request.head.ref" "changes")
     (in "pull_request.base.ref" ("master" "main"))
     (exists "pull_request.head.repo.owner.login")
     (not (has-any "pull_request.labels.*.name" ("wip" "do-not-review")))
     (eq "repository.full_name" "Codertocat/Hello-World")))";

constexpr const char* kWildcards = R"(
(or (has "pull_request.labels.*.name" "nope")
    (has-all "pull_request.requested_reviewers.*.login" ("Hacktocat" "Codertocat"))
    (has "pull_request.assignees.*.login" "nope")))";

void ReportAllocations(benchmark::State& state, long allocations, double evals) {
  state.counters["allocs_per_eval"] = evals > 0 ? static_cast<double>(allocations) / evals : 0;
}

void BM_ParsePayload(benchmark::State& state) {
  const std::string text = ReadShared(kPayloads[state.range(0)]);
  for (auto _ : state) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel(kPayloads[state.range(0)]);
}
BENCHMARK(BM_ParsePayload)->DenseRange(0, 2);

// The same with an arena reused per event, one way ingest could cut parse allocations.
void BM_ParsePayloadMonotonic(benchmark::State& state) {
  const std::string text = ReadShared(kPayloads[state.range(0)]);
  std::vector<unsigned char> buffer(text.size() * 4);
  for (auto _ : state) {
    boost::json::monotonic_resource arena(buffer.data(), buffer.size());
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec, &arena);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetLabel(kPayloads[state.range(0)]);
}
BENCHMARK(BM_ParsePayloadMonotonic)->DenseRange(0, 2);

void BM_CompileTenClauses(benchmark::State& state) {
  for (auto _ : state) {
    Result<CompiledFilter> compiled = Compile(kTenClauses);
    benchmark::DoNotOptimize(compiled);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompileTenClauses);

void BM_CompileRegex(benchmark::State& state) {
  for (auto _ : state) {
    Result<CompiledFilter> compiled =
        Compile(R"((matches "pull_request.title" "^(Fix|Update) \\w+"))");
    benchmark::DoNotOptimize(compiled);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompileRegex);

void EvaluateOne(benchmark::State& state, const char* text) {
  CompiledFilter filter = CompileOrDie(text);
  Headers headers = {{"X-GitHub-Event", "pull_request"}};
  EvalContext context{PullRequestPayload(), &headers, "pull_request", "src_1"};
  (void)Evaluate(filter, context);  // warm-up (RE2 fills its DFA cache lazily)
  long before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    benchmark::DoNotOptimize(Evaluate(filter, context));
  }
  ReportAllocations(state, g_allocations.load(std::memory_order_relaxed) - before,
                    static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations());
}

void BM_EvalOneClause(benchmark::State& state) { EvaluateOne(state, kOneClause); }
BENCHMARK(BM_EvalOneClause);

void BM_EvalTenClauses(benchmark::State& state) { EvaluateOne(state, kTenClauses); }
BENCHMARK(BM_EvalTenClauses);

void BM_EvalWildcards(benchmark::State& state) { EvaluateOne(state, kWildcards); }
BENCHMARK(BM_EvalWildcards);

void BM_EvalRegex(benchmark::State& state) {
  EvaluateOne(state, R"((matches "pull_request.title" "^(Fix|Update) \\w+"))");
}
BENCHMARK(BM_EvalRegex);

// 1,000 triggers' filters, all different, over one event's parsed payload.
std::vector<CompiledFilter> ThousandFilters() {
  std::vector<CompiledFilter> filters;
  for (int i = 0; i < 1000; ++i) {
    std::string n = std::to_string(i);
    std::string text;
    switch (i % 8) {
      case 0:
        text = "(eq \"action\" \"action-" + n + "\")";
        break;
      case 1:
        text = "(and (eq \"action\" \"opened\") (gt \"pull_request.changed_files\" " + n + "))";
        break;
      case 2:
        text = "(has \"pull_request.labels.*.name\" \"label-" + n + "\")";
        break;
      case 3:
        text = "(starts-with \"pull_request.head.ref\" \"feature/" + n + "\")";
        break;
      case 4:
        text = "(in \"sender.login\" (\"user-" + n + "\" \"bot-" + n + "\"))";
        break;
      case 5:
        text =
            "(and (eq \"repository.full_name\" \"org/repo-" + n + "\") (exists \"pull_request\"))";
        break;
      case 6:
        text = "(or (lt \"pull_request.additions\" " + n + ") (eq \"$headers.x-github-event\" \"e" +
               n + "\"))";
        break;
      case 7:
        text = "(not (has-any \"pull_request.assignees.*.login\" (\"a" + n + "\" \"b" + n + "\")))";
        break;
    }
    filters.push_back(CompileOrDie(text));
  }
  return filters;
}

void BM_EvalThousandFilters(benchmark::State& state) {
  std::vector<CompiledFilter> filters = ThousandFilters();
  Headers headers = {{"X-GitHub-Event", "pull_request"}};
  EvalContext context{PullRequestPayload(), &headers, "pull_request", "src_1"};
  long before = g_allocations.load(std::memory_order_relaxed);
  int matched = 0;
  for (auto _ : state) {
    matched = 0;
    for (const CompiledFilter& filter : filters) matched += Evaluate(filter, context).value();
    benchmark::DoNotOptimize(matched);
  }
  ReportAllocations(state, g_allocations.load(std::memory_order_relaxed) - before,
                    static_cast<double>(state.iterations()) * filters.size());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * filters.size()));
  state.counters["matched"] = matched;
}
BENCHMARK(BM_EvalThousandFilters);

void BM_Explain(benchmark::State& state) {
  CompiledFilter filter = CompileOrDie(kTenClauses);
  EvalContext context{PullRequestPayload(), nullptr, "pull_request", "src_1"};
  for (auto _ : state) {
    Result<boost::json::value> explanation = Explain(filter, context);
    benchmark::DoNotOptimize(explanation);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Explain);

}  // namespace
}  // namespace triggerd::filter

BENCHMARK_MAIN();
