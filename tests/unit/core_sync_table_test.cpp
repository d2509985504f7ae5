// The sync object table alone (tsan_core/sync_table.h), without the runtime:
// lookup, creation, removal by address range, the reset of every clock, and
// the lock-free reader PeekReleaseStamp, which must find what the locked
// operations stored and never report another SyncVar's stamp (or a freed
// one's) while removals unlink and free SyncVars of the buckets it walks.
// The addresses are far from CoreTest's fake heap, so the table's process-wide
// state is shared with the core tests without touching their objects.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tsan_core/sync_table.h"
#include "tsan_core/vector_clock.h"

namespace racert {
namespace {

constexpr uptr kPage = 4096;  // the table counts sync objects per page

struct Lookup {
  SyncVar* found = nullptr;
  int calls = 0;
};

SyncVar* Find(uptr addr, bool create) {
  Lookup lookup;
  WithSyncVar(
      addr, create,
      [](SyncVar* var, void* arg) {
        auto* l = static_cast<Lookup*>(arg);
        l->found = var;
        l->calls++;
      },
      &lookup);
  EXPECT_EQ(lookup.calls, 1) << "fn runs exactly once, created or not";
  return lookup.found;
}

// Releases `epoch` of slot `sid` into the object at addr, as a release does.
void Release(uptr addr, Sid sid, Epoch epoch) {
  struct Arg {
    Sid sid;
    Epoch epoch;
  } arg{sid, epoch};
  WithSyncVar(
      addr, /*create=*/true,
      [](SyncVar* var, void* a) {
        auto* r = static_cast<Arg*>(a);
        VectorClock clock;
        clock.Reset();
        clock.Set(r->sid, r->epoch);
        var->clock.CopyFrom(clock);
        var->set_stamp(ReleaseStamp{r->sid, 1, r->epoch});
      },
      &arg);
}

class SyncTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Clocks copy only the slots in use; make the ones used here count.
    saved_high_water_ = g_slot_high_water.load();
    if (saved_high_water_ < 16) g_slot_high_water.store(16);
  }
  void TearDown() override {
    RemoveSyncVars(base_, base_ + 16 * kPage);
    g_slot_high_water.store(saved_high_water_);
  }

  // Each test its own pages, in the application's low range (where the table
  // counts objects per page) and outside Go's heap window.
  const uptr base_ = uptr{0x200000000} + 16 * kPage * next_test_++;
  u32 saved_high_water_ = 0;

 private:
  static inline uptr next_test_ = 0;
};

TEST_F(SyncTableTest, LookupWithoutCreateFindsNothingAndAddsNothing) {
  uptr before = SyncVarCountForTesting();
  EXPECT_EQ(Find(base_, /*create=*/false), nullptr);
  EXPECT_EQ(SyncVarCountForTesting(), before);
}

TEST_F(SyncTableTest, CreatedOnceThenFoundWithWhatWasReleasedIntoIt) {
  uptr before = SyncVarCountForTesting();
  SyncVar* var = Find(base_ + 8, /*create=*/true);
  ASSERT_NE(var, nullptr);
  EXPECT_EQ(var->addr, base_ + 8);
  EXPECT_EQ(var->clock.Get(5), 0u) << "a new object's clock is zero";
  EXPECT_FALSE(var->stamp().names_a_release());
  EXPECT_EQ(SyncVarCountForTesting(), before + 1);

  Release(base_ + 8, 5, 42);
  EXPECT_EQ(Find(base_ + 8, /*create=*/true), var) << "no second object for the same address";
  EXPECT_EQ(Find(base_ + 8, /*create=*/false), var);
  EXPECT_EQ(var->clock.Get(5), 42u);
  EXPECT_TRUE(var->stamp().names_a_release());
  EXPECT_EQ(SyncVarCountForTesting(), before + 1);
  EXPECT_EQ(Find(base_, /*create=*/false), nullptr) << "the neighbouring word has none";
}

