// libFuzzer target: query-protocol request bodies (form-encoded) never crash
// the parameter parser or its list/map accessors.
#include <cstdint>
#include <string>

#include "aws/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nimbus::http::Request req;
  req.method = "POST";
  req.headers.set("Content-Type", "application/x-www-form-urlencoded");
  req.body.assign(reinterpret_cast<const char*>(data), size);
  auto params = nimbus::aws::query::Params::parse(req);
  (void)params.action();
  (void)params.get_list("PolicyArns");
  (void)params.get_map("Attributes");
  (void)params.get_struct_list("Tags");
  return 0;
}
