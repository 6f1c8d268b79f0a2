// Invocation traces for the keep-alive simulator (faas/simulator.h), in two
// formats:
//
//  - Nimbus CSV: one invocation per line, `timestamp_ms,function,duration_ms,
//    memory_mb`; an optional header line, `#` comments and blank lines are
//    skipped; lines need not be in time order.
//  - The Azure Functions 2019 public trace's invocation counts
//    (`HashOwner,HashApp,HashFunction,Trigger,1,...,1440`: per function, the
//    number of invocations in each minute of a day). Each minute's count is
//    spread over the minute at seeded random offsets; that file has no
//    durations or memory, so the options' defaults apply.
//
// The input is untrusted (a fuzz target feeds it arbitrary bytes): every field
// is range-checked and errors name the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace nimbus::faas {

struct TraceEvent {
  int64_t time_ms = 0;
  uint32_t function = 0;  // index into Trace::functions
  uint32_t duration_ms = 0;
  uint32_t memory_mb = 0;
};

struct Trace {
  std::vector<std::string> functions;
  std::vector<TraceEvent> events;  // in time order (stable for equal times)
};

struct TraceOptions {
  uint64_t seed = 1;  // spreads the Azure format's per-minute counts
  uint32_t default_duration_ms = 1000;
  uint32_t default_memory_mb = 256;
  size_t max_events = 100'000'000;  // refuse traces that would not fit in memory
};

struct TraceError {
  std::string message;
};

// Detects the format from the first line.
Result<Trace, TraceError> parse_trace(std::string_view text, const TraceOptions& options = {});

}  // namespace nimbus::faas
