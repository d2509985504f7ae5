// Big allocations and frees clear shadow only where the kernel says shadow
// pages were ever written (tsan_core/runtime.cpp, ForEachWrittenShadowRun):
// what was written anywhere in the range is forgotten, cell sets are freed,
// and nothing outside the range is touched.
#include "tests/unit/core_test_support.h"

#include "shadow/cell_set.h"

namespace racert::core_test {
namespace {

class CoreLargeResetTest : public CoreTest {};

// Past the page-map threshold by 3 MiB and 24 bytes, with shadow ends that
// are not page-aligned.
constexpr uptr kBigSize = kPageMapResetBytes + (uptr{3} << 20) + 24;

// Offsets written before the reset: both ends, words on either side of a
// shadow page boundary (512 words per page), and one in the middle.
constexpr uptr kOffsets[] = {0, 8, 4096 * 8 - 8, 4096 * 8, kBigSize / 2 + 16, kBigSize - 8};

TEST_F(CoreLargeResetTest, BigMallocForgetsEveryEarlierWrite) {
  uptr before = Alloc(8);
  uptr obj = Alloc(kBigSize, 8);
  uptr after = Alloc(8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  for (uptr offset : kOffsets) Write(a, obj + offset);
  Write(a, before);
  Write(a, after);
  OnMalloc(obj, kBigSize);
  for (uptr offset : kOffsets) Write(b, obj + offset);
  EXPECT_EQ(TakeRaces(), 0u);
  // The neighbours keep their history.
  Write(b, before);
  Write(b, after);
  EXPECT_EQ(TakeRaces(), 2u);
}

TEST_F(CoreLargeResetTest, BigFreeForgetsEveryEarlierWrite) {
  uptr obj = Alloc(kBigSize, 8);
  GoroutineState* a = Go(Root());
  GoroutineState* b = Go(Root());
  for (uptr offset : kOffsets) Write(a, obj + offset);
  OnFree(obj, kBigSize);
  for (uptr offset : kOffsets) Write(b, obj + offset);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreLargeResetTest, BigFreeReturnsCellSets) {
  uptr obj = Alloc(kBigSize, 8);
  uptr word = obj + (uptr{2} << 20);
  std::vector<GoroutineState*> readers;
  for (int i = 0; i < 40; i++) readers.push_back(Go(Root()));
  uptr sets_before = CellSetBytesInUseForTesting();
  for (GoroutineState* r : readers) Read(r, word);
  ASSERT_GT(CellSetBytesInUseForTesting(), sets_before) << "40 concurrent readers of one word need a cell set";
  OnFree(obj, kBigSize);
  EXPECT_EQ(CellSetBytesInUseForTesting(), sets_before);
  GoroutineState* writer = Go(Root());
  Write(writer, word);
  EXPECT_EQ(TakeRaces(), 0u);
}

TEST_F(CoreLargeResetTest, FreshBigRangeHasNothingToClear) {
  uptr obj = Alloc(kBigSize, 8);
  GoroutineState* a = Go(Root());
  OnMalloc(obj, kBigSize);
  Write(a, obj + kBigSize / 2);
  OnFree(obj, kBigSize);
  EXPECT_EQ(TakeRaces(), 0u);
}

}  // namespace
}  // namespace racert::core_test
