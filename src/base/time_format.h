// Wall-clock timestamps in the text forms AWS uses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nimbus {

// "2026-11-27T03:40:18.123" + zone ("Z", "+0000", ...), from ms since the epoch.
std::string iso8601_ms(int64_t wall_ms, std::string_view zone = "Z");

}  // namespace nimbus
