// The pool's idle-memory budget and its greedy-dual eviction, on virtual time.
#include <gtest/gtest.h>

#include "faas/pool.h"
#include "faas/simulated_instance.h"

namespace nimbus::faas {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class PoolBudgetTest : public ::testing::Test {
 protected:
  PoolBudgetTest()
      : keep_alive_(minutes(15)),
        factory_(clock_, ledger_, {}),
        pool_(factory_, clock_, keep_alive_, options()) {}
  static PoolOptions options() {
    PoolOptions o;
    o.adaptive_concurrency = false;
    o.idle_memory_budget_mb = 1200;
    return o;
  }
  FunctionSpec spec(const std::string& name, int memory_mb) {
    FunctionSpec s;
    s.name = name;
    s.revision = "r1";
    s.memory_mb = memory_mb;
    return s;
  }
  void call(const FunctionSpec& s, int times = 1) {
    for (int i = 0; i < times; ++i) {
      Invocation inv;
      inv.payload = "10";
      ASSERT_EQ(pool_.invoke(s, std::nullopt, inv, [](InvokeResult) {}), Admission::kAdmitted);
      clock_.advance(seconds(1));
    }
  }
  int idle(const std::string& name) { return pool_.stats(name + ":$LATEST").idle; }

  ManualClock clock_;
  Ledger ledger_;
  FixedKeepAlive keep_alive_;
  SimulatedFactory factory_;
  Pool pool_;
};

TEST_F(PoolBudgetTest, WithinTheBudgetNothingIsEvicted) {
  call(spec("small", 128), 10);
  call(spec("big", 1024));
  EXPECT_EQ(idle("small"), 1);
  EXPECT_EQ(idle("big"), 1);
}

// Over the budget the instance with the least value per MB goes: the big
// function called once, not the small busy one nor the newcomer.
TEST_F(PoolBudgetTest, EvictsTheLeastValuablePerMegabyte) {
  call(spec("small", 128), 10);
  call(spec("big", 1024));
  call(spec("new", 256));  // 1408 MB idle > 1200
  EXPECT_EQ(idle("small"), 1);
  EXPECT_EQ(idle("big"), 0);
  EXPECT_EQ(idle("new"), 1);
  EXPECT_EQ(pool_.stats("big:$LATEST").reclaimed, 1);
  // Called again, it starts cold; then the budget makes room for it.
  call(spec("big", 1024));
  EXPECT_EQ(ledger_.started, 4u);
}

// The clock rises with each eviction, so an instance parked long ago loses
// to ones parked since, even though its function was called more.
TEST_F(PoolBudgetTest, ClockAgesOldInstances) {
  call(spec("a", 540), 5);  // priority 5/540; it and one 600 MB instance fit
  // Each newcomer parks at clock + 1/600 and evicts the lowest, raising the
  // clock by 1/600 every second eviction; once the newcomers' priority passes
  // 5/540, `a` is the lowest.
  for (int i = 1; i <= 11; ++i) {
    call(spec("b" + std::to_string(i), 600));
    EXPECT_EQ(idle("a"), 1) << i;
  }
  call(spec("b12", 600));
  EXPECT_EQ(idle("a"), 0);
  EXPECT_EQ(idle("b11"), 1);
  EXPECT_EQ(idle("b12"), 1);
}

// Memory the launcher keeps outside the pool (snapshot templates) shares the
// budget: idle instances get what it leaves.
TEST(PoolBudget, RetainedMemoryCountsAgainstTheBudget) {
  ManualClock clock;
  Ledger ledger;
  FixedKeepAlive keep_alive(minutes(15));
  SimulatedFactory factory(clock, ledger, {});
  int64_t retained_mb = 0;
  PoolOptions o;
  o.adaptive_concurrency = false;
  o.idle_memory_budget_mb = 1200;
  o.retained_memory_mb = [&] { return retained_mb; };
  Pool pool(factory, clock, keep_alive, o);
  auto call = [&](const std::string& name, int memory_mb) {
    FunctionSpec s;
    s.name = name;
    s.revision = "r1";
    s.memory_mb = memory_mb;
    Invocation inv;
    inv.payload = "10";
    ASSERT_EQ(pool.invoke(s, std::nullopt, inv, [](InvokeResult) {}), Admission::kAdmitted);
    clock.advance(seconds(1));
  };
  call("a", 512);
  call("b", 512);  // 1024 MB idle: within 1200
  EXPECT_EQ(pool.stats("a:$LATEST").idle + pool.stats("b:$LATEST").idle, 2);
  retained_mb = 300;  // templates now: 1324 MB > 1200 at the next parking
  call("b", 512);
  EXPECT_EQ(pool.stats("a:$LATEST").idle + pool.stats("b:$LATEST").idle, 1);
  EXPECT_EQ(pool.stats("a:$LATEST").reclaimed, 1);
}

}  // namespace
}  // namespace nimbus::faas
