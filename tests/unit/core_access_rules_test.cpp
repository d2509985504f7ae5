// The per-word rules as pure functions (tsan_core/access_rules.h), with no
// runtime: a clock and cells made up by each case.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tsan_core/access_rules.h"

namespace racert {
namespace {

constexpr Generation kGen = 1;

struct Rules {
  Epoch clock[kSlotCount] = {};

  // An access by a goroutine that owns slot `sid` from `first` to `epoch`.
  AccessState Access(Sid sid, Epoch epoch, AccessBits bits, Epoch first = 1, Epoch inherited = 0) {
    clock[sid] = epoch;
    return AccessState{CellKey(sid, epoch, kGen, bits.is_atomic), sid,      kGen,      clock, bits, true, first,
                       epoch,                                      inherited, true};
  }

  // Applies the access to `cells`; returns the cells after it and the finding.
  std::vector<u64> Apply(std::vector<u64> cells, const AccessState& a, RaceFinding* finding) {
    cells.resize(cells.size() + 1);
    u32 count = static_cast<u32>(cells.size() - 1);
    u32 mine = ApplyAccess(cells.data(), &count, a, finding);
    cells.resize(count);
    EXPECT_LT(mine, count);
    EXPECT_EQ(Cell(cells[mine]).key(), a.key) << "the returned index names the accessor's cell";
    return cells;
  }
};

u64 CellOf(Sid sid, Epoch epoch, u8 writes, u8 reads, bool atomic = false) {
  return Cell(CellKey(sid, epoch, kGen, atomic)).WithMasks(writes, reads).raw();
}

TEST(AccessRulesTest, OrderedWriteReplacesWhatItCovers) {
  Rules r;
  r.clock[2] = 50;  // slot 2 up to epoch 50 happens before the accessor
  RaceFinding finding{};
  auto cells = r.Apply({CellOf(2, 40, 0x01, 0x02)}, r.Access(1, 7, {0x03, true, false}), &finding);
  EXPECT_FALSE(finding.found());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0], CellOf(1, 7, 0x03, 0));
}

TEST(AccessRulesTest, OrderedReadKeepsTheWriteAndReplacesTheRead) {
  Rules r;
  r.clock[2] = 50;
  RaceFinding finding{};
  auto cells = r.Apply({CellOf(2, 40, 0x01, 0), CellOf(2, 41, 0, 0x01)}, r.Access(1, 7, {0x01, false, false}),
                       &finding);
  EXPECT_FALSE(finding.found());
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0], CellOf(2, 40, 0x01, 0)) << "a read never subsumes a write";
  EXPECT_EQ(cells[1], CellOf(1, 7, 0, 0x01));
}

TEST(AccessRulesTest, UnorderedConflictsAreFoundFirstDroppedOthersKept) {
  Rules r;
  r.clock[2] = 39;  // slot 2's epoch 40 is not known: concurrent
  r.clock[3] = 9;   // nor slot 3's epoch 10
  RaceFinding finding{};
  auto cells = r.Apply({CellOf(2, 40, 0, 0x01), CellOf(3, 10, 0, 0x01)}, r.Access(1, 7, {0x01, true, false}),
                       &finding);
  ASSERT_EQ(finding.count, 2u);
  EXPECT_EQ(finding.racing[0].cell.raw(), CellOf(2, 40, 0, 0x01));
  EXPECT_EQ(finding.racing[1].cell.raw(), CellOf(3, 10, 0, 0x01));
  EXPECT_FALSE(finding.racing[0].previous_is_write);
  EXPECT_EQ(finding.racing[0].conflict_mask, 0x01);
  ASSERT_EQ(cells.size(), 2u) << "the first is dropped (reported), the second stays";
  EXPECT_EQ(cells[0], CellOf(3, 10, 0, 0x01));
  EXPECT_EQ(cells[1], CellOf(1, 7, 0x01, 0));
}

TEST(AccessRulesTest, UnorderedWithoutConflictIsKeptSilently) {
  Rules r;
  RaceFinding finding{};
  // Other bytes; and a read next to a read.
  auto cells = r.Apply({CellOf(2, 40, 0x02, 0), CellOf(3, 10, 0, 0x01)}, r.Access(1, 7, {0x01, false, false}),
                       &finding);
  EXPECT_FALSE(finding.found());
  EXPECT_EQ(cells.size(), 3u);
}

TEST(AccessRulesTest, AtomicAccessesNeitherRaceEachOtherNorSubsumePlainOnes) {
  Rules r;
  r.clock[2] = 50;
  RaceFinding finding{};
  // An ordered plain write stays under an atomic write of the same bytes (a
  // later plain access must still be checked against it), and a concurrent
  // atomic write does not race.
  auto cells = r.Apply({CellOf(2, 40, 0xff, 0), CellOf(3, 10, 0xff, 0, true)}, r.Access(1, 7, {0xff, true, true}),
                       &finding);
  EXPECT_FALSE(finding.found());
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[0], CellOf(2, 40, 0xff, 0));
}

