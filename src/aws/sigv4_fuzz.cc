// libFuzzer target: arbitrary bytes through the SigV4 parsers and verifier,
// which see untrusted input on every request before anything is authenticated.
// Built only with -DNIMBUS_FUZZ=ON (clang).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aws/sigv4.h"

using namespace nimbus;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)aws::sigv4::parse_authorization(in);
  (void)aws::sigv4::parse_amz_date(in.substr(0, 16));

  // Split the input into the pieces of a request: Authorization header, query
  // string, path and body, separated by newlines.
  std::string_view parts[4];
  for (auto& p : parts) {
    auto nl = in.find('\n');
    p = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  }
  http::Request req;
  req.method = "POST";
  req.path = std::string(parts[2]);
  req.query = std::string(parts[1]);
  req.body = std::string(parts[3]);
  req.headers.add("Host", "localhost:4566");
  req.headers.add("X-Amz-Date", "20240102T030405Z");
  if (!parts[0].empty()) req.headers.add("Authorization", std::string(parts[0]));

  (void)aws::sigv4::credential_scope(req);
  (void)aws::sigv4::canonical_uri(req.path);
  (void)aws::sigv4::canonical_query(req.query, true);
  (void)aws::sigv4::verify(req, "secret", 1704164645, aws::Protocol::kQuery);
  return 0;
}
