// Vector clock joins against a scalar reference, on whichever kernel this
// processor selects (AVX2 or the x86-64 baseline), over every active width.
#include <gtest/gtest.h>

#include <random>

#include "base/cpu_features.h"
#include "tsan_core/vector_clock.h"

namespace racert {
namespace {

struct Clocks {
  VectorClock a;
  VectorClock b;
  Epoch ref_a[kSlotCount];
  Epoch ref_b[kSlotCount];
};

void Fill(Clocks* c, std::mt19937* rng) {
  c->a.Reset();
  c->b.Reset();
  for (unsigned i = 0; i < kSlotCount; i++) {
    // Values above 2^31 catch a signed comparison in a kernel.
    Epoch x = (*rng)() | ((*rng)() & 1 ? 0x80000000u : 0);
    Epoch y = (*rng)() | ((*rng)() & 1 ? 0x80000000u : 0);
    c->a.Set(static_cast<Sid>(i), x);
    c->b.Set(static_cast<Sid>(i), y);
    c->ref_a[i] = x;
    c->ref_b[i] = y;
  }
}

unsigned ActiveWidth() { return (g_slot_high_water.load() + 7) & ~7u; }

TEST(VectorClockTest, JoinAndSwapJoinMatchTheScalarDefinition) {
  std::mt19937 rng(7);
  u32 saved_high_water = g_slot_high_water.load();
  for (u32 high_water : {1u, 8u, 9u, 100u, 255u, 256u}) {
    g_slot_high_water.store(high_water > saved_high_water ? high_water : saved_high_water);
    unsigned n = ActiveWidth();
    Clocks c;
    Fill(&c, &rng);
    c.a.Join(c.b);
    for (unsigned i = 0; i < kSlotCount; i++) {
      Epoch want = i < n ? (c.ref_a[i] > c.ref_b[i] ? c.ref_a[i] : c.ref_b[i]) : c.ref_a[i];
      ASSERT_EQ(c.a.Get(static_cast<Sid>(i)), want) << "Join, slot " << i << ", width " << n;
    }
    Fill(&c, &rng);
    c.a.SwapJoin(&c.b);
    for (unsigned i = 0; i < kSlotCount; i++) {
      Epoch want_a = i < n ? c.ref_b[i] : c.ref_a[i];
      Epoch want_b = i < n ? (c.ref_a[i] > c.ref_b[i] ? c.ref_a[i] : c.ref_b[i]) : c.ref_b[i];
      ASSERT_EQ(c.a.Get(static_cast<Sid>(i)), want_a) << "SwapJoin mine, slot " << i;
      ASSERT_EQ(c.b.Get(static_cast<Sid>(i)), want_b) << "SwapJoin other, slot " << i;
    }
  }
  g_slot_high_water.store(saved_high_water);
  RecordProperty("avx2", CpuHasAvx2() ? "yes" : "no");
}

// A goroutine clock with random entries below the active width (the
// invariant: every clock is zero from there on).
void FillActive(VectorClock* clock, Epoch* ref, unsigned n, std::mt19937* rng) {
  clock->Reset();
  for (unsigned i = 0; i < kSlotCount; i++) {
    ref[i] = i < n ? ((*rng)() | 1) : 0;
    clock->Set(static_cast<Sid>(i), ref[i]);
  }
}

// Sync clocks hold only the entries that were active when they were
// released to, and grow with the high-water mark keeping what they held.
TEST(SyncClockTest, OperationsMatchTheFullClockDefinitionAsSlotsGrow) {
  std::mt19937 rng(11);
  u32 saved_high_water = g_slot_high_water.load();
  SyncClock sync;
  Epoch ref_sync[kSlotCount] = {};
  for (u32 high_water : {8u, 9u, 40u, 100u, 256u}) {
    if (high_water < saved_high_water) continue;
    g_slot_high_water.store(high_water);
    unsigned n = ActiveWidth();
    VectorClock g;
    Epoch ref_g[kSlotCount];

    // Join: sync = max(sync, g); capacity follows the active width.
    FillActive(&g, ref_g, n, &rng);
    sync.Join(g);
    EXPECT_EQ(sync.capacity(), n);
    for (unsigned i = 0; i < kSlotCount; i++) {
      ref_sync[i] = ref_sync[i] > ref_g[i] ? ref_sync[i] : ref_g[i];
      ASSERT_EQ(sync.Get(static_cast<Sid>(i)), ref_sync[i]) << "Join, slot " << i << ", width " << n;
    }
    // JoinInto: g = max(g, sync).
    FillActive(&g, ref_g, n, &rng);
    sync.JoinInto(&g);
    for (unsigned i = 0; i < kSlotCount; i++) {
      Epoch want = ref_g[i] > ref_sync[i] ? ref_g[i] : ref_sync[i];
      ASSERT_EQ(g.Get(static_cast<Sid>(i)), want) << "JoinInto, slot " << i;
    }
    // SwapJoin: sync = g, g = max(g, old sync).
    FillActive(&g, ref_g, n, &rng);
    sync.SwapJoin(&g);
    for (unsigned i = 0; i < kSlotCount; i++) {
      Epoch want_g = ref_g[i] > ref_sync[i] ? ref_g[i] : ref_sync[i];
      ASSERT_EQ(sync.Get(static_cast<Sid>(i)), ref_g[i]) << "SwapJoin sync, slot " << i;
      ASSERT_EQ(g.Get(static_cast<Sid>(i)), want_g) << "SwapJoin g, slot " << i;
      ref_sync[i] = ref_g[i];
    }
    // JoinBoth: sync = g = max(sync, g).
    FillActive(&g, ref_g, n, &rng);
    sync.JoinBoth(&g);
    for (unsigned i = 0; i < kSlotCount; i++) {
      Epoch want = ref_g[i] > ref_sync[i] ? ref_g[i] : ref_sync[i];
      ASSERT_EQ(sync.Get(static_cast<Sid>(i)), want) << "JoinBoth sync, slot " << i;
      ASSERT_EQ(g.Get(static_cast<Sid>(i)), want) << "JoinBoth g, slot " << i;
      ref_sync[i] = want;
    }
    // CopyFrom: sync = g.
    FillActive(&g, ref_g, n, &rng);
    sync.CopyFrom(g);
    for (unsigned i = 0; i < kSlotCount; i++) {
      ASSERT_EQ(sync.Get(static_cast<Sid>(i)), ref_g[i]) << "CopyFrom, slot " << i;
      ref_sync[i] = ref_g[i];
    }
  }
  sync.Reset();
  for (unsigned i = 0; i < kSlotCount; i++) ASSERT_EQ(sync.Get(static_cast<Sid>(i)), 0u);
  g_slot_high_water.store(saved_high_water);
}

}  // namespace
}  // namespace racert
