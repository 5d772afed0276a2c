// libFuzzer target for the filter language: parse + compile + evaluate + explain.
//
// Input: filter text, optionally followed by a NUL byte and a JSON payload. Without a valid
// payload the filter runs against a fixed pull_request-like payload, so plain filter files make
// a corpus and mutations that add a NUL explore payload shapes too.
//
// Checks beyond "no crash, no sanitizer report": Explain's result equals Evaluate's, and a
// filter that compiled evaluates identically twice (no hidden state). The evaluation budget:
// the steps one evaluation spends are exact (that many succeed with the same result, one fewer
// fails with filter_budget_exceeded), any smaller budget gives the same result or that failure,
// and Explain, which spends at least as much, never succeeds where Evaluate fails.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/headers.h"
#include "filter/filter.h"

namespace {

constexpr std::string_view kDefaultPayload = R"json({
  "action": "opened", "number": 7, "n": 1.5, "big": 18446744073709551615, "neg": -3,
  "pull_request": {"title": "Fix race in dispatcher (WIP)", "head": {"ref": "fix/race"},
    "changed_files": 23, "draft": false, "merged_by": null, "body": "",
    "labels": [{"name": "bug"}, {"name": "backend"}, {"id": 1}, {"name": null}],
    "requested_reviewers": []},
  "commits": [{"id": "a1", "files": ["src/a.cc", "src/b.cc"]}, {"id": "b2", "files": ["README.md"]},
    {"id": "c3", "files": "x"}],
  "a.b": 1, "a": {"b": 2, "length": 9}, "tags": ["x", 1, true, null, [1], {"k": "v"}],
  "nested": [[[[1, 2], [3]], []], [[[4]]]], "": {"": 0}
})json";

const boost::json::value& DefaultPayload() {
  static const boost::json::value payload = boost::json::parse(kDefaultPayload);
  return payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view filter_text = input;
  boost::json::value custom_payload;
  const boost::json::value* payload = &DefaultPayload();
  if (std::size_t nul = input.find('\0'); nul != std::string_view::npos) {
    filter_text = input.substr(0, nul);
    boost::system::error_code ec;
    custom_payload = boost::json::parse(input.substr(nul + 1), ec);
    if (!ec) payload = &custom_payload;
  }

  auto compiled = triggerd::filter::Compile(filter_text);
  if (!compiled) return 0;

  triggerd::Headers headers = {{"X-GitHub-Event", "pull_request"}, {"Content-Type", "a/b"}};
  triggerd::filter::EvalContext context{*payload, &headers, "pull_request", "src_1"};
  using triggerd::filter::Evaluate;
  using triggerd::filter::kMaxEvalSteps;
  std::uint64_t left = kMaxEvalSteps;
  triggerd::Result<bool> evaluated = Evaluate(*compiled, context, &left);
  const std::uint64_t used = kMaxEvalSteps - left;
  triggerd::Result<bool> again = Evaluate(*compiled, context);
  if (evaluated.has_value() != again.has_value() || (evaluated && *evaluated != *again)) {
    std::fprintf(stderr, "Evaluate is not deterministic\n");
    std::abort();
  }
  auto over_budget = [](const triggerd::Status& s) {
    return s.type() == triggerd::ErrorType::kUnprocessable && s.code() == "filter_budget_exceeded";
  };
  if (!evaluated) {
    if (!over_budget(evaluated.error())) {
      std::fprintf(stderr, "Evaluate failed otherwise: %s\n", evaluated.error().ToString().c_str());
      std::abort();
    }
    if (triggerd::filter::Explain(*compiled, context).has_value()) {
      std::fprintf(stderr, "Explain succeeded where Evaluate ran out of budget\n");
      std::abort();
    }
    return 0;
  }
  const bool matched = *evaluated;
  // Exactly `used` steps suffice; one fewer does not (an empty filter spends none).
  std::uint64_t exact = used;
  triggerd::Result<bool> at_limit = Evaluate(*compiled, context, &exact);
  if (!at_limit || *at_limit != matched || exact != 0) {
    std::fprintf(stderr, "a budget of exactly the steps used (%llu) does not suffice\n",
                 static_cast<unsigned long long>(used));
    std::abort();
  }
  if (used > 0) {
    std::uint64_t short_by_one = used - 1;
    triggerd::Result<bool> over = Evaluate(*compiled, context, &short_by_one);
    if (over || !over_budget(over.error()) || short_by_one != 0) {
      std::fprintf(stderr, "a budget one step short of %llu did not fail\n",
                   static_cast<unsigned long long>(used));
      std::abort();
    }
    // Any smaller budget (chosen by the input): the same answer, or the budget's failure.
    std::uint64_t some = size % used;
    triggerd::Result<bool> partial = Evaluate(*compiled, context, &some);
    if (partial ? *partial != matched : !over_budget(partial.error())) {
      std::fprintf(stderr, "a smaller budget changed the answer\n");
      std::abort();
    }
  }
  triggerd::Result<boost::json::value> explained = triggerd::filter::Explain(*compiled, context);
  if (!explained) {
    if (!over_budget(explained.error())) {
      std::fprintf(stderr, "Explain failed otherwise: %s\n", explained.error().ToString().c_str());
      std::abort();
    }
    return 0;
  }
  const boost::json::value& explanation = *explained;
  if (explanation.at("result").as_bool() != matched) {
    std::fprintf(stderr, "Explain disagrees with Evaluate: %s\n",
                 boost::json::serialize(explanation).c_str());
    std::abort();
  }
  // The explanation must be printable JSON (the REST API serializes it). Deep, though: a value
  // list nested up to kMaxDepth inside a tree of up to kMaxDepth levels, beyond Boost.JSON's
  // default parse depth of 32, which is a parser's limit, not JSON's.
  boost::system::error_code ec;
  boost::json::parse_options deep;
  deep.max_depth = 4 * triggerd::filter::kMaxDepth + 16;
  boost::json::parse(boost::json::serialize(explanation), ec, {}, deep);
  if (ec) {
    std::fprintf(stderr, "Explanation is not valid JSON\n");
    std::abort();
  }
  return 0;
}
