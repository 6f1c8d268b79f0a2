#include "base/text.h"

#include <gtest/gtest.h>

namespace nimbus {
namespace {

using V = std::vector<std::string_view>;

TEST(Text, SplitKeepsEmptyPartsAtEveryPosition) {
  // ARN and path parsing rely on empty parts being kept, not collapsed.
  EXPECT_EQ(split("", ':'), V{""});
  EXPECT_EQ(split("a", ':'), V{"a"});
  EXPECT_EQ(split("a::b:", ':'), (V{"a", "", "b", ""}));
  EXPECT_EQ(split(":a", ':'), (V{"", "a"}));
}

TEST(Text, LowerCasesAsciiOnlyAndTrimsSpacesAndTabs) {
  EXPECT_EQ(ascii_lower("X-Amz-Date\xC3\x84"), "x-amz-date\xC3\x84");
  EXPECT_EQ(trim_ows(" \t value \t"), "value");
  EXPECT_EQ(trim_ows("\r\nv"), "\r\nv");  // only OWS, never line breaks
  EXPECT_EQ(trim_ows("   "), "");
}

}  // namespace
}  // namespace nimbus
