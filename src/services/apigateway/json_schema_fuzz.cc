// libFuzzer target: hostile schemas and bodies never crash the validator.
// Input: SCHEMA '\0' BODY (without a NUL byte the input is both).
#include <cstdint>
#include <string_view>

#include "services/apigateway/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  std::string_view schema = in.substr(0, nul);
  std::string_view body = nul == std::string_view::npos ? in : in.substr(nul + 1);
  auto s = nimbus::services::apigateway::JsonSchema::parse(schema);
  if (!s.ok()) return 0;
  auto violations = s->validate_body(body);
  (void)nimbus::services::apigateway::validation_error_string(violations);
  return 0;
}
