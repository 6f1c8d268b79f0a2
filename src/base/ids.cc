#include "base/ids.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

namespace nimbus {

std::string hex_encode(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string random_hex(size_t bytes) {
  std::string buf(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return hex_encode(buf);
}

namespace {

// Fills `out` from a per-thread generator seeded from the CSPRNG.
void unique_bytes(unsigned char* out, size_t n) {
  thread_local std::mt19937_64 gen = [] {
    std::array<unsigned char, 32> seed_bytes;
    if (RAND_bytes(seed_bytes.data(), static_cast<int>(seed_bytes.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");
    std::array<uint32_t, 8> words;
    std::memcpy(words.data(), seed_bytes.data(), seed_bytes.size());
    std::seed_seq seq(words.begin(), words.end());
    return std::mt19937_64(seq);
  }();
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = gen();
    std::memcpy(out + i, &v, std::min<size_t>(8, n - i));
  }
}

}  // namespace

std::string new_uuid() {
  unsigned char b[16];
  unique_bytes(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string h = hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string new_trace_id(int64_t epoch_seconds) {
  unsigned char b[12];
  unique_bytes(b, sizeof b);
  char time_hex[16];
  std::snprintf(time_hex, sizeof time_hex, "%08llx",
                static_cast<unsigned long long>(epoch_seconds & 0xffffffff));
  return std::string("1-") + time_hex + "-" +
         hex_encode(std::string_view(reinterpret_cast<char*>(b), sizeof b));
}

static std::string sha256_raw(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string sha256_hex(std::string_view data) {
  return hex_encode(sha256_raw(data));
}
std::string sha256_base64(std::string_view data) {
  return base64_encode(sha256_raw(data));
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool base64_decode(std::string_view in, std::string& out) {
  // Strict RFC 4648 with padding, as AWS accepts for blob members.
  static constexpr auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  if (in.size() % 4 != 0) return false;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=') {
        if (i + 4 != in.size() || j < 2) return false;
        v[j] = 0;
        ++pad;
      } else {
        if (pad) return false;
        v[j] = value(c);
        if (v[j] < 0) return false;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace nimbus
