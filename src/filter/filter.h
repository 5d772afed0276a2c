// The triggerd filter language (../shared/filter-language.md): compile a Lisp-style filter once,
// then evaluate it against every event's parsed JSON payload.
//
//   auto f = filter::Compile(R"((and (eq "action" "opened") (gt "number" 20)))");
//   if (!f) return f.error();  // code "invalid_filter", message "1:9: unknown operator ..."
//   bool wake = filter::Matches(*f, {payload, &headers, "pull_request", source_id});
//
// Errors never throw: Compile returns a Status, evaluation cannot fail (a missing field or a value
// of the wrong type makes a comparison false).
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
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

// Whether the event matches. Does not allocate (regex matching may fill RE2's bounded DFA cache
// on first use). Thread-safe.
bool Matches(const CompiledFilter& filter, const EvalContext& context);

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
// Matches(). Allocates; meant for explanations, not for the ingest path. Thread-safe.
boost::json::value Explain(const CompiledFilter& filter, const EvalContext& context);

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

// What compiles but cannot be what its author meant, each "line:column: message" (the place of
// the comparison): a list as the value of eq or has, which never matches (use in, has-any or
// has-all), and a list inside the values of has-all, has-any or in, which never matches either.
// Warnings, not errors: Dust's filters keep compiling, as the shared conformance vectors
// (dust-096, dust-097) require. Shown at save time (POST /api/v1/filters/check, a saved
// trigger's `warnings`, `triggerd filter check`, declared triggers' log).
std::vector<std::string> Warnings(const CompiledFilter& filter);

}  // namespace triggerd::filter
