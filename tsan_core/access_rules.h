// The rules for one shadow word, as pure functions on its cells: when an
// earlier access is ordered before the current one, which earlier accesses a
// new one makes redundant, when a pair races. memory_access.cpp applies them
// under the word's concurrency protocol; nothing here touches shared memory.
#pragma once

#include "base/types.h"
#include "shadow/shadow_cell.h"

namespace racert {

// Everything the rules need to know about the access and its goroutine.
struct AccessState {
  u64 key;              // the goroutine's cell key for this kind of access
  Sid sid;
  Generation generation;
  const Epoch* clock;
  AccessBits bits;
  // Ownership of `sid` (see GoroutineState). When `owns_key_slot` is false the
  // key names a slot the goroutine has left; the clock then says everything.
  bool owns_key_slot;
  Epoch own_first;      // first epoch of this goroutine on sid
  Epoch own_last;       // the key's epoch
  Epoch inherited;      // what it knew of sid's earlier owners
  bool report_atomic_races;  // GORACE report_atomic_races: atomic vs plain conflicts race
};

// A recorded access found to race with the current one.
struct RacingAccess {
  Cell cell;
  u8 conflict_mask;        // bytes of the word both touch
  bool previous_is_write;
};

// The recorded accesses found to race with the current one, in the word's
// order (newest first), at most kMaxRacingAccesses of them. The first is
// dropped from the word (so one earlier access is reported once; unless
// keep_racing); the others
// stay, and are there so that the report can name a pair that is not a
// duplicate of an earlier report when the first one is.
constexpr u32 kMaxRacingAccesses = 8;
struct RaceFinding {
  u32 count = 0;
  // Set by the caller when the access was already reported on an earlier word
  // (one report per access): nothing is reported for this word, so its first
  // racing cell must stay for a later access to report, not be dropped.
  bool keep_racing = false;
  RacingAccess racing[kMaxRacingAccesses];  // [0, count) valid; the rest left unset (the slow path's cost)

  bool found() const { return count != 0; }
};

// Whether the access recorded in `c` happens before the current access.
RACERT_ALWAYS_INLINE bool OrderedBefore(Cell c, const AccessState& a) {
  if (c.sid() != a.sid || !a.owns_key_slot) return a.clock[c.sid()] >= c.epoch();
  Epoch e = c.epoch();
  if (e >= a.own_first) return e <= a.own_last;  // own, or a later owner's if we are stale
  return e <= a.inherited;                        // an earlier owner's
}

// The word's value once `bits` is merged into `own`, a cell with the
// accessor's key (FastTrack's same-epoch rule: a write replaces the reads of
// its bytes; a read of bytes not all written adds them as read).
RACERT_ALWAYS_INLINE u64 MergeIntoOwnCell(Cell own, AccessBits bits) {
  u8 writes = own.write_mask();
  u8 reads = own.read_mask();
  if (bits.is_write) {
    writes |= bits.mask;
    reads &= static_cast<u8>(~bits.mask);
  } else if ((writes & bits.mask) != bits.mask) {
    reads |= bits.mask;
  }
  return own.WithMasks(writes, reads).raw();
}

// What is left of a cell ordered before an access of `bits` once the bytes
// the access subsumes are removed (a write subsumes earlier reads and writes
// of its bytes, a read earlier reads; an atomic access never subsumes a plain
// one), without the paired bit.
RACERT_ALWAYS_INLINE Cell LeftAfterSubsuming(Cell c, AccessBits bits) {
  // The subsumed bytes as cell mask bits: the read bits of the access's
  // bytes, and their write bits too for a write.
  const u64 m = bits.mask;
  u64 subsumed = (m << Cell::kReadShift) | (bits.is_write ? m : 0);
  if (bits.is_atomic && !c.is_atomic()) subsumed = 0;
  return Cell(c.raw() & ~(subsumed | Cell::kPairedBit));
}

// A cell ordered before the access, rewritten for it: what LeftAfterSubsuming
// leaves, and the access merged in if the cell has the accessor's key (then
// *is_mine). 0 if nothing is left of it.
RACERT_ALWAYS_INLINE u64 RewriteOrderedCell(Cell c, const AccessState& a, bool* is_mine) {
  const Cell left = LeftAfterSubsuming(c, a.bits);
  // The accessor's own cell (its key includes atomicity, so the exception
  // for atomic accesses never applies to it) then takes the access in.
  *is_mine = c.key() == a.key;
  if (*is_mine) return MergeIntoOwnCell(left, a.bits);
  if (left.any_mask() == 0) return 0;
  return left.raw();
}

// Rewrites cells[0..*count) to account for one more access, and reports in
// `finding` the recorded accesses that race with it. Needs room for
// *count + 1 cells. Returns the index of the cell that now records the access.
u32 ApplyAccess(u64* cells, u32* count, const AccessState& a, RaceFinding* finding);

// The cells a rule loop keeps, in the word's order, and the index of the one
// that records the access: ApplyAccess and ApplyAccessWithoutRace build
// their outcome through it. `cells` may be the loop's own input: a kept cell
// is written at an index no greater than the one being read.
struct KeptCells {
  u64* cells;
  u32 count = 0;
  u32 mine = 0;
  bool merged = false;  // a recorded cell had the accessor's key

