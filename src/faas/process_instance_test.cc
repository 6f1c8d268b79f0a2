#include "faas/process_instance.h"

#include <gtest/gtest.h>

#include <regex>

namespace nimbus::faas {
namespace {

// Lambda's REPORT line, field for field (tab-separated), with Init Duration
// only on the cold start.
TEST(ReportLine, MatchesLambdaFormat) {
  auto warm = report_line("abc", std::chrono::microseconds(1234), 128, 31ull << 20, std::nullopt);
  EXPECT_EQ(warm,
            "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 "
            "MB\tMax Memory Used: 31 MB");
  auto cold =
      report_line("abc", std::chrono::milliseconds(3), 512, 1, std::chrono::microseconds(25500));
  EXPECT_TRUE(cold.ends_with("\tMax Memory Used: 1 MB\tInit Duration: 25.50 ms")) << cold;
  EXPECT_NE(cold.find("Billed Duration: 3 ms"), std::string::npos);
  // Nimbus's own field, on cold starts only: how the instance was launched.
  auto forked = report_line("abc", std::chrono::milliseconds(3), 512, 1,
                            std::chrono::microseconds(25500), "fork-server");
  EXPECT_TRUE(forked.ends_with("\tInit Duration: 25.50 ms\tLaunch: fork-server")) << forked;
  EXPECT_EQ(
      report_line("abc", std::chrono::milliseconds(3), 512, 1, std::nullopt, "exec").find("Launch"),
      std::string::npos);
}

TEST(ReportLine, FormatsSecondsLikeLambda) {
  EXPECT_EQ(format_seconds(std::chrono::seconds(3)), "3.00");
  EXPECT_EQ(format_seconds(std::chrono::milliseconds(1500)), "1.50");
}

TEST(LogStreamName, HasDateVersionAndRandomSuffix) {
  auto name = new_log_stream_name(1'700'000'000'000, "$LATEST");
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(2023/11/14/\[\$LATEST\][0-9a-f]{32})"))) << name;
}

}  // namespace
}  // namespace nimbus::faas
