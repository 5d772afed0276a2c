// Clock: the seam through which code reads wall time, so tests can pin it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace triggerd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC.
  virtual int64_t NowMicros() const = 0;
  int64_t NowUnixSeconds() const { return NowMicros() / 1'000'000; }
};

// The real system clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static const SystemClock& Instance() {
    static const SystemClock clock;
    return clock;
  }
};

// A clock that only moves when told. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_micros) : now_(now_micros) {}
  int64_t NowMicros() const override { return now_; }
  void Set(int64_t now_micros) { now_ = now_micros; }
  void Advance(int64_t micros) { now_ += micros; }

 private:
  int64_t now_;
};

// RFC 3339 UTC with millisecond precision: "2026-11-23T08:33:00.123Z".
std::string FormatRfc3339(int64_t unix_micros);
// Parses RFC 3339 / ISO 8601 ("2021-07-25T10:00:00Z", "...+02:00", fractional seconds allowed)
// into Unix microseconds. Returns false when the text is not such a time.
bool ParseRfc3339(std::string_view text, int64_t* unix_micros);

}  // namespace triggerd
