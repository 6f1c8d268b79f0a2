// libFuzzer target: CloudWatch Logs filter patterns never crash the parser or
// the matcher. The input is split at the first newline into pattern and message.
#include <cstdint>
#include <string_view>

#include "services/logs/logs_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  auto pattern = in.substr(0, nl);
  auto message = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  auto p = nimbus::services::logs::FilterPattern::parse(pattern);
  if (p.ok()) (void)p->matches(message);
  return 0;
}
