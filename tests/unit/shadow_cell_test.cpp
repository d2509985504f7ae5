// The cell encoding on its own: fields round-trip, and the predicates the
// access path relies on (Covers, ConflictsWith, key) give the table's answers.
#include <gtest/gtest.h>

#include "shadow/shadow_cell.h"

namespace racert {
namespace {

TEST(ShadowCellTest, FieldsRoundTripAtTheirExtremes) {
  struct Case {
    Sid sid;
    Epoch epoch;
    Generation gen;
    AccessBits bits;
  };
  const Case cases[] = {
      {0, 1, 1, {0x01, true, false}},
      {255, 0xffffffff, kGenerationMask, {0x80, false, true}},
      {17, 0x12345678, 9, {0xff, true, true}},
  };
  for (const Case& c : cases) {
    Cell cell = Cell::Make(c.sid, c.epoch, c.gen, c.bits);
    EXPECT_EQ(cell.sid(), c.sid);
    EXPECT_EQ(cell.epoch(), c.epoch);
    EXPECT_EQ(cell.generation(), c.gen);
    EXPECT_EQ(cell.is_atomic(), c.bits.is_atomic);
    EXPECT_EQ(cell.write_mask(), c.bits.is_write ? c.bits.mask : 0);
    EXPECT_EQ(cell.read_mask(), c.bits.is_write ? 0 : c.bits.mask);
    EXPECT_FALSE(cell.is_handle());
    EXPECT_FALSE(cell.is_locked());
    EXPECT_FALSE(cell.is_paired());
    EXPECT_TRUE(cell.WithPaired(true).is_paired());
    EXPECT_EQ(cell.WithPaired(true).key(), cell.key()) << "the paired bit is not part of the key";
    EXPECT_EQ(cell.WithMasks(0x0f, 0xf0).key(), cell.key());
  }
}

TEST(ShadowCellTest, HandlesAndTheLockedWordAreNeverCellsNorMatchAKey) {
  for (u32 handle : {1u, 2u, 0x7fffffffu, 0xfffffffeu}) {
    for (u32 count : {0u, 4u, 254u, 255u, 8192u}) {
      Cell h = Cell::MakeHandle(handle, count);
      EXPECT_TRUE(h.is_handle());
      EXPECT_FALSE(h.is_paired());
      EXPECT_EQ(h.handle(), handle);
      EXPECT_EQ(h.published_count(), count < 255 ? count : 255u);
      EXPECT_EQ(h.any_mask(), 0);
      EXPECT_EQ(h.generation(), 0) << "no goroutine key has generation 0";
    }
  }
  Cell locked(Cell::kLockedWord);
  EXPECT_TRUE(locked.is_locked());
  EXPECT_FALSE(locked.is_handle());
  EXPECT_EQ(locked.generation(), 0);
}

TEST(ShadowCellTest, CoversAndConflictsFollowTheRulesTable) {
  const u64 key = CellKey(3, 100, 1, false);
  const u64 atomic_key = CellKey(3, 100, 1, true);
  Cell wrote01 = Cell(key).WithMasks(0x03, 0x00);  // wrote bytes 0 and 1
  Cell read2 = Cell(key).WithMasks(0x00, 0x04);    // read byte 2
  Cell atomic_wrote = Cell(atomic_key).WithMasks(0xff, 0x00);
  struct Case {
    Cell cell;
    u64 key;
    AccessBits access;
    bool covers;
    bool conflicts;
  };
  const Case cases[] = {
      {wrote01, key, {0x01, false, false}, true, true},    // a written byte covers a read of it
      {wrote01, key, {0x02, true, false}, true, true},     // and a write
      {wrote01, key, {0x04, false, false}, false, false},  // another byte: neither
      {read2, key, {0x04, false, false}, true, false},     // read-read never conflicts
      {read2, key, {0x04, true, false}, false, true},      // a read does not cover a write
      {wrote01, CellKey(3, 101, 1, false), {0x01, false, false}, false, true},  // another epoch
      {wrote01, CellKey(4, 100, 1, false), {0x01, false, false}, false, true},  // another slot
      {atomic_wrote, atomic_key, {0x0f, true, true}, true, false},  // atomic vs atomic: no conflict
      {atomic_wrote, key, {0x0f, true, false}, false, true},        // plain vs atomic: conflict
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.cell.Covers(c.key, c.access), c.covers) << std::hex << c.cell.raw() << " " << int(c.access.mask);
    EXPECT_EQ(c.cell.ConflictsWith(c.access), c.conflicts) << std::hex << c.cell.raw() << " " << int(c.access.mask);
  }
}

}  // namespace
}  // namespace racert
