#include "faas/trace.h"

#include <gtest/gtest.h>

#include <string>

namespace nimbus::faas {
namespace {

TEST(Trace, ParsesTheCsvFormatInTimeOrder) {
  auto t = parse_trace(
      "timestamp_ms,function,duration_ms,memory_mb\n"
      "# a comment\n"
      "5000,b,20,512\n"
      "\n"
      "1000,a,100,128\r\n"
      "5000,a,30,128\n");
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->functions, (std::vector<std::string>{"b", "a"}));
  ASSERT_EQ(t->events.size(), 3u);
  EXPECT_EQ(t->events[0].time_ms, 1000);
  EXPECT_EQ(t->events[0].function, 1u);
  EXPECT_EQ(t->events[0].duration_ms, 100u);
  // Equal times keep their order in the file.
  EXPECT_EQ(t->events[1].function, 0u);
  EXPECT_EQ(t->events[1].memory_mb, 512u);
  EXPECT_EQ(t->events[2].function, 1u);
}

TEST(Trace, HeaderIsOptional) {
  auto t = parse_trace("0,f,1,128\n60000,f,1,128");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->events.size(), 2u);
}

TEST(Trace, RejectsBadLinesNamingThem) {
  for (const char* bad : {"0,f,1\n", "-1,f,1,128\n", "0,,1,128\n", "0,f,x,128\n",
                          "0,f,900001,128\n", "0,f,1,0\n", "0,f,1,10241\n", "0,f,1,128,9\n"}) {
    auto t = parse_trace(std::string("0,ok,1,128\n") + bad);
    ASSERT_FALSE(t) << bad;
    EXPECT_NE(t.error().message.find("line 2"), std::string::npos) << t.error().message;
  }
}

TEST(Trace, RefusesMoreEventsThanAllowed) {
  auto t = parse_trace("0,f,1,128\n1,f,1,128\n2,f,1,128\n", TraceOptions{.max_events = 2});
  EXPECT_FALSE(t);
}

std::string azure_row(std::string_view app, std::string_view fn,
                      std::initializer_list<std::pair<int, int>> counts) {
  std::vector<int> minutes(1440, 0);
  for (auto [m, c] : counts) minutes[m] = c;
  std::string row = "owner," + std::string(app) + "," + std::string(fn) + ",http";
  for (int c : minutes) row += "," + std::to_string(c);
  return row + "\n";
}

std::string azure_header() {
  std::string h = "HashOwner,HashApp,HashFunction,Trigger";
  for (int m = 1; m <= 1440; ++m) h += "," + std::to_string(m);
  return h + "\n";
}

TEST(Trace, SpreadsTheAzureFormatsCountsOverEachMinute) {
  std::string text = azure_header() + azure_row("app1", "fn1", {{0, 3}, {2, 2}}) +
                     azure_row("app2", "fn1", {{1439, 1}});
  auto t = parse_trace(
      text, TraceOptions{.seed = 7, .default_duration_ms = 40, .default_memory_mb = 192});
  ASSERT_TRUE(t) << t.error().message;
  ASSERT_EQ(t->functions, (std::vector<std::string>{"app1/fn1", "app2/fn1"}));
  ASSERT_EQ(t->events.size(), 6u);
  int in_first = 0, in_third = 0;
  for (const auto& e : t->events) {
    in_first += e.time_ms < 60'000;
    in_third += e.time_ms >= 120'000 && e.time_ms < 180'000;
    EXPECT_EQ(e.duration_ms, 40u);
    EXPECT_EQ(e.memory_mb, 192u);
  }
  EXPECT_EQ(in_first, 3);
  EXPECT_EQ(in_third, 2);
  EXPECT_GE(t->events.back().time_ms, 1439 * 60'000);
  // The same seed gives the same trace; another seed another spread.
  auto again = parse_trace(text, TraceOptions{.seed = 7});
  auto other = parse_trace(text, TraceOptions{.seed = 8});
  ASSERT_TRUE(again && other);
  bool same = true, differs = false;
  for (size_t i = 0; i < 6; ++i) {
    same = same && again->events[i].time_ms == t->events[i].time_ms;
    differs = differs || other->events[i].time_ms != t->events[i].time_ms;
  }
  EXPECT_TRUE(same);
  EXPECT_TRUE(differs);
}

TEST(Trace, RejectsAShortAzureRow) {
  auto t = parse_trace(azure_header() + "owner,app,fn,http,1,2,3\n");
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find("line 2"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::faas
