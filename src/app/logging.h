// How triggerd logs: spdlog's default logger (standard output), either for a person at a
// terminal ("text", spdlog's usual lines; the default) or for a log pipeline ("json": one object
// per line). JSON lines carry the time
// (RFC 3339 UTC, microseconds), level, message, and the ids of the thread's LogContext
// (common/log_context.h) that are set: request_id, workspace_id, source_id, event_id, run_id.
//
//   {"time":"2026-11-23T15:04:05.123456Z","level":"info","msg":"dispatch: …","run_id":"run_…"}
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace triggerd::app {

// "text", "json", or "auto" (json unless stderr is a terminal). kInvalidArgument otherwise.
Status ConfigureLogging(std::string_view format, std::string_view level);

// The line formatters, for tests. Either way one log call is one line whatever its values hold:
// JSON quotes them; text escapes control characters of the message ("\n", "\x1b"), so a
// logged value cannot forge a line.
std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter();
std::unique_ptr<spdlog::formatter> MakeTextLogFormatter();

}  // namespace triggerd::app
