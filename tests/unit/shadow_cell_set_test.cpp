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
  uptr count_before = CellSetCountForTesting();
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
  EXPECT_EQ(CellSetCountForTesting(), count_before + kSets);
  for (u32 handle : first) CellSetFree(handle);
  EXPECT_EQ(CellSetCountForTesting(), count_before);

  std::set<u32> freed(first.begin(), first.end());
  std::set<u32> second;
  for (unsigned i = 0; i < kSets; i++) {
    u32 handle = CellSetAllocate(4);
    EXPECT_TRUE(freed.count(handle)) << "a new set was carved while freed ones were left";
    EXPECT_TRUE(second.insert(handle).second) << "a freed set was handed out twice";
    EXPECT_EQ(CellSetFromHandle(handle)->count, 0u);
  }
  for (u32 handle : second) CellSetFree(handle);
  EXPECT_EQ(CellSetCountForTesting(), count_before);
}

Cell ReadCell(Sid sid, Epoch epoch) { return Cell::Make(sid, epoch, 1, AccessBits{1, false, false}); }

TEST(CellSetTest, SortBySlotKeepsEachSlotsOrder) {
  // As the rules leave a set: sorted, one cell appended; and fully reversed.
  std::vector<u64> cells = {ReadCell(1, 5).raw(), ReadCell(3, 7).raw(), ReadCell(3, 2).raw(),
                            ReadCell(9, 1).raw(), ReadCell(2, 4).raw()};
  SortCellsBySlot(cells.data(), 5);
  std::vector<u64> want = {ReadCell(1, 5).raw(), ReadCell(2, 4).raw(), ReadCell(3, 7).raw(),
                           ReadCell(3, 2).raw(), ReadCell(9, 1).raw()};
  EXPECT_EQ(cells, want);

  std::vector<u64> reversed;
  for (Sid s = 40; s > 0; s--) reversed.push_back(ReadCell(s, s).raw());
  SortCellsBySlot(reversed.data(), 40);
  for (u32 i = 0; i < 40; i++) EXPECT_EQ(Cell(reversed[i]).sid(), i + 1);
}

TEST(CellSetTest, PlaceLastCellMovesOnlyTheAppendedCell) {
  std::vector<u64> cells = {ReadCell(1, 5).raw(), ReadCell(3, 7).raw(), ReadCell(3, 2).raw(), ReadCell(9, 1).raw(),
                            ReadCell(3, 9).raw()};
  PlaceLastCellBySlot(cells.data(), 5);
  std::vector<u64> want = {ReadCell(1, 5).raw(), ReadCell(3, 7).raw(), ReadCell(3, 2).raw(), ReadCell(3, 9).raw(),
                           ReadCell(9, 1).raw()};
  EXPECT_EQ(cells, want) << "after the cells of its slot, before the higher ones";
  cells.push_back(ReadCell(0, 1).raw());
  PlaceLastCellBySlot(cells.data(), 6);
  EXPECT_EQ(Cell(cells[0]).sid(), 0);
  cells.push_back(ReadCell(200, 1).raw());
  PlaceLastCellBySlot(cells.data(), 7);
  EXPECT_EQ(Cell(cells[6]).sid(), 200);
  for (u32 i = 1; i < 7; i++) EXPECT_LE(Cell(cells[i - 1]).sid(), Cell(cells[i]).sid());
}

TEST(CellSetTest, FindSlotRunFromAnyHintAndWhereAMissingSlotWouldGo) {
  std::vector<u64> cells = {ReadCell(1, 5).raw(), ReadCell(3, 7).raw(), ReadCell(3, 2).raw(), ReadCell(3, 9).raw(),
                            ReadCell(9, 1).raw()};
  struct Case {
    Sid sid;
    u32 begin, end;
  };
  for (Case c : {Case{1, 0, 1}, Case{3, 1, 4}, Case{9, 4, 5}, Case{0, 0, 0}, Case{2, 1, 1}, Case{200, 5, 5}}) {
    for (u32 hint : {0u, 2u, 4u, 99u}) {
      u32 begin = 77, end = 77;
      FindSlotRun(cells.data(), 5, c.sid, hint, &begin, &end);
      EXPECT_EQ(begin, c.begin) << "slot " << int{c.sid} << " hint " << hint;
      EXPECT_EQ(end, c.end) << "slot " << int{c.sid} << " hint " << hint;
    }
  }
}