TEST_F(SyncTableTest, RemoveDropsExactlyTheObjectsInTheRange) {
  const uptr kept_before = base_;
  const uptr first = base_ + 8;
  const uptr page_end = base_ + kPage - 8;
  const uptr next_page = base_ + kPage;
  const uptr kept_after = base_ + kPage + 8;
  const uptr far_page = base_ + 3 * kPage;
  for (uptr addr : {kept_before, first, page_end, next_page, kept_after, far_page}) Release(addr, 1, 7);
  uptr before = SyncVarCountForTesting();

  RemoveSyncVars(first, kept_after);  // [first, kept_after): over a page boundary
  EXPECT_EQ(SyncVarCountForTesting(), before - 3);
  EXPECT_NE(Find(kept_before, false), nullptr);
  EXPECT_EQ(Find(first, false), nullptr);
  EXPECT_EQ(Find(page_end, false), nullptr);
  EXPECT_EQ(Find(next_page, false), nullptr);
  EXPECT_NE(Find(kept_after, false), nullptr);
  EXPECT_NE(Find(far_page, false), nullptr);

  RemoveSyncVars(base_ + 2 * kPage, base_ + 3 * kPage);  // a page without objects
  EXPECT_EQ(SyncVarCountForTesting(), before - 3);

  // A new object at a removed address inherits nothing (freed memory reused).
  SyncVar* reused = Find(first, /*create=*/true);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->clock.Get(1), 0u);
  EXPECT_FALSE(reused->stamp().names_a_release());
}

TEST_F(SyncTableTest, ResettingAllClocksKeepsTheObjectsAndForgetsTheirReleases) {
  Release(base_, 2, 9);
  Release(base_ + kPage, 3, 11);
  uptr before = SyncVarCountForTesting();
  ResetAllSyncClocks();
  EXPECT_EQ(SyncVarCountForTesting(), before);
  for (uptr addr : {base_, base_ + kPage}) {
    SyncVar* var = Find(addr, /*create=*/false);
    ASSERT_NE(var, nullptr);
    EXPECT_EQ(var->clock.Get(2), 0u);
    EXPECT_EQ(var->clock.Get(3), 0u);
    EXPECT_FALSE(var->stamp().names_a_release());
  }
}

void StoreStamp(SyncVar* var, void* arg) { var->set_stamp(*static_cast<ReleaseStamp*>(arg)); }

void Stamp(uptr addr, ReleaseStamp stamp) { WithSyncVar(addr, /*create=*/true, StoreStamp, &stamp); }

// Distinct stamps per address, so a stamp read from the wrong SyncVar shows.
ReleaseStamp StampFor(u32 i) { return ReleaseStamp{static_cast<Sid>(i), 1, i + 1}; }

bool SameStamp(ReleaseStamp a, ReleaseStamp b) { return a.Pack() == b.Pack(); }

TEST_F(SyncTableTest, PeekFindsNothingWhereNothingWasReleased) {
  ReleaseStamp stamp;
  EXPECT_EQ(PeekReleaseStamp(base_, &stamp), StampPeek::kNone);
}

TEST_F(SyncTableTest, PeekFindsTheStampStoredUnderTheLock) {
  Stamp(base_, StampFor(7));
  ReleaseStamp stamp;
  ASSERT_EQ(PeekReleaseStamp(base_, &stamp), StampPeek::kFound);
  EXPECT_TRUE(SameStamp(stamp, StampFor(7)));
  Stamp(base_, ReleaseStamp{});
  ASSERT_EQ(PeekReleaseStamp(base_, &stamp), StampPeek::kFound);
  EXPECT_FALSE(stamp.names_a_release());
  RemoveSyncVars(base_, base_ + 8);
  EXPECT_EQ(PeekReleaseStamp(base_, &stamp), StampPeek::kNone);
}

TEST(ReleaseStampTest, PackedStampKeepsEveryField) {
  ReleaseStamp stamp{0xab, 0x3f, 0xfffffff0u};
  ReleaseStamp back = ReleaseStamp::Unpack(stamp.Pack());
  EXPECT_EQ(back.sid, 0xab);
  EXPECT_EQ(back.generation, 0x3f);
  EXPECT_EQ(back.epoch, 0xfffffff0u);
}

