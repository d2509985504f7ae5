// The reduced reservations racert switches to under an address-space limit
// (CheckAddressSpaceLimit in tsan_core/runtime.cpp). Each switch must happen
// before the table or arena is first used, so every test runs in a fresh
// process (a "threadsafe" death test re-executes the binary for the statement)
// and ends it with exit status 0 when every check held.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "base/memory_map.h"
#include "shadow/cell_set.h"
#include "shadow/shadow_map.h"
#include "tests/unit/core_test_support.h"
#include "tsan_core/sync_table.h"

namespace racert {
namespace {

void Nothing(SyncVar*, void*) {}

[[noreturn]] void CheckOrFail(bool ok, int code) { _exit(ok ? 0 : code); }

TEST(AddressSpaceLimitDeathTest, SyncObjectsOutsideTheCountedHeapWindowAreStillRemoved) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    // A heap window as the client names it (the child runs no Runtime()).
    if (!CurrentHeapLayout().has_window()) SetHeapLayout(core_test::kTestHeapLayout);
    SyncCountOnlyHeapWindow();
    if (SyncTableReservation() >= (uptr{1} << 30)) _exit(2);
    const uptr in_heap = CurrentHeapLayout().window_begin + 0x1000;
    const uptr outside = 0x600000;  // non-PIE data: not counted, so always looked up
    WithSyncVar(in_heap, true, Nothing, nullptr);
    WithSyncVar(outside, true, Nothing, nullptr);
    if (SyncVarCountForTesting() != 2) _exit(3);
    RemoveSyncVars(in_heap, in_heap + 8);
    RemoveSyncVars(outside - 64, outside + 64);
    CheckOrFail(SyncVarCountForTesting() == 0, 4);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

TEST(AddressSpaceLimitDeathTest, SmallCellSetArenaEndsWithAMessageNamingTheLimit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    SetCellSetArenaSize(uptr{16} << 20);
    if (CellSetArenaReservation() != (uptr{16} << 20)) _exit(2);
    for (;;) CellSetAllocate(kCellSetMaxCapacity);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(66),
              "racert: FATAL: shadow cell-set arena exhausted: 16 MiB of sets hold words that need three or more "
              "cells, the most the address-space limit \\(ulimit -v\\) leaves for them; raise the limit");
}

TEST(AddressSpaceLimitDeathTest, CellSetArenaGrowsAsSetsAreCarved) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    SetCellSetArenaSize(uptr{1} << 30);
    uptr before = AddressSpaceInUse();
    CellSetAllocate(4);
    // One 16 MiB step, not the 1 GiB the arena may grow to.
    if (AddressSpaceInUse() - before > (uptr{32} << 20)) _exit(2);
    // About 40 MiB of the largest sets (64 KiB each), each written at both ends.
    for (int i = 0; i < 640; i++) {
      CellSet* set = CellSetFromHandle(CellSetAllocate(kCellSetMaxCapacity));
      set->cells[0] = 1;
      set->cells[kCellSetMaxCapacity - 1] = 2;
    }
    uptr grown = AddressSpaceInUse() - before;
    CheckOrFail(grown >= (uptr{40} << 20) && grown <= (uptr{80} << 20), 3);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace racert
