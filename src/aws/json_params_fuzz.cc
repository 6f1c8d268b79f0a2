// libFuzzer target: a json-1.0/1.1 request body (Logs, Application Auto
// Scaling) never crashes the body parser or the typed member readers, whatever
// the members' types; every member is read each way.
#include <cstdint>
#include <string_view>

#include "aws/json_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto o = nimbus::aws::parse_json_body(body);
  if (!o) return 0;
  nimbus::aws::JsonParams p(*o);
  for (const auto& member : *o) {
    std::string_view name = member.key();
    (void)p.str(name);
    (void)p.int64(name);
    (void)p.number(name);
    (void)p.boolean(name);
    (void)p.strings(name);
    (void)p.array(name);
    (void)p.object(name);
    (void)p.required(name);
  }
  (void)p.required("Absent");
  (void)p.error();
  return 0;
}
