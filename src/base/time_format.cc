#include "base/time_format.h"

#include <cstdio>
#include <ctime>

namespace nimbus {

std::string iso8601_ms(int64_t wall_ms, std::string_view zone) {
  std::time_t t = wall_ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>(wall_ms % 1000));
  return std::string(out) + std::string(zone);
}

}  // namespace nimbus