TEST(CellSetTest, ReplaceCellRunShrinksGrowsAndKeepsTheRest) {
  const std::vector<u64> start = {ReadCell(1, 5).raw(), ReadCell(3, 7).raw(), ReadCell(3, 2).raw(),
                                  ReadCell(9, 1).raw()};
  std::vector<u64> cells = start;
  cells.resize(8);
  u64 one[] = {ReadCell(3, 8).raw()};
  ReplaceCellRun(cells.data(), 4, 1, 3, one, 1);  // two cells of slot 3 become one
  EXPECT_EQ(std::vector<u64>(cells.begin(), cells.begin() + 3),
            (std::vector<u64>{ReadCell(1, 5).raw(), ReadCell(3, 8).raw(), ReadCell(9, 1).raw()}));
  u64 two[] = {ReadCell(4, 1).raw(), ReadCell(4, 2).raw()};
  ReplaceCellRun(cells.data(), 3, 2, 2, two, 2);  // inserted before slot 9
  EXPECT_EQ(std::vector<u64>(cells.begin(), cells.begin() + 5),
            (std::vector<u64>{ReadCell(1, 5).raw(), ReadCell(3, 8).raw(), ReadCell(4, 1).raw(), ReadCell(4, 2).raw(),
                              ReadCell(9, 1).raw()}));
}

TEST(CellSetTest, AnyPlainCellTellsAtomicOnlySets) {
  u64 atomic[] = {Cell::Make(1, 5, 1, AccessBits{1, false, true}).raw(),
                  Cell::Make(2, 5, 1, AccessBits{0xff, true, true}).raw()};
  EXPECT_FALSE(AnyPlainCell(atomic, 2));
  atomic[1] = ReadCell(2, 5).raw();
  EXPECT_TRUE(AnyPlainCell(atomic, 2));
  EXPECT_FALSE(AnyPlainCell(atomic, 0));
}

// Reads of any kind, atomic or plain, are not writes; one cell with a
// written byte is named, a second makes the answer unknown.
TEST(CellSetTest, LoneWriteNamesTheOnlyCellWithWrittenBytes) {
  u64 cells[] = {ReadCell(1, 5).raw(), Cell::Make(2, 5, 1, AccessBits{1, false, true}).raw(), ReadCell(3, 2).raw(),
                 ReadCell(4, 2).raw()};
  EXPECT_EQ(LoneWriteOf(cells, 4), kNoWriteCell);
  EXPECT_EQ(LoneWriteOf(cells, 0), kNoWriteCell);
  cells[2] = Cell::Make(3, 2, 1, AccessBits{0x0f, true, false}).raw();
  EXPECT_EQ(LoneWriteOf(cells, 4), 2u);
  EXPECT_EQ(LoneWriteOf(cells, 2), kNoWriteCell) << "only cells below the count";
  cells[0] = Cell::Make(1, 5, 1, AccessBits{0x80, true, true}).raw();
  EXPECT_EQ(LoneWriteOf(cells, 4), kWriteCellsUnknown);
}

// The lock-free lookup: found from any starting position, with or without
// the count its handle published, the position updated on a hit, and a cell
// that does not cover the access not taken for one that does.
TEST(CellSetTest, FindCoveringWalksToTheSlotFromAnyPosition) {
  u32 handle = CellSetAllocate(64);
  CellSet* set = CellSetFromHandle(handle);
  u32 n = 0;
  for (Sid s = 0; s < 50; s++) {
    set->cells[n++] = ReadCell(s, 10).raw();
    if (s % 7 == 0) set->cells[n++] = Cell::Make(s, 11, 1, AccessBits{2, true, false}).raw();  // a write, bytes 1
  }
  set->count = static_cast<u16>(n);
  for (Sid s = 0; s < 50; s++) {
    for (u32 start : {0u, n / 2, n - 1, 1000u}) {
      for (u32 published : {0u, n}) {
        const u64 write_key = Cell::Make(s, 11, 1, {}).key();
        u32 position = start;
        ASSERT_TRUE(CellSetFindCovering(set, published, ReadCell(s, 10).key(), {1, false, false}, &position))
            << "slot " << int{s} << " from " << start << ", published " << published;
        EXPECT_EQ(Cell(set->cells[position]).sid(), s);
        if (s % 7 == 0) {
          u32 p = start;
          EXPECT_TRUE(CellSetFindCovering(set, published, write_key, {2, false, false}, &p));
          EXPECT_FALSE(CellSetFindCovering(set, published, write_key, {1, true, false}, &p));
        }
        u32 p = start;
        EXPECT_FALSE(CellSetFindCovering(set, published, ReadCell(s, 12).key(), {1, false, false}, &p));  // epoch
        EXPECT_FALSE(CellSetFindCovering(set, published, ReadCell(s, 10).key(), {4, false, false}, &p));  // byte
      }
    }
  }
  u32 p = 3;
  EXPECT_FALSE(CellSetFindCovering(set, n, ReadCell(200, 10).key(), AccessBits{1, false, false}, &p));
  // Past the published count, only the header's count says what is there.
  set->count = 0;
  p = 0;
  EXPECT_FALSE(CellSetFindCovering(set, 0, ReadCell(0, 10).key(), AccessBits{1, false, false}, &p));
  EXPECT_TRUE(CellSetFindCovering(set, 1, ReadCell(0, 10).key(), AccessBits{1, false, false}, &p));
  CellSetFree(handle);
}

}  // namespace
}  // namespace racert
