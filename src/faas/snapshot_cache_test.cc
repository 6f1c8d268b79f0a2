#include "faas/snapshot_cache.h"

#include <gtest/gtest.h>

namespace nimbus::faas {
namespace {

class FakeSnapshot : public Snapshot {
 public:
  explicit FakeSnapshot(uint64_t mb) : bytes(mb << 20) {}
  State poll() override { return state; }
  std::string reason() const override { return "init failed: boom"; }
  uint64_t memory_bytes() const override { return bytes; }
  State state = State::kStarting;
  uint64_t bytes;
};

std::shared_ptr<FakeSnapshot> add(SnapshotCache& cache, const std::string& fn,
                                  const std::string& rev, uint64_t mb) {
  EXPECT_TRUE(cache.claim(fn, rev));
  auto s = std::make_shared<FakeSnapshot>(mb);
  cache.add(fn, rev, s);
  return s;
}

TEST(SnapshotCache, ServesOnlyAReadySnapshotOfTheCurrentRevision) {
  SnapshotCache cache(1ull << 30);
  EXPECT_TRUE(cache.claim("f:$LATEST", "r1"));
  EXPECT_FALSE(cache.claim("f:$LATEST", "r1"));  // one start per revision
  auto s = std::make_shared<FakeSnapshot>(10);
  cache.add("f:$LATEST", "r1", s);
  EXPECT_EQ(cache.ready("f:$LATEST", "r1"), nullptr);  // still initialising
  s->state = Snapshot::State::kReady;
  EXPECT_EQ(cache.ready("f:$LATEST", "r1"), s);
  EXPECT_EQ(cache.ready("f:$LATEST", "r2"), nullptr);  // code or configuration changed
  // A new revision replaces the old snapshot.
  auto s2 = add(cache, "f:$LATEST", "r2", 10);
  s2->state = Snapshot::State::kReady;
  EXPECT_EQ(cache.ready("f:$LATEST", "r1"), nullptr);
  EXPECT_EQ(cache.ready("f:$LATEST", "r2"), s2);
  EXPECT_EQ(s.use_count(), 1);  // only this test holds the old one now
}

// A prepared instance serves one launch: take() hands it out once, after which
// the function may start the next. It is ready from the start, so its memory
// counts while it waits.
TEST(SnapshotCache, APreparedInstanceIsTakenOnceAndCountsWhileItWaits) {
  SnapshotCache cache(100ull << 20);
  ASSERT_TRUE(cache.claim("f:1", "r1"));
  auto s = std::make_shared<FakeSnapshot>(30);
  s->state = Snapshot::State::kReady;
  cache.add("f:1", "r1", s);
  EXPECT_EQ(cache.memory_bytes(), 30ull << 20);
  EXPECT_FALSE(cache.claim("f:1", "r1"));       // one at a time
  EXPECT_EQ(cache.take("f:1", "r2"), nullptr);  // another revision's
  EXPECT_EQ(cache.take("f:1", "r1"), s);
  EXPECT_EQ(cache.take("f:1", "r1"), nullptr);  // used up
  EXPECT_EQ(cache.memory_bytes(), 0u);
  EXPECT_TRUE(cache.claim("f:1", "r1"));  // the next one

  // One that died while it waited is a refusal, final for its revision.
  auto dead = std::make_shared<FakeSnapshot>(30);
  cache.add("f:1", "r1", dead);
  dead->state = Snapshot::State::kRefused;
  EXPECT_EQ(cache.take("f:1", "r1"), nullptr);
  EXPECT_FALSE(cache.claim("f:1", "r1"));
}

TEST(SnapshotCache, ARefusalIsFinalForItsRevision) {
  SnapshotCache cache(1ull << 30);
  auto s = add(cache, "f:1", "r1", 10);
  s->state = Snapshot::State::kRefused;
  EXPECT_EQ(cache.ready("f:1", "r1"), nullptr);
  EXPECT_FALSE(cache.claim("f:1", "r1"));
  auto entries = cache.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].refused, "init failed: boom");
  EXPECT_TRUE(cache.claim("f:1", "r2"));  // new code gets a new chance

  cache.refuse("f:1", "r2", "could not fork");
  EXPECT_FALSE(cache.claim("f:1", "r2"));
}

TEST(SnapshotCache, StaysWithinItsBudgetDroppingTheLeastRecentlyUsed) {
  SnapshotCache cache(100ull << 20);
  auto a = add(cache, "a:1", "r", 40);
  auto b = add(cache, "b:1", "r", 40);
  a->state = b->state = Snapshot::State::kReady;
  EXPECT_EQ(cache.ready("a:1", "r"), a);
  EXPECT_EQ(cache.ready("b:1", "r"), b);
  EXPECT_EQ(cache.ready("a:1", "r"), a);  // b is now the least recently used
  auto c = add(cache, "c:1", "r", 40);
  c->state = Snapshot::State::kReady;
  EXPECT_EQ(cache.ready("c:1", "r"), c);  // 120 MB > 100 MB: b goes
  EXPECT_EQ(cache.ready("b:1", "r"), nullptr);
  EXPECT_EQ(cache.ready("a:1", "r"), a);
  EXPECT_TRUE(cache.claim("b:1", "r"));  // forgotten, not refused: b's next init starts another
}

TEST(SnapshotCache, ASnapshotLargerThanTheBudgetIsRefused) {
  SnapshotCache cache(50ull << 20);
  auto big = add(cache, "big:1", "r", 60);
  big->state = Snapshot::State::kReady;
  EXPECT_EQ(cache.ready("big:1", "r"), nullptr);
  EXPECT_FALSE(cache.claim("big:1", "r"));  // not restarted on every init
  EXPECT_NE(cache.entries()[0].refused.find("exceed the snapshot budget"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::faas
