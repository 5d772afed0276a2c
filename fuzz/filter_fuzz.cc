// libFuzzer target for the filter language: parse + compile + evaluate + explain.
//
// Input: filter text, optionally followed by a NUL byte and a JSON payload. Without a valid
// payload the filter runs against a fixed pull_request-like payload, so plain filter files make
// a corpus and mutations that add a NUL explore payload shapes too.
//
// Checks beyond "no crash, no sanitizer report": Explain's result equals Matches', and a filter
// that compiled evaluates identically twice (no hidden state).
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
  bool matched = triggerd::filter::Matches(*compiled, context);
  if (triggerd::filter::Matches(*compiled, context) != matched) {
    std::fprintf(stderr, "Matches is not deterministic\n");
    std::abort();
  }
  boost::json::value explanation = triggerd::filter::Explain(*compiled, context);
  if (explanation.at("result").as_bool() != matched) {
    std::fprintf(stderr, "Explain disagrees with Matches: %s\n",
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
