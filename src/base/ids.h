// Identifiers: request ids (UUID v4 as AWS uses), random hex, and hashing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nimbus {

// Identifiers that must be unique but need not be secret (request ids, trace
// ids) come from a per-thread generator seeded once from the system's CSPRNG:
// one per request on the hot path, so no system call each time.
std::string new_uuid();  // 8-4-4-4-12 lowercase hex, random (v4)
// An X-Ray trace id as Lambda passes it: "1-<8 hex epoch seconds>-<24 hex>".
std::string new_trace_id(int64_t epoch_seconds);
// Secrets and anything else unpredictable: straight from the CSPRNG.
std::string random_hex(size_t bytes);  // 2*bytes hex characters
std::string sha256_hex(std::string_view data);
std::string sha256_base64(std::string_view data);
std::string base64_encode(std::string_view data);
// Returns false on malformed input.
bool base64_decode(std::string_view in, std::string& out);
std::string hex_encode(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes

}  // namespace nimbus
