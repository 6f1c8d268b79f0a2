// libFuzzer target: function and layer names and ARNs never crash the parser.
#include <cstdint>
#include <string_view>

#include "services/lambda/names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = nimbus::services::lambda::parse_function_ref(in);
  if (r.ok() && r->name.empty()) __builtin_trap();
  auto layer = nimbus::services::lambda::parse_layer_version_arn(in);
  if (layer.ok() && (layer->name.empty() || layer->version < 0)) __builtin_trap();
  auto layer_name = nimbus::services::lambda::parse_layer_name(in);
  if (layer_name.ok() && layer_name->empty()) __builtin_trap();
  (void)nimbus::services::lambda::is_valid_role_arn(in);
  (void)nimbus::services::lambda::is_valid_alias_name(in);
  return 0;
}
