// The sync object table alone (tsan_core/sync_table.h), without the runtime:
// lookup, creation, removal by address range and the reset of every clock.
// The addresses are far from CoreTest's fake heap, so the table's process-wide
// state is shared with the core tests without touching their objects.
#include <gtest/gtest.h>

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
        var->stamp = ReleaseStamp{r->sid, r->epoch};
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
  uptr before = SyncVarCount();
  EXPECT_EQ(Find(base_, /*create=*/false), nullptr);
  EXPECT_EQ(SyncVarCount(), before);
}

TEST_F(SyncTableTest, CreatedOnceThenFoundWithWhatWasReleasedIntoIt) {
  uptr before = SyncVarCount();
  SyncVar* var = Find(base_ + 8, /*create=*/true);
  ASSERT_NE(var, nullptr);
  EXPECT_EQ(var->addr, base_ + 8);
  EXPECT_EQ(var->clock.Get(5), 0u) << "a new object's clock is zero";
  EXPECT_FALSE(var->stamp.names_a_release());
  EXPECT_EQ(SyncVarCount(), before + 1);

  Release(base_ + 8, 5, 42);
  EXPECT_EQ(Find(base_ + 8, /*create=*/true), var) << "no second object for the same address";
  EXPECT_EQ(Find(base_ + 8, /*create=*/false), var);
  EXPECT_EQ(var->clock.Get(5), 42u);
  EXPECT_TRUE(var->stamp.names_a_release());
  EXPECT_EQ(SyncVarCount(), before + 1);
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
  uptr before = SyncVarCount();

  RemoveSyncVars(first, kept_after);  // [first, kept_after): over a page boundary
  EXPECT_EQ(SyncVarCount(), before - 3);
  EXPECT_NE(Find(kept_before, false), nullptr);
  EXPECT_EQ(Find(first, false), nullptr);
  EXPECT_EQ(Find(page_end, false), nullptr);
  EXPECT_EQ(Find(next_page, false), nullptr);
  EXPECT_NE(Find(kept_after, false), nullptr);
  EXPECT_NE(Find(far_page, false), nullptr);

  RemoveSyncVars(base_ + 2 * kPage, base_ + 3 * kPage);  // a page without objects
  EXPECT_EQ(SyncVarCount(), before - 3);

  // A new object at a removed address inherits nothing (freed memory reused).
  SyncVar* reused = Find(first, /*create=*/true);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->clock.Get(1), 0u);
  EXPECT_FALSE(reused->stamp.names_a_release());
}

TEST_F(SyncTableTest, ResettingAllClocksKeepsTheObjectsAndForgetsTheirReleases) {
  Release(base_, 2, 9);
  Release(base_ + kPage, 3, 11);
  uptr before = SyncVarCount();
  ResetAllSyncClocks();
  EXPECT_EQ(SyncVarCount(), before);
  for (uptr addr : {base_, base_ + kPage}) {
    SyncVar* var = Find(addr, /*create=*/false);
    ASSERT_NE(var, nullptr);
    EXPECT_EQ(var->clock.Get(2), 0u);
    EXPECT_EQ(var->clock.Get(3), 0u);
    EXPECT_FALSE(var->stamp.names_a_release());
  }
}

}  // namespace
}  // namespace racert