TEST(AccessRulesTest, AtomicVersusPlainRacesOnlyWhenReported) {
  for (bool report : {true, false}) {
    Rules r;
    AccessState a = r.Access(1, 7, {0x0f, true, true});
    a.report_atomic_races = report;
    RaceFinding finding{};
    r.Apply({CellOf(3, 10, 0x01, 0)}, a, &finding);
    EXPECT_EQ(finding.found(), report);
  }
}

TEST(AccessRulesTest, OwnSlotCellsAreOrderedByOwnershipRanges) {
  Rules r;
  // The accessor owns slot 5 from epoch 20 (now 25) and knew the slot's
  // earlier owners up to epoch 12.
  AccessState a = r.Access(5, 25, {0x01, true, false}, /*first=*/20, /*inherited=*/12);
  EXPECT_TRUE(OrderedBefore(Cell(CellOf(5, 22, 1, 0)), a)) << "its own earlier epoch";
  EXPECT_TRUE(OrderedBefore(Cell(CellOf(5, 12, 1, 0)), a)) << "an earlier owner it synchronized with";
  EXPECT_FALSE(OrderedBefore(Cell(CellOf(5, 15, 1, 0)), a)) << "an earlier owner it never heard of";
  EXPECT_FALSE(OrderedBefore(Cell(CellOf(5, 30, 1, 0)), a)) << "a later owner (the slot was taken)";
}

TEST(AccessRulesTest, CellsOfAnotherGenerationAreDead) {
  Rules r;
  RaceFinding finding{};
  u64 stale = Cell(CellKey(2, 40, kGen + 1, false)).WithMasks(0xff, 0).raw();
  auto cells = r.Apply({stale}, r.Access(1, 7, {0x01, true, false}), &finding);
  EXPECT_FALSE(finding.found());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0], CellOf(1, 7, 0x01, 0));
}

TEST(AccessRulesTest, FoldKeepsOneReadCellPerSlotAndLeavesDistinctSlotsAlone) {
  // Reads of slots 1..5, writes of slots 1 and 2: nothing to fold.
  std::vector<u64> distinct = {CellOf(1, 10, 0, 1), CellOf(2, 11, 0, 1), CellOf(3, 12, 0, 1), CellOf(4, 13, 0, 1),
                               CellOf(5, 14, 0, 1), CellOf(1, 15, 1, 0), CellOf(2, 16, 1, 0)};
  std::vector<u64> before = distinct;
  u32 count = static_cast<u32>(distinct.size());
  EXPECT_EQ(FoldSameSlotReads(distinct.data(), &count, 3), 3u);
  EXPECT_EQ(count, before.size());
  EXPECT_EQ(distinct, before);

  // Slot 7 read three times with the same bytes (folded into the newest
  // epoch, at the first one's place), once with other bytes (kept); an atomic
  // read of slot 7 is another kind (kept).
  std::vector<u64> cells = {CellOf(7, 20, 0, 1), CellOf(8, 21, 0, 1), CellOf(7, 25, 0, 1),
                            CellOf(7, 22, 0, 2), CellOf(7, 23, 0, 1), CellOf(7, 24, 0, 1, true)};
  count = static_cast<u32>(cells.size());
  u32 mine = FoldSameSlotReads(cells.data(), &count, 4);
  ASSERT_EQ(count, 4u);
  cells.resize(count);
  EXPECT_EQ(cells, (std::vector<u64>{CellOf(7, 25, 0, 1), CellOf(8, 21, 0, 1), CellOf(7, 22, 0, 2),
                                     CellOf(7, 24, 0, 1, true)}));
  EXPECT_EQ(mine, 0u) << "the accessor's folded cell is now the representative";
}

}  // namespace
}  // namespace racert

