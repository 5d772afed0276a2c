// The ids a log line is about (request, workspace, source, event, run), carried per thread so
// that structured logs (app/logging.h, log_format: json) can add them as fields without every
// log call repeating them. A ScopedLogContext sets fields for the rest of its scope on its
// thread and restores the previous values when it ends; work handed to another thread carries
// nothing over (that thread sets its own scope, as the dispatcher does per attempt).
#pragma once

#include <string_view>

namespace triggerd {

struct LogContext {
  std::string_view request_id;
  std::string_view workspace_id;
  std::string_view source_id;
  std::string_view event_id;
  std::string_view run_id;
};

// The calling thread's context. The views point into the callers' own strings, which outlive
// their ScopedLogContext.
inline LogContext& CurrentLogContext() {
  thread_local LogContext context;
  return context;
}

// Overlays the non-empty fields of `fields` for this scope.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(const LogContext& fields) : saved_(CurrentLogContext()) {
    LogContext& now = CurrentLogContext();
    if (!fields.request_id.empty()) now.request_id = fields.request_id;
    if (!fields.workspace_id.empty()) now.workspace_id = fields.workspace_id;
    if (!fields.source_id.empty()) now.source_id = fields.source_id;
    if (!fields.event_id.empty()) now.event_id = fields.event_id;
    if (!fields.run_id.empty()) now.run_id = fields.run_id;
  }
  ~ScopedLogContext() { CurrentLogContext() = saved_; }
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  LogContext saved_;
};

}  // namespace triggerd
