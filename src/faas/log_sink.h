// Where function log lines go (the logs service implements it). Lines arrive
// per instance in order; appends must not block for long (no fsync per line).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace nimbus::faas {

struct LogEvent {
  int64_t timestamp_ms;
  std::string message;  // one line, without the trailing newline
};

class LogSink {
 public:
  virtual ~LogSink() = default;
  // Appends events to `stream` of `group`, creating both when new.
  virtual void append(std::string_view group, std::string_view stream,
                      std::span<const LogEvent> events) = 0;
};

}  // namespace nimbus::faas
