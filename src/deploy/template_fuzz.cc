// libFuzzer target: arbitrary bytes loaded as a template never crash the
// YAML loader, SAM expansion, reference checks, condition/intrinsic
// evaluation or the typed resource parsers.
#include <cstdint>
#include <string>

#include "deploy/intrinsics.h"
#include "deploy/sam.h"
#include "deploy/template.h"

using namespace nimbus::deploy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = load_template(text, "fuzz.yaml");
  if (!t) {
    (void)t.error().to_string();
    return 0;
  }
  if (!sam::expand(*t)) return 0;
  (void)sam::unsupported(*t);
  (void)check_references(*t, sam::generated_ids(*t));
  auto ctx = make_context(*t, PseudoParameters{}, {});
  if (!ctx) return 0;
  ctx->resources = sam::placeholder_values();
  (void)sam::validate(*t, *ctx);
  for (const auto& o : t->outputs) (void)resolve(o.value, *ctx, "Outputs." + o.name);
  auto deps = dependencies(*t, &ctx->conditions);
  (void)creation_order(*t, deps);
  return 0;
}