namespace racert {
namespace {

// A deterministic xorshift generator: next(bound) is in [0, bound).
struct RandomBelow {
  u64 state;
  u32 operator()(u32 bound) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<u32>(state % bound);
  }
};

// RewriteOrderedCell against the rule spelled out byte by byte: a write
// subsumes earlier reads and writes of its bytes, a read earlier reads, an
// atomic access never a plain cell; the accessor's own cell then takes the
// access in (MergeIntoOwnCell); nothing left is 0. Random cells and accesses,
// with and without the paired bit on the cell (which the result never has).
TEST(AccessRulesTest, TheOrderedCellRewriteFollowsTheByteRule) {
  RandomBelow next{0x2545f4914f6cdd1dull};
  Epoch clock[kSlotCount] = {};
  for (int round = 0; round < 100000; round++) {
    const AccessBits bits{static_cast<u8>(next(255) + 1), next(2) == 0, next(3) == 0};
    const Sid sid = static_cast<Sid>(next(3));
    const Epoch epoch = 5 + next(3);
    const AccessState a{CellKey(sid, epoch, kGen, bits.is_atomic), sid, kGen, clock, bits, true, 1, epoch, 0, true};
    const u8 writes = static_cast<u8>(next(256));
    const u8 reads = static_cast<u8>(next(256) & ~writes);
    if ((writes | reads) == 0) continue;  // not a cell
    const u64 key = CellKey(static_cast<Sid>(next(3)), 5 + next(3), kGen, next(3) == 0);
    const Cell c = Cell(key).WithMasks(writes, reads).WithPaired(next(2) == 0);

    u8 want_writes = writes, want_reads = reads;
    if (!(bits.is_atomic && !c.is_atomic())) {
      want_reads &= static_cast<u8>(~bits.mask);
      if (bits.is_write) want_writes &= static_cast<u8>(~bits.mask);
    }
    const bool want_mine = key == a.key;
    u64 want = Cell(key).WithMasks(want_writes, want_reads).raw();
    if (want_mine) want = MergeIntoOwnCell(Cell(want), bits);
    else if ((want_writes | want_reads) == 0) want = 0;

    bool is_mine = false;
    ASSERT_EQ(RewriteOrderedCell(c, a, &is_mine), want) << "round " << round;
    ASSERT_EQ(is_mine, want_mine) << "round " << round;
  }
}

// ApplyAccessWithoutRace is ApplyAccess for words where nothing races: on
// random words of up to four cells (slots, epochs, owners, atomicity, dead
// generations and masks drawn at random) it must give up exactly when
// ApplyAccess finds a race, and otherwise leave the same cells in the same
// order with the same index for the accessor's cell.
TEST(AccessRulesTest, TheRaceFreeVariantAgreesWithApplyAccess) {
  RandomBelow next{0x9e3779b97f4a7c15ull};
  u32 raced = 0, race_free = 0;
  for (int round = 0; round < 200000; round++) {
    Epoch clock[kSlotCount] = {};
    for (Sid s = 0; s < 6; s++) clock[s] = next(20);
    Sid sid = static_cast<Sid>(next(6));
    AccessBits bits{static_cast<u8>(next(255) + 1), next(2) == 0, next(4) == 0};
    Epoch own_last = 10 + next(10);
    AccessState a{CellKey(sid, own_last, kGen, bits.is_atomic),
                  sid,
                  kGen,
                  clock,
                  bits,
                  next(4) != 0,
                  static_cast<Epoch>(1 + next(12)),
                  own_last,
                  next(8),
                  true};
    u32 count = next(5);
    u64 cells[8] = {};
    for (u32 i = 0; i < count; i++) {
      u8 writes = static_cast<u8>(next(4) == 0 ? 0 : next(256));
      u8 reads = static_cast<u8>(next(256) & ~writes);
      if ((writes | reads) == 0) reads = 1;
      Generation gen = next(8) == 0 ? 2 : kGen;
      Sid cell_sid = static_cast<Sid>(next(6));
      Epoch epoch = 1 + next(25);
      if (next(4) == 0) {  // the accessor's own cell
        cell_sid = sid;
        epoch = own_last;
        gen = kGen;
      }
      cells[i] = Cell(CellKey(cell_sid, epoch, gen, next(4) == 0 ? bits.is_atomic : next(2) == 0))
                     .WithMasks(writes, reads)
                     .raw();
    }
    // One cell per key, as words hold them.
    u32 unique = 0;
    for (u32 i = 0; i < count; i++) {
      bool seen = false;
      for (u32 j = 0; j < unique; j++) seen |= Cell(cells[j]).key() == Cell(cells[i]).key();
      if (!seen) cells[unique++] = cells[i];
    }
    count = unique;

    u64 fast[8];
    u32 fast_count = 0, fast_mine = 0;
    u32 concurrent_seen = 0;
    bool ok = ApplyAccessWithoutRace(cells, count, a, fast, &fast_count, &fast_mine, [&](Cell) {
      concurrent_seen++;
      return true;
    });
    // The cells the word keeps as they are, counted independently: the
    // callback is asked about exactly those, and refusing one refuses the word.
    u32 concurrent = 0;
    for (u32 i = 0; i < count; i++) {
      const Cell c(cells[i]);
      concurrent += c.generation() == a.generation && !OrderedBefore(c, a) && !c.ConflictsWith(a.bits);
    }
    if (ok) {
      ASSERT_EQ(concurrent_seen, concurrent) << "round " << round;
      u64 refused[8];
      u32 refused_count = 0, refused_mine = 0;
      ASSERT_EQ(ApplyAccessWithoutRace(cells, count, a, refused, &refused_count, &refused_mine,
                                       [](Cell) { return false; }),
                concurrent == 0)
          << "round " << round;
    }
    u64 slow[8];
    std::copy(cells, cells + count, slow);
    u32 slow_count = count;
    RaceFinding finding{};
    u32 slow_mine = ApplyAccess(slow, &slow_count, a, &finding);
    ASSERT_EQ(ok, !finding.found()) << "round " << round;
    if (!ok) {
      raced++;
      continue;
    }
    race_free++;
    ASSERT_EQ(fast_count, slow_count) << "round " << round;
    for (u32 i = 0; i < slow_count; i++) ASSERT_EQ(fast[i], slow[i]) << "round " << round << " cell " << i;
    ASSERT_EQ(fast_mine, slow_mine) << "round " << round;
  }
  EXPECT_GT(raced, 1000u);
  EXPECT_GT(race_free, 1000u);
}

}  // namespace
}  // namespace racert
