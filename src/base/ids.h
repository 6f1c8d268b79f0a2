// Identifiers: request ids (UUID v4 as AWS uses), random hex, and hashing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nimbus {

std::string new_uuid();                // 8-4-4-4-12 lowercase hex, random (v4)
std::string random_hex(size_t bytes);  // 2*bytes hex characters
std::string sha256_hex(std::string_view data);
std::string sha256_base64(std::string_view data);
std::string base64_encode(std::string_view data);
// Returns false on malformed input.
bool base64_decode(std::string_view in, std::string& out);
std::string hex_encode(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes

}  // namespace nimbus
