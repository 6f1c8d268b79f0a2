#include "base/json_writer.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace nimbus {

namespace {

// What each byte becomes inside a string: 0 passes, 'u' is \u00xx, any other
// character c is the two-character escape \c.
constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 'u';
  t['\b'] = 'b';
  t['\t'] = 't';
  t['\n'] = 'n';
  t['\f'] = 'f';
  t['\r'] = 'r';
  t['"'] = '"';
  t['\\'] = '\\';
  return t;
}();

constexpr uint64_t kOnes = 0x0101010101010101ULL;

template <class T>
uint64_t load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Whether any of the 8 bytes of x needs escaping: "has a byte less than n" and
// "has a zero byte" (after xor with '"' and '\\') from the well-known word
// tricks, exact for the word as a whole. The high bit of ~x is that of
// ~(x ^ '"') and ~(x ^ '\\'), so one mask serves all three.
bool needs_escape(uint64_t x) {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t below_space = x - kOnes * 0x20;
  uint64_t quote = (x ^ (kOnes * '"')) - kOnes;
  uint64_t backslash = (x ^ (kOnes * '\\')) - kOnes;
  return ((below_space | quote | backslash) & ~x & kHigh) != 0;
}

// The n < 8 bytes at p as one word (bytes may repeat, the rest is 'a'), read
// without a byte loop: most keys and values are that short.
uint64_t short_word(const char* p, size_t n) {
  constexpr uint64_t kPad = kOnes * 'a';
  if (n >= 4) return load<uint32_t>(p) | load<uint32_t>(p + n - 4) << 32;
  if (n >= 2) return (kPad << 32) | load<uint16_t>(p) | load<uint16_t>(p + n - 2) << 16;
  return (kPad << 8) | static_cast<unsigned char>(*p);
}

// The first byte in [p, end) that needs escaping, or end.
const char* find_escape(const char* p, const char* end) {
  const char* const begin = p;
  while (end - p >= 8 && !needs_escape(load<uint64_t>(p))) p += 8;
  if (p == end) return p;
  if (size_t n = static_cast<size_t>(end - p); n < 8) {
    // The last word of a longer string (overlapping bytes already checked),
    // or the whole of a short one.
    uint64_t x = end - begin >= 8 ? load<uint64_t>(end - 8) : short_word(p, n);
    if (!needs_escape(x)) return end;
  }
  while (!kEscapes[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

}  // namespace

void JsonWriter::grow(size_t n) {
  buf_.resize(std::max(buf_.size() * 2, len_ + n));
}

void JsonWriter::string_part(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    const char* stop = find_escape(p, end);
    append(p, static_cast<size_t>(stop - p));
    if (stop == end) break;
    auto c = static_cast<unsigned char>(*stop);
    p = stop + 1;
    if (char e = kEscapes[c]; e != 'u') {
      const char esc[2] = {'\\', e};
      append(esc, 2);
    } else {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      append(esc, 6);
    }
  }
}

void JsonWriter::number(int64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  literal(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

}  // namespace nimbus
