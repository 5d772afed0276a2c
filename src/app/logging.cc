#include "app/logging.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <chrono>

#include "common/clock.h"
#include "common/log_context.h"
#include "common/utf8.h"

namespace triggerd::app {
namespace {

void AppendJsonString(std::string_view text, spdlog::memory_buf_t& out) {
  // boost::json escapes control characters and quotes and keeps valid UTF-8; a log message may
  // quote bytes from a request, so invalid UTF-8 is replaced rather than emitted.
  std::string repaired;
  if (FindInvalidUtf8(text) != std::string_view::npos) {
    repaired = RepairUtf8(text);
    text = repaired;
  }
  const std::string quoted = boost::json::serialize(boost::json::string(text));
  out.append(quoted.data(), quoted.data() + quoted.size());
}

void AppendField(std::string_view name, std::string_view value, spdlog::memory_buf_t& out) {
  if (value.empty()) return;
  out.push_back(',');
  AppendJsonString(name, out);
  out.push_back(':');
  AppendJsonString(value, out);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const int64_t micros =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    std::string time = FormatRfc3339(micros);  // millisecond precision, "…Z"
    dest.append(std::string_view("{\"time\":"));
    AppendJsonString(time, dest);
    dest.append(std::string_view(",\"level\":"));
    const auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(std::string_view(level.data(), level.size()), dest);
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(std::string_view(msg.payload.data(), msg.payload.size()), dest);
    const LogContext& context = CurrentLogContext();
    AppendField("request_id", context.request_id, dest);
    AppendField("workspace_id", context.workspace_id, dest);
    AppendField("source_id", context.source_id, dest);
    AppendField("event_id", context.event_id, dest);
    AppendField("run_id", context.run_id, dest);
    dest.append(std::string_view("}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter() {
  return std::make_unique<JsonFormatter>();
}

Status ConfigureLogging(std::string_view format, std::string_view level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("log_level must be trace, debug, info, warn, error or off");
  }
  bool json = false;
  if (format == "json") {
    json = true;
  } else if (format == "auto") {
    json = isatty(STDERR_FILENO) == 0;
  } else if (format != "text") {
    return Status::InvalidArgument("log_format must be text, json or auto");
  }
  spdlog::set_level(parsed);
  if (json) spdlog::set_formatter(MakeJsonLogFormatter());
  return Status::Ok();
}

}  // namespace triggerd::app
