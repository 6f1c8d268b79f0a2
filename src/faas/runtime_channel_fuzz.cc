// Feeds arbitrary bytes, in arbitrary pieces, to the runtime channel's frame
// reader: it must reject or parse, never crash or loop.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "faas/runtime_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  nimbus::faas::FrameReader reader(4096);
  size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  while (!bytes.empty()) {
    size_t n = std::min(piece, bytes.size());
    reader.feed(bytes.substr(0, n));
    bytes.remove_prefix(n);
    for (;;) {
      auto m = reader.next();
      if (!m) return 0;
      if (!*m) break;
    }
  }
  return 0;
}
