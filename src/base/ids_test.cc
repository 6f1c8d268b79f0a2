#include "base/ids.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <thread>

namespace nimbus {
namespace {

TEST(Ids, UuidIsVersion4AndUnique) {
  // Lambda request ids are UUID v4 strings; clients may parse them.
  std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    auto id = new_uuid();
    ASSERT_TRUE(std::regex_match(id, v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(Ids, ThreadsDoNotRepeatEachOthersUuids) {
  // Per-thread generators are seeded independently.
  std::set<std::string> a, b;
  std::thread t1([&] {
    for (int i = 0; i < 1000; ++i) a.insert(new_uuid());
  });
  std::thread t2([&] {
    for (int i = 0; i < 1000; ++i) b.insert(new_uuid());
  });
  t1.join();
  t2.join();
  for (const auto& id : a) EXPECT_FALSE(b.contains(id));
}

TEST(Ids, TraceIdCarriesTheEpochSecondsAsXRayDoes) {
  // X-Ray: "1-" + 8 hex digits of the request's epoch seconds + "-" + 24 hex digits.
  auto id = new_trace_id(0x5759e988);
  ASSERT_EQ(id.size(), 35u);
  EXPECT_EQ(id.substr(0, 11), "1-5759e988-");
  EXPECT_TRUE(std::regex_match(id.substr(11), std::regex("[0-9a-f]{24}")));
  EXPECT_NE(new_trace_id(1), new_trace_id(1));
}

TEST(Ids, RandomHexHasTheRequestedLength) {
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace
}  // namespace nimbus
