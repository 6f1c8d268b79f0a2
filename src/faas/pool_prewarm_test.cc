// The pool's pre-warm hook, with a scripted policy and instances on virtual time.
#include <gtest/gtest.h>

#include "faas/pool.h"
#include "faas/simulated_instance.h"

namespace nimbus::faas {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// Keeps an idle instance one minute; once reclaimed, asks for `instances`
// instances 10 minutes after the reclaim.
class ScriptedPolicy final : public KeepAlivePolicy {
 public:
  Duration keep_alive(std::string_view, TimePoint) override { return minutes(1); }
  std::optional<Prewarm> next_prewarm(std::string_view, TimePoint now, int live) override {
    ++asked;
    last_live = live;
    asked_at = now;
    if (!enabled) return std::nullopt;
    return Prewarm{now + minutes(10), instances};
  }
  bool enabled = true;
  int instances = 1, asked = 0, last_live = -1;
  TimePoint asked_at{};
};

class PoolPrewarmTest : public ::testing::Test {
 protected:
  PoolPrewarmTest() : factory_(clock_, ledger_, {}), pool_(factory_, clock_, policy_, options()) {
    spec_.name = "f";
    spec_.revision = "r1";
  }
  static PoolOptions options() {
    PoolOptions o;
    o.adaptive_concurrency = false;
    return o;
  }
  void invoke() {
    Invocation inv;
    inv.payload = "100";
    ASSERT_EQ(pool_.invoke(spec_, std::nullopt, inv,
                           [this](InvokeResult r) { cold.push_back(r.cold_start); }),
              Admission::kAdmitted);
  }

  std::vector<bool> cold;
  ManualClock clock_;
  Ledger ledger_;
  SimulatedFactory factory_;
  ScriptedPolicy policy_;
  Pool pool_;
  FunctionSpec spec_;
};

TEST_F(PoolPrewarmTest, StartsAnInstanceWhenThePolicyAsks) {
  invoke();
  clock_.advance(seconds(1));  // started (~0.3 s) and ran (0.1 s)
  ASSERT_EQ(cold.size(), 1u);
  EXPECT_EQ(pool_.stats("f:$LATEST").idle, 1);
  clock_.advance(minutes(1));  // reclaimed: the policy is asked
  EXPECT_EQ(policy_.asked, 1);
  EXPECT_EQ(policy_.last_live, 0);
  EXPECT_EQ(pool_.stats("f:$LATEST").instances, 0);
  clock_.advance(minutes(10));  // the pre-warm
  EXPECT_EQ(ledger_.started, 2u);
  EXPECT_EQ(pool_.stats("f:$LATEST").idle, 1);
  invoke();  // lands on the pre-warmed instance at once
  clock_.advance(seconds(1));
  ASSERT_EQ(cold.size(), 2u);
  EXPECT_EQ(ledger_.started, 2u);
}

TEST_F(PoolPrewarmTest, StartsOnlyTheMissingInstances) {
  policy_.instances = 3;
  invoke();
  clock_.advance(seconds(1) + minutes(1) + minutes(10));
  EXPECT_EQ(ledger_.started, 4u);  // 1 + 3
  EXPECT_EQ(pool_.stats("f:$LATEST").idle, 3);
}

// An arrival while a pre-warm is starting waits for it instead of starting another.
TEST_F(PoolPrewarmTest, ArrivalDuringAPrewarmUsesIt) {
  invoke();
  clock_.advance(seconds(1) + minutes(1));
  ASSERT_EQ(policy_.asked, 1);
  // The pre-warm has just begun.
  clock_.advance(policy_.asked_at + minutes(10) + std::chrono::milliseconds(1) - clock_.now());
  EXPECT_EQ(pool_.stats("f:$LATEST").starting, 1);
  invoke();
  EXPECT_EQ(ledger_.started, 2u);
  clock_.advance(seconds(1));
  EXPECT_EQ(cold.size(), 2u);
  EXPECT_EQ(ledger_.started, 2u);
}

TEST_F(PoolPrewarmTest, NothingWhenThePolicyDeclinesOrThePoolStops) {
  policy_.enabled = false;
  invoke();
  clock_.advance(minutes(30));
  EXPECT_EQ(ledger_.started, 1u);
  policy_.enabled = true;
  invoke();
  clock_.advance(seconds(1) + minutes(1));  // reclaimed, pre-warm armed
  pool_.stop_all();
  clock_.advance(minutes(30));
  EXPECT_EQ(ledger_.started, 2u);
}

TEST_F(PoolPrewarmTest, RetiredFunctionIsNotPrewarmed) {
  invoke();
  clock_.advance(seconds(1) + minutes(1));
  pool_.retire_function("f");
  clock_.advance(minutes(30));
  EXPECT_EQ(ledger_.started, 1u);
}

}  // namespace
}  // namespace nimbus::faas
