// Feeds arbitrary bytes to the trace parser (both formats: a leading
// "HashOwner" selects the Azure one): it must parse or reject, never crash,
// and what it accepts must hold together.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "faas/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = nimbus::faas::parse_trace(text, {.seed = 1, .max_events = 100'000});
  if (!t) return 0;
  int64_t last = 0;
  for (const auto& e : t->events) {
    if (e.function >= t->functions.size() || e.time_ms < last) std::abort();
    last = e.time_ms;
  }
  return 0;
}
