// libFuzzer target: arbitrary bytes as a function's zip never crash the
// unpacker and never write outside the destination directory.
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "services/lambda/code_package.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path root = fs::temp_directory_path() / "nimbus-zip-fuzz";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root, ec);
  std::string_view zip(reinterpret_cast<const char*>(data), size);
  (void)nimbus::services::lambda::unpack_zip(zip, (root / "out").string(), {1 << 20, 1000});
  // Nothing may appear beside "out" (or its temp directory, removed on failure).
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.path().filename() != "out") __builtin_trap();
  return 0;
}
