// libFuzzer target: the fork-server's request decoder runs as root on bytes
// from its socket, so no input may crash it, and whatever decodes must
// encode back to a request that decodes to the same spec.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sandbox/zygote_protocol.h"

namespace {

namespace sb = nimbus::sandbox;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto r = sb::decode_request(in)) {
    check(r->fd_count() <= sb::kMaxZygoteFds);
    auto again = sb::decode_request(sb::encode_request(*r));
    check(again && again->spec.argv == r->spec.argv && again->spec.env.empty() &&
          again->spec.uid == r->spec.uid && again->spec.cwd == r->spec.cwd &&
          again->spec.extra_mounts.size() == r->spec.extra_mounts.size() &&
          again->channel == r->channel && again->join_fds == r->join_fds);
  }
  if (auto r = sb::decode_reply(in)) check(r->pid >= 0 && r->error_number >= 0);
  auto env = sb::decode_environment(in);
  check(sb::decode_environment(sb::encode_environment(env)) == env);
  return 0;
}
