#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
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

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// spdlog's text lines with every control character of the message escaped ("\n", "\r", "\t",
// "\x1b"; a backslash stays as it is: the aim is one line per call, not a reversible
// encoding, and paths and regexes stay readable). A logged value (an agent's error body, a
// header, a name) can then neither start a forged line nor carry terminal escape sequences, at
// no call site's care: this is the one place every text line passes.
class EscapingFormatter final : public spdlog::formatter {
 public:
  explicit EscapingFormatter(std::unique_ptr<spdlog::formatter> inner) : inner_(std::move(inner)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    bool plain = true;
    for (char c : payload) plain = plain && !IsControl(static_cast<unsigned char>(c));
    if (plain) {
      inner_->format(msg, dest);
      return;
    }
    std::string escaped;
    escaped.reserve(payload.size() + 16);
    for (char c : payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\n') {
        escaped += "\\n";
      } else if (c == '\r') {
        escaped += "\\r";
      } else if (c == '\t') {
        escaped += "\\t";
      } else if (IsControl(u)) {
        static constexpr char kHex[] = "0123456789abcdef";
        escaped += "\\x";
        escaped += kHex[u >> 4];
        escaped += kHex[u & 0xf];
      } else {
        escaped += c;
      }
    }
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<EscapingFormatter>(inner_->clone());
  }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeTextLogFormatter() {
  return std::make_unique<EscapingFormatter>(std::make_unique<spdlog::pattern_formatter>());
}

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
  spdlog::set_formatter(json ? MakeJsonLogFormatter() : MakeTextLogFormatter());
  return Status::Ok();
}

}  // namespace triggerd::app
