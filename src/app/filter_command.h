// `triggerd filter check` and `triggerd filter eval`: the filter language from the command line,
// for writing and debugging filters without a running server. main.cc parses the arguments and
// calls these; they only read the given file and write to the given streams.
//
// Exit codes (shared by both commands):
//   0  the filter compiled (check), or the evaluation ran (eval; the result is printed, whether
//      true or false)
//   1  the filter does not compile: the error, the offending line and a caret under the column
//      go to `err`; or (eval) its evaluation exceeds the budget (filter::kMaxEvalSteps)
//   2  usage, I/O or payload errors (unreadable file, invalid JSON)
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace triggerd::app {

inline constexpr int kFilterExitOk = 0;
inline constexpr int kFilterExitInvalidFilter = 1;
inline constexpr int kFilterExitUsage = 2;

// Prints "ok" to `out` when `filter_text` compiles; otherwise, to `err`:
//   error: 2:7: unknown operator "eqq"
//        (eqq "number" 7))
//         ^
int RunFilterCheck(std::string_view filter_text, std::ostream& out, std::ostream& err);

// Evaluates `filter_text` against the JSON payload in the file `payload_path` ("-" reads standard
// input) with no headers, event type or source, and prints "true" or "false" to `out`; with
// `explain`, prints the explanation (filter.h Explain) as indented JSON instead.
int RunFilterEval(std::string_view filter_text, const std::string& payload_path, bool explain,
                  std::ostream& out, std::ostream& err);

}  // namespace triggerd::app