  RACERT_ALWAYS_INLINE void Keep(u64 raw) { cells[count++] = raw; }

  // A cell ordered before the access: what RewriteOrderedCell leaves of it.
  RACERT_ALWAYS_INLINE void KeepOrdered(Cell c, const AccessState& a) {
    bool is_mine;
    u64 rewritten = RewriteOrderedCell(c, a, &is_mine);
    if (is_mine) {
      merged = true;
      mine = count;
    }
    if (rewritten != 0) Keep(rewritten);
  }

  // After the last cell: the accessor's own, unless a recorded one took the
  // access in.
  RACERT_ALWAYS_INLINE void Finish(const AccessState& a) {
    if (merged) return;
    mine = count;
    Keep(MergeIntoOwnCell(Cell(a.key), a.bits));
  }
};

// ApplyAccess for the common case where no recorded cell races with the
// access: writes `out[0..*out_count)` (room for count + 1 cells) and the
// index of the accessor's cell, exactly as ApplyAccess would leave them, and
// returns true; or returns false, writing nothing useful, if some cell
// conflicts with the access without being ordered before it (ApplyAccess must
// then check it and report the race). No compaction: for inline words only.
// `accept_concurrent(Cell)` is asked about each cell the word keeps as it
// is: live, not ordered before the access, not conflicting with it (a
// concurrent access); false refuses the word as a conflict would. Callers
// that need to know about those cells learn it here, without walking the
// cells (and comparing clocks) a second time.
// Inline, for the access path's fast tiers.
template <typename AcceptConcurrent>
RACERT_ALWAYS_INLINE bool ApplyAccessWithoutRace(const u64* cells, u32 count, const AccessState& a, u64* out,
                                                 u32* out_count, u32* mine, AcceptConcurrent&& accept_concurrent) {
  KeptCells kept{out};
  for (u32 i = 0; i < count; i++) {
    Cell c(cells[i]);
    if (c.generation() != a.generation) continue;  // dead: a reset happened
    if (OrderedBefore(c, a)) {
      kept.KeepOrdered(c, a);
    } else if (c.ConflictsWith(a.bits) || !accept_concurrent(c)) {
      return false;
    } else {
      kept.Keep(c.raw());
    }
  }
  kept.Finish(a);
  *out_count = kept.count;
  *mine = kept.mine;
  return true;
}

// Folds read-only cells of one slot with the same bytes into the newest (see
// access_rules.cpp). Returns the new index of cells[mine].
u32 FoldSameSlotReads(u64* cells, u32* count, u32 mine);

// A word's out-of-line set is at its largest capacity and full: folds
// same-slot reads and, if that frees nothing, drops the oldest read cell
// (the first cell if all are writes). This is the one place racert forgets
// an access to make room; it needs thousands of distinct cells on one word
// (goroutines reading different byte patterns of it), far beyond anything
// the folding leaves in practice. Sheds at least one cell.
void MakeRoomInFullWord(u64* cells, u32* count);

}  // namespace racert
