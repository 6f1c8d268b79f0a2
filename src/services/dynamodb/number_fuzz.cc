// libFuzzer target: Number never crashes on any text or key bytes, and its
// invariants hold for whatever parses: the canonical text parses back to the
// same number (and prints the same), the sort key decodes back to the same
// number, key order is numeric order, and exact arithmetic undoes itself.
// Input: "a" or "a\nb" (two operands); the whole input is also tried as a
// sort key.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/dynamodb/number.h"

namespace {

using nimbus::services::dynamodb::Number;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_one(const Number& n) {
  const std::string text = n.to_string();
  auto again = Number::parse(text);
  check(again.ok() && *again == n && again->to_string() == text);
  const std::string key = n.sort_key();
  auto decoded = Number::from_sort_key(key);
  check(decoded.ok() && *decoded == n && decoded->sort_key() == key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Arbitrary key bytes: refused, or exactly what sort_key() would produce.
  if (auto k = Number::from_sort_key(in); k.ok()) check(k->sort_key() == in);

  const size_t nl = in.find('\n');
  const std::string_view a_text = in.substr(0, nl);
  const std::string_view b_text = nl == std::string_view::npos ? a_text : in.substr(nl + 1);
  auto a = Number::parse(a_text);
  auto b = Number::parse(b_text);
  if (a.ok()) check_one(*a);
  if (b.ok()) check_one(*b);
  if (!a.ok() || !b.ok()) return 0;

  // Key bytes order like the numbers.
  check((a->sort_key() <=> b->sort_key()) == (*a <=> *b));

  auto sum = a->add(*b);
  auto sum2 = b->add(*a);
  check(sum.ok() == sum2.ok());
  if (sum.ok()) {
    check(*sum == *sum2);
    check_one(*sum);
    // Exact arithmetic: a + b - b is a again, which is in range, so it must succeed.
    auto back = sum->subtract(*b);
    check(back.ok() && *back == *a);
  } else {
    check(sum.error() == sum2.error());
  }
  auto diff = a->subtract(*b);
  if (diff.ok()) {
    check_one(*diff);
    auto back = diff->add(*b);
    check(back.ok() && *back == *a);
    auto neg = b->subtract(*a);
    check(neg.ok() && Number().subtract(*neg).ok() && *Number().subtract(*neg) == *diff);
  }
  return 0;
}
