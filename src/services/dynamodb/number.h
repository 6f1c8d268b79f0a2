// DynamoDB's number type (attribute type N): an exact decimal of up to 38
// significant digits whose magnitude is zero or lies in 1E-130 ..
// 9.9999999999999999999999999999999999999E+125, either sign. No binary
// floating point is involved anywhere: values are kept as decimal digits, so
// 0.1 + 0.2 is exactly 0.3 and 38-digit keys compare exactly.
//
// Error texts are DynamoDB's ValidationException messages, bare. The request
// layer adds whatever DynamoDB wraps them in for the operation at hand
// ("1 validation error detected: ..." on PutItem/UpdateItem/DeleteItem,
// "ExpressionAttributeValues contains invalid value: ... for key :v" on the
// older paths, which also drop the ": " after the not-numeric text when the
// value is empty).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace nimbus::services::dynamodb {

class Number {
 public:
  static constexpr int kMaxDigits = 38;
  static constexpr int kMaxExponent = 125;   // of the leading digit
  static constexpr int kMinExponent = -130;  // of the leading digit

  Number() = default;  // zero

  // Parses what DynamoDB accepts: an optional sign, digits with at most one
  // '.' (at least one digit in all: "5.", ".5" are numbers, "." is not), then
  // optionally e/E, an optional sign and at least one digit. Leading and
  // trailing zeros are allowed and do not count as significant digits; no
  // whitespace, "NaN", "Infinity" or hex. Out-of-range is checked before the
  // digit count.
  static Result<Number, std::string> parse(std::string_view text);
  static Number from_int(int64_t v);

  // The text DynamoDB returns for a stored number: plain notation, never an
  // exponent; no '+', no leading zeros, no trailing zeros after the point, no
  // bare point; every zero is "0". "1.50" -> "1.5", "1E+2" -> "100",
  // "-1.0e-3" -> "-0.001", "1E-130" -> "0." + 129 zeros + "1".
  std::string to_string() const;

  // Order-preserving, self-delimiting key bytes: memcmp order of two keys is
  // the numeric order of their numbers, equal numbers (1.5, 1.50, 15E-1) get
  // identical keys, and no key is a prefix of another, so a key may be
  // followed by more key components. Layout (m = exponent of the leading
  // digit, -130..125; digits d1 d2 ... are the significant digits, without
  // trailing zeros, taken in pairs, an odd last digit paired with 0):
  //   zero      0x02
  //   positive  0x03, byte(m + 130), byte(1 + 10*d1 + d2) per pair, 0x00
  //   negative  0x01, byte(125 - m), byte(254 - 10*d1 - d2) per pair, 0xFF
  // The negative form is the bytewise complement (255 - b) of the positive
  // one, so larger magnitudes sort first there. At most 22 bytes.
  std::string sort_key() const;
  // Accepts exactly the bytes sort_key() produces (so decoding and
  // re-encoding gives back the same key); anything else is an error.
  static Result<Number, std::string> from_sort_key(std::string_view key);

  // Exact sum and difference, for UpdateExpression SET a = a + :v, a - :v
  // and ADD. A result outside the range, or one that needs more than 38
  // significant digits (1E+50 + 1), fails with DynamoDB's overflow/underflow
  // text; nothing is ever rounded.
  Result<Number, std::string> add(const Number& other) const;
  Result<Number, std::string> subtract(const Number& other) const;

  bool is_zero() const { return ndigits_ == 0; }

  friend std::strong_ordering operator<=>(const Number& a, const Number& b);
  // Representations are canonical, so equal numbers have equal members.
  friend bool operator==(const Number&, const Number&) = default;

 private:
  using Digits = std::array<uint8_t, kMaxDigits>;
  // `digits` holds `count` significant digits, first and last non-zero.
  static Number make(bool negative, int exponent, const Digits& digits, int count);
  static std::strong_ordering compare_magnitude(const Number& a, const Number& b);

  // Canonical form: zero is {false, 0, 0, all zeros}; otherwise digits_[0]
  // and digits_[ndigits_ - 1] are non-zero and digits past ndigits_ are 0.
  // value = (-1)^negative_ * d0.d1d2... * 10^exponent_
  bool negative_ = false;
  uint8_t ndigits_ = 0;
  int16_t exponent_ = 0;
  Digits digits_{};
};

}  // namespace nimbus::services::dynamodb
