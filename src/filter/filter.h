// The triggerd filter language (../shared/filter-language.md): compile a Lisp-style filter once,
// then evaluate it against every event's parsed JSON payload.
//
//   auto f = filter::Compile(R"((and (eq "action" "opened") (gt "number" 20)))");
//   if (!f) return f.error();  // code "invalid_filter", message "1:9: unknown operator ..."
//   Result<bool> wake = filter::Evaluate(*f, {payload, &headers, "pull_request", source_id});
//
// Errors never throw: Compile returns a Status; evaluation fails only when it runs out of its
// work budget (kMaxEvalSteps), a missing field or a value of the wrong type making a comparison
// false.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/headers.h"
#include "common/result.h"

namespace triggerd::filter {

// Input bounds; a filter beyond them does not compile.
inline constexpr std::size_t kMaxFilterBytes = 64 * 1024;
inline constexpr int kMaxDepth = 64;               // nested lists, values lists included
inline constexpr int kMaxPathSegments = 64;        // per field path
inline constexpr int kMaxRegexes = 32;             // `matches` operators per filter
inline constexpr int kRegexMaxMemBytes = 1 << 20;  // RE2 program + DFA cache, per regex
// RE2 is linear in its input, but the factor is the program's size when its DFA runs out of
// memory and it falls back to the NFA (`a[ab]{1000}c`: ~1000 instructions, ~20 ns per byte and
// instruction). A counted repetition multiplies the size, so it is capped (RE2::ProgramSize()):
// `^(feat|fix|chore|docs|refactor|test|perf|ci|build|style)(\([a-z0-9-]+\))?!?: .{1,72}$` is 707,
// `[0-9a-f]{40}` 84.
inline constexpr int kMaxRegexProgramSize = 1000;

// The work budget of one evaluation (Evaluate, Explain), in steps: 1 per node, path segment and
// array element visited and per value compared; 1 per byte a string comparison reads (contains
// is linear: glibc's memmem); and for `matches`, the string's bytes times the regex's program
// size, RE2's worst case (its NFA), charged before RE2 runs since it cannot be interrupted.
// 2^22 steps is ~5-20 ms of CPU for comparisons, up to ~100 ms for the worst regex: four 1 MiB
// scans, or a 40-instruction regex over 100 KB. The budget bounds what one filter may cost the
// thread that evaluates it (at ingest, an io thread; see also ingest's per-event budget).
inline constexpr std::uint64_t kMaxEvalSteps = std::uint64_t{1} << 22;
// Where and why a filter did not compile. line and column are 1-based; the column counts
// characters (UTF-8 code points), a tab counting as one.
struct CompileError {
  int line = 1;
  int column = 1;
  std::string message;  // e.g. `unknown operator "eqq"`

  // "line:column: message", the form users see.
  std::string ToString() const;
};

namespace internal {
struct Program;
}  // namespace internal

// A compiled filter: immutable, cheap to copy (one shared_ptr), and safe to evaluate from many
// threads at once. A default-constructed filter, like an empty one, matches every event.
class CompiledFilter {
 public:
  CompiledFilter() = default;

  // True for an empty (or whitespace/comment-only) filter.
  bool matches_everything() const;

 private:
  friend class FilterAccess;
  explicit CompiledFilter(std::shared_ptr<const internal::Program> program)
      : program_(std::move(program)) {}

  std::shared_ptr<const internal::Program> program_;  // null: matches everything
};

// What a filter is evaluated against. Nothing is owned: every referenced object must outlive the
// call. The payload is parsed once per event and shared by every filter that reads it.
struct EvalContext {
  const boost::json::value& payload;
  const Headers* headers = nullptr;  // `$headers.<name>`; null reads as no headers
  std::string_view event_type = {};  // `$event`; empty reads as missing
  std::string_view source_id = {};   // `$source`; empty reads as missing
};

// Parses and checks `text`. On failure the Status has code "invalid_filter" (ErrorType
// kInvalidArgument) and message "line:column: message"; when `error` is not null it also
// receives the structured error (for a caret under the column).
Result<CompiledFilter> Compile(std::string_view text, CompileError* error = nullptr);

// Whether the event matches. `steps`, when not null, is the work budget on entry (kMaxEvalSteps
// when null) and what is left of it on return. When the budget runs out the result is
// kUnprocessable "filter_budget_exceeded", its message naming the comparison ("1:5: ..."): a
// filter too expensive for this event, which callers treat as that filter's failure, never as
// "no match". Does not allocate unless it fails (regex matching may fill RE2's bounded DFA cache
// on first use). Thread-safe.
Result<bool> Evaluate(const CompiledFilter& filter, const EvalContext& context,
                      std::uint64_t* steps = nullptr);

// Why the event matches or not, for people (dry-run API, CLI, console):
//   {"result": true, "expression": <node>}        (expression is null for an empty filter)
// where a node is
//   {"op": "and"|"or"|"not", "result": b, "line": l, "column": c, "children": [<node>...]}
//   {"op": "eq"..., "result": b, "line": l, "column": c, "field": "pull_request.title",
//    "expected": <value or list; absent for exists>, "found": <value> | "missing": true}
// A wildcard's "found" is the array of values it yielded. Found values are copied up to about
// 1 MiB per explanation; past that a node has "found_truncated": true, "found_kind" and
// "found_size" instead of "found". The output is always printable JSON (non-UTF-8 header bytes
// become U+FFFD, infinite payload numbers the string "Infinity").
// Every child is evaluated (no short circuit), so each clause says why; "result" always equals
// Evaluate()'s. Within a budget of kMaxEvalSteps, failing as Evaluate() does (the missing short
// circuit may spend more of it). Allocates; meant for explanations, not for the ingest path.
// Thread-safe.
Result<boost::json::value> Explain(const CompiledFilter& filter, const EvalContext& context);

// One operator of the language, for people and for prompts (src/nlfilter builds its model prompt
// from this list, so it cannot drift from what compiles).
struct OperatorInfo {
  std::string_view name;     // "has-any"
  std::string usage;         // "(has-any field (value...))"
  std::string_view meaning;  // when it is true, one line
  std::string_view example;  // a filter using it that compiles
};

// Every operator the compiler knows, from its own table, in a stable order.
std::vector<OperatorInfo> Operators();

// The payload field paths the filter reads, as written ("pull_request.labels.*.name",
// "commits[0].id"), each once, in the order they first appear; `$headers.…`, `$event` and
// `$source` are not payload fields and are left out. Empty for an empty filter. For checks at
// save time (e.g. against an event type's known fields), not for the ingest path.
std::vector<std::string> ReferencedFields(const CompiledFilter& filter);

// A `$headers.<name>` the filter reads, and where (the comparison's place).
struct HeaderReference {
  std::string name;  // as written after "$headers."
  int line = 1;
  int column = 1;
};
// Every header read, in the order of the text (repeats included). For the save-time refusal of
// credential headers (catalog/trigger_body.cc), not for the ingest path.
std::vector<HeaderReference> ReferencedHeaders(const CompiledFilter& filter);

// What compiles but cannot be what its author meant, each "line:column: message" (the place of
// the comparison): a list as the value of eq or has, which never matches (use in, has-any or
// has-all), and a list inside the values of has-all, has-any or in, which never matches either.
// Warnings, not errors: Dust's filters keep compiling, as the shared conformance vectors
// (dust-096, dust-097) require. Shown at save time (POST /api/v1/filters/check, a saved
// trigger's `warnings`, `triggerd filter check`, declared triggers' log).
std::vector<std::string> Warnings(const CompiledFilter& filter);

}  // namespace triggerd::filter
