// Cell-set allocation and recycling, directly on shadow/cell_set (no runtime).
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "shadow/cell_set.h"

namespace racert {
namespace {

// More sets than the free list keeps as an array, so that freeing them all
// also goes through the linked overflow, and allocating again drains both.
TEST(CellSetTest, FreedSetsAreReusedOnceEachThroughBothFreeListParts) {
  constexpr unsigned kSets = 70000;
  uptr count_before = CellSetCount();
  std::vector<u32> first;
  for (unsigned i = 0; i < kSets; i++) {
    u32 handle = CellSetAllocate(4);
    ASSERT_NE(handle, 0u);
    CellSet* set = CellSetFromHandle(handle);
    EXPECT_EQ(set->count, 0u);
    EXPECT_GE(set->capacity(), 4u);
    set->cells[0] = i + 1;  // scribble: a reused set must come back empty
    set->count = 1;
    first.push_back(handle);
  }
  EXPECT_EQ(std::set<u32>(first.begin(), first.end()).size(), kSets) << "a live set was handed out twice";
  EXPECT_EQ(CellSetCount(), count_before + kSets);
  for (u32 handle : first) CellSetFree(handle);
  EXPECT_EQ(CellSetCount(), count_before);

  std::set<u32> freed(first.begin(), first.end());
  std::set<u32> second;
  for (unsigned i = 0; i < kSets; i++) {
    u32 handle = CellSetAllocate(4);
    EXPECT_TRUE(freed.count(handle)) << "a new set was carved while freed ones were left";
    EXPECT_TRUE(second.insert(handle).second) << "a freed set was handed out twice";
    EXPECT_EQ(CellSetFromHandle(handle)->count, 0u);
  }
  for (u32 handle : second) CellSetFree(handle);
  EXPECT_EQ(CellSetCount(), count_before);
}

}  // namespace
}  // namespace racert
