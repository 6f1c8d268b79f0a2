#include "base/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

namespace nimbus {
namespace {

namespace json = boost::json;

// Every byte, alone and inside text, is written as boost::json::serialize
// writes it: the gateway mixes the two in one event.
TEST(JsonWriter, StringsAreEscapedAsBoostDoes) {
  for (int c = 0; c < 256; ++c) {
    std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    JsonWriter w;
    w.string(s);
    EXPECT_EQ(w.text(), json::serialize(json::string(s))) << "byte " << c;
  }
  std::string mixed = "q\"b\\s/\x01\x1f\t\n\r\b\f\x0b\x7f \xc3\xbc \xf0\x9f\x98\x80 \xff";
  JsonWriter w;
  w.string(mixed);
  EXPECT_EQ(w.text(), json::serialize(json::string(mixed)));
  EXPECT_EQ(
      w.text(),
      "\"q\\\"b\\\\s/\\u0001\\u001f\\t\\n\\r\\b\\f\\u000b\x7f \xc3\xbc \xf0\x9f\x98\x80 \xff\"");
}

// Plain text is skipped 8 bytes at a time (short strings and tails read as
// one word): each special byte at every offset of strings of every length up
// to 33, next to bytes that need no escaping (high bytes, DEL, space), in a
// writer that starts with no room and grows.
TEST(JsonWriter, EscapesAtEveryOffset) {
  for (char special : {'"', '\\', '\0', '\x1f', '\n', '\x7f', '\x80', '\xff', ' ', '!'}) {
    for (char filler : {'a', '\xe9', '\x7f', ' ', '#', ']'}) {
      for (size_t len = 1; len <= 33; ++len) {
        for (size_t at = 0; at < len; ++at) {
          std::string s(len, filler);
          s[at] = special;
          JsonWriter w(1);
          w.string(s);
          ASSERT_EQ(w.text(), json::serialize(json::string(s)))
              << "byte " << int(static_cast<unsigned char>(special)) << " at " << at << " of "
              << len;
        }
      }
    }
  }
}

TEST(JsonWriter, NestingCommasAndScalars) {
  JsonWriter w;
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.string("x");
  w.null();
  w.boolean(true);
  w.boolean(false);
  w.number(-42);
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.end_array();
  w.key("n\"k");
  w.number(std::numeric_limits<int64_t>::min());
  w.key("raw");
  w.raw(R"({"z":[1,2]})");
  w.key("parts");
  w.begin_string();
  w.string_part("GET");
  w.string_part(" ");
  w.string_part("/a\n");
  w.end_string();
  w.begin_string();
  w.string_part("k");
  w.string_part("2");
  w.end_key();
  w.number(0);
  w.end_object();
  EXPECT_EQ(w.text(), R"({"a":["x",null,true,false,-42,{},[]],"n\"k":-9223372036854775808,)"
                      R"("raw":{"z":[1,2]},"parts":"GET /a\n","k2":0})");
  EXPECT_EQ(json::serialize(json::parse(w.text())), w.text());
}

}  // namespace
}  // namespace nimbus
