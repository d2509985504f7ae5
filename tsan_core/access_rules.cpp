#include "tsan_core/access_rules.h"

namespace racert {
namespace {

u8 ConflictingBytes(Cell c, AccessBits bits) {
  return (bits.is_write ? c.any_mask() : c.write_mask()) & bits.mask;
}

// A word read by thousands of concurrent goroutines keeps a read cell for
// each, and slots are shared over time by many goroutines, so nothing else
// bounds it. Past this many cells, read cells of one slot with the same bytes
// are folded into the newest.
constexpr u32 kCompactionThreshold = 64;

}  // namespace

// Folds read-only cells that have the same slot, atomicity, generation and
// read mask into the one with the highest epoch. For any goroutine on another
// slot this loses nothing: if its clock is below the older epoch it is below
// the newer one too, and the newer cell conflicts on the same bytes. What is
// lost is the slot's current owner racing with an earlier owner's read (the
// slot-reuse limit documented in slot_pool.h). Keeps at most one read cell
// per (slot, atomicity, mask), so a word stays far below the set capacity.
// Returns the new index of cells[mine].
// Whether two read cells of cells[0..count) share a slot and atomicity (the
// only case FoldSameSlotReads can shrink). A 64-byte bitmap: words past the
// compaction threshold are checked on every access, and after one fold they
// usually have no such pair left, so this spares the fold's 1 KiB table.
bool HasSameSlotReads(const u64* cells, u32 count) {
  u64 seen[2][kSlotCount / 64] = {};
  for (u32 i = 0; i < count; i++) {
    Cell c(cells[i]);
    if (c.write_mask() != 0) continue;
    u64& bits = seen[c.is_atomic()][c.sid() / 64];
    u64 bit = u64{1} << (c.sid() % 64);
    if (bits & bit) return true;
    bits |= bit;
  }
  return false;
}

u32 FoldSameSlotReads(u64* cells, u32* count, u32 mine) {
  if (!HasSameSlotReads(cells, *count)) return mine;
  // One pass: the first read cell seen of each (slot, atomicity) is the
  // representative, later ones with the same generation and bytes fold into
  // it. (Read cells of one slot with different bytes are rare and stay.)
  constexpr u16 kNone = 0xffff;
  u16 representative[2][kSlotCount];
  for (unsigned a = 0; a < 2; a++) {
    for (unsigned s = 0; s < kSlotCount; s++) representative[a][s] = kNone;
  }
  u32 n = *count;
  for (u32 i = 0; i < n; i++) {
    Cell ci(cells[i]);
    if (ci.write_mask() != 0) continue;
    u16& rep = representative[ci.is_atomic()][ci.sid()];
    if (rep == kNone) {
      rep = static_cast<u16>(i);
      continue;
    }
    Cell cr(cells[rep]);
    if (cr.generation() != ci.generation() || cr.read_mask() != ci.read_mask()) continue;
    // Keep the newer epoch at the representative's place, drop i.
    if (ci.epoch() > cr.epoch()) cells[rep] = ci.raw();
    if (mine == i) mine = rep;
    cells[i] = 0;
  }
  u32 out = 0;
  u32 new_mine = 0;
  for (u32 i = 0; i < n; i++) {
    if (cells[i] == 0) continue;
    if (i == mine) new_mine = out;
    cells[out++] = cells[i];
  }
  *count = out;
  return new_mine;
}

// Rewrites cells[0..*count) to account for one more access, and reports in
// `finding` the recorded accesses that race with it. Needs room for
// *count + 1 cells. Returns the index of the cell that now records the access.
//
// Rules (per byte, FastTrack-style):
//  - cells from another generation are dead (a reset happened);
//  - a cell not ordered before the access that conflicts with it is a race;
//    the first is dropped, as it is reported now, so the same earlier access
//    reports once (kept when the caller will not report this word);
//  - a cell ordered before the access loses the bytes the access subsumes: a
//    write subsumes earlier reads and writes of its bytes, a read earlier
//    reads; an atomic access never subsumes a plain one (a later atomic
//    access would not conflict with it, the plain one would);
//  - the access itself is merged into the cell with the same key, if any.
u32 ApplyAccess(u64* cells, u32* count, const AccessState& a, RaceFinding* finding) {
  const u8 m = a.bits.mask;
  KeptCells kept{cells};  // rewritten in place
  for (u32 i = 0; i < *count; i++) {
    Cell c(cells[i]);
    if (c.generation() != a.generation) continue;
    if (OrderedBefore(c, a)) {
      kept.KeepOrdered(c, a);
      continue;
    }
    bool reportable = a.report_atomic_races || (!a.bits.is_atomic && !c.is_atomic());
    if (reportable && c.ConflictsWith(a.bits) && finding->count < kMaxRacingAccesses) {
      bool first = finding->count == 0;
      finding->racing[finding->count++] = RacingAccess{c, ConflictingBytes(c, a.bits), (c.write_mask() & m) != 0};
      if (first && !finding->keep_racing) continue;  // dropped: reported now
    }
    kept.Keep(c.raw());
  }
  kept.Finish(a);
  *count = kept.count;
  u32 mine = kept.mine;
  if (RACERT_UNLIKELY(kept.count > kCompactionThreshold)) mine = FoldSameSlotReads(cells, count, mine);
  return mine;
}

void MakeRoomInFullWord(u64* cells, u32* count) {
  u32 before = *count;
  FoldSameSlotReads(cells, count, 0);
  if (*count < before) return;
  u32 n = *count;
  u32 oldest = n;
  for (u32 i = 0; i < n; i++) {
    Cell c(cells[i]);
    if (c.write_mask() == 0 && (oldest == n || c.epoch() < Cell(cells[oldest]).epoch())) oldest = i;
  }
  if (oldest == n) oldest = 0;  // only writes: drop the first one
  cells[oldest] = cells[n - 1];
  *count = n - 1;
}

}  // namespace racert