// Enough addresses on each side that many share a bucket with one of the
// other side (the table has about a million buckets).
TEST_F(SyncTableTest, ConcurrentRemovalsNeverShowAnotherSyncVarsStamp) {
  constexpr u32 kAddresses = 4096;
  const uptr kept = base_;
  const uptr churned = base_ + 8 * kAddresses;
  for (u32 i = 0; i < kAddresses; i++) Stamp(kept + 8 * i, StampFor(i));
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      for (u32 i = 0; i < kAddresses; i++) Stamp(churned + 8 * i, StampFor(kAddresses + i));
      RemoveSyncVars(churned, churned + 8 * kAddresses);
    }
  });
  u64 wrong = 0, found = 0;
  for (int round = 0; round < 400; round++) {
    for (u32 i = 0; i < kAddresses; i++) {
      ReleaseStamp stamp;
      StampPeek kept_peek = PeekReleaseStamp(kept + 8 * i, &stamp);
      if (kept_peek == StampPeek::kNone || (kept_peek == StampPeek::kFound && !SameStamp(stamp, StampFor(i)))) {
        wrong++;
      }
      if (kept_peek == StampPeek::kFound) found++;
      StampPeek churned_peek = PeekReleaseStamp(churned + 8 * i, &stamp);
      // Created but not yet stamped (the stamp is stored after the creation
      // under the same lock hold) reads as no single release.
      if (churned_peek == StampPeek::kFound && stamp.names_a_release() &&
          !SameStamp(stamp, StampFor(kAddresses + i))) {
        wrong++;
      }
    }
  }
  stop.store(true);
  churn.join();
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(found, 0u);
}

// The same in one bucket: the reader walks past SyncVars that the other
// thread unlinks, frees and allocates again all the time, to reach the one
// it looks for at the chain's end.
TEST_F(SyncTableTest, ReaderPassingRemovedSyncVarsOfItsBucketStillFindsItsOwn) {
  const uptr kept = base_;
  uptr bucket = SyncBucketIndexForTesting(kept);
  constexpr u32 kWanted = 4;
  std::vector<uptr> churned;
  // Other addresses of the kept one's bucket, in a range of their own.
  const uptr range = uptr{0x300000000};
  const uptr range_end = range + (uptr{64} << 20);
  for (uptr addr = range; addr < range_end && churned.size() < kWanted; addr += 8) {
    if (SyncBucketIndexForTesting(addr) == bucket) churned.push_back(addr);
  }
  ASSERT_GE(churned.size(), 2u) << "precondition: other addresses of the kept one's bucket";
  const uptr elsewhere = base_ + 8;
  ASSERT_NE(SyncBucketIndexForTesting(elsewhere), bucket);
  Stamp(kept, StampFor(1));
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (u32 round = 0; !stop.load(std::memory_order_relaxed); round++) {
      for (uptr addr : churned) Stamp(addr, StampFor(2));
      // Removed in a changing order, each freed block at once allocated
      // again (the allocator's free list is last in, first out) for an
      // address of another bucket: a reader still at the removed SyncVar
      // then reads another chain's link.
      for (u32 i = 0; i < churned.size(); i++) {
        uptr addr = churned[(i + round) % churned.size()];
        RemoveSyncVars(addr, addr + 8);
        Stamp(elsewhere, StampFor(3));
        RemoveSyncVars(elsewhere, elsewhere + 8);
      }
    }
  });
  u64 wrong = 0, found = 0;
  for (int i = 0; i < 5000000; i++) {
    ReleaseStamp stamp;
    StampPeek peek = PeekReleaseStamp(kept, &stamp);
    if (peek == StampPeek::kNone || (peek == StampPeek::kFound && !SameStamp(stamp, StampFor(1)))) wrong++;
    if (peek == StampPeek::kFound) found++;
  }
  stop.store(true);
  churn.join();
  for (uptr addr : churned) RemoveSyncVars(addr, addr + 8);
  EXPECT_EQ(wrong, 0u);
  EXPECT_GT(found, 0u);
}

}  // namespace
}  // namespace racert
