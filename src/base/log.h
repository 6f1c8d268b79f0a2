// The one logging setup for Nimbus's own diagnostics (not function logs).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace nimbus {

// Configures the default spdlog logger: stderr, level from the string
// ("debug", "info", "warn", ...). Call once from main().
void setup_logging(std::string_view level);

}  // namespace nimbus
