// Byte accumulation: a goroutine alone in a word records its further bytes
// there without a locked instruction.
//
// The shape is a buffer filled (or scanned) byte by byte by one goroutine:
// every byte of a word used to cost a compare-and-swap of the primary shadow
// word, and a locked instruction costs far more than the store it checks.
// Now the first byte of a word publishes the goroutine's cell as before (one
// compare-and-swap); the next bytes of that word, in the same epoch, are
// merged into a private copy of the cell (GoroutineState::acc_value) and
// announced with a plain store in the goroutine's entry below; the copy is
// published with one compare-and-swap when the goroutine moves to another
// word, makes a range or atomic access, or synchronizes. A byte fill costs
// two locked instructions per word instead of eight, also when the word
// still holds the goroutine's older write or an earlier owner's (rule 6).
//
// Why no race is lost (docs/design-core.md, "Byte accumulation"):
//  1. The owner announces a byte (plain store of its entry's state), then
//     loads the primary word again. If it changed, another goroutine changed
//     the word: the owner resolves at once (ResolveAccumulated: its pending
//     bytes checked against the word's cells, races reported, then
//     published).
//  2. Whoever changes a word holding another goroutine's plain cell, not
//     ordered before its access, stamped with the key that goroutine's entry
//     announces (so it may be accumulating there), and whose access could
//     conflict with it, calls
//     FenceEveryThread() after publishing its change and then reads the
//     entry (CheckPendingOfOthers). The owner's announcements made before
//     its last load of the word are then visible to it; announcements made
//     after that load are followed by another load, which sees the change
//     (1). So every pending byte is checked by one side or the other, at the
//     time of the later access. Hence a word freed and reused before the
//     owner publishes loses nothing either: its changers checked.
//  3. When the owner publishes, the compare-and-swap expects the value it
//     last saw. If the word changed since, it resolves as in (1), so pending
//     bytes never enter a word unchecked; if its own cell is gone from the
//     word (the memory was freed and reused, or a racing access reported and
//     dropped it), the pending bytes are dropped with it.
//  4. Only plain accesses accumulate, and a write only into a cell that has
//     a written byte already: a reader that finds a cell with no written
//     byte knows that nothing pending there can conflict with its read.
//  5. Entries are per slot, and one goroutine at a time holds one. A
//     goroutine whose slot is taken while it runs keeps its entry (and
//     stamps its old key) until its next synchronization, which publishes
//     and gives the entry up; the slot's new owner accumulates only once the
//     entry is free. An entry's key is stored before any cell with that key
//     is published, so a changer that read such a cell reads that key or a
//     newer one; a newer key means the owner published before moving on.
//  6. A goroutine starts accumulating in a word either alone there (its
//     first byte's compare-and-swap) or, after the general path recorded
//     its first byte, when its cell is the word's primary and every other
//     cell of the word is ordered before the access (a buffer it filled
//     before its last synchronization and fills again; bytes handed over by
//     another goroutine). Nothing recorded there can then race with its
//     further bytes of this epoch, and no other goroutine has bytes pending
//     there (an ordered cell's owner published before its release), nor
//     starts accumulating there while this one's unreleased cell is in the
//     word. In a paired word the bytes are published through the general
//     path (FlushAccumulated), which also drops what they overwrite of the
//     older cells.
//
// Requires the process-wide fence (base/process_fence.h); without it no
// goroutine claims an entry and every byte takes the compare-and-swap path.
#pragma once

#include <atomic>

#include "base/check.h"
#include "base/types.h"
#include "shadow/shadow_cell.h"
#include "shadow/shadow_map.h"
#include "tsan_core/access_rules.h"
#include "tsan_core/goroutine.h"

namespace racert {

// One slot's accumulator, as other goroutines see it. Written only by the
// goroutine holding it (`key`, `state`) and by the claim protocol. `key`
// changes once per epoch and is read by every access that finds an unordered
// cell of the slot; `state` changes with every announced byte and is read
// only after a fence: apart, so that the holder's byte loop does not take the
// key's cache line away from its readers.
struct AccumulatorEntry {
  alignas(64) std::atomic<GoroutineState*> claimer;  // null: free
  // The holder's plain cell key (0: nobody accumulates under this entry).
  std::atomic<u64> key;
  // The word the holder has announced pending bytes in and the masks of its
  // private cell there: (word address << 13) | masks (PackAccumulatorState);
  // 0 when nothing is pending.
  alignas(64) std::atomic<u64> state;
};
static_assert(sizeof(AccumulatorEntry) == 128, "the key and the state on cache lines of their own");

// Word addresses are 8-byte aligned and below 2^47 (shadow/shadow_map.h):
// shifted left by 13 they start at bit 16, above the cell's 16 mask bits, and
// end below bit 60.
constexpr unsigned kAccumulatorWordShift = 16 - 3;
static_assert(Cell::kMaskBits == 0xffff, "the state keeps the cell's masks in its low 16 bits");
RACERT_ALWAYS_INLINE u64 PackAccumulatorState(uptr word_addr, u64 cell) {
  RACERT_DCHECK((word_addr & 7) == 0);
  return (u64{word_addr} << kAccumulatorWordShift) | (cell & Cell::kMaskBits);
}
RACERT_ALWAYS_INLINE uptr AccumulatorStateWord(u64 state) { return static_cast<uptr>(state >> kAccumulatorWordShift) & ~uptr{7}; }

AccumulatorEntry& AccumulatorEntryOf(Sid sid);

// Registers the process-wide fence; from then on goroutines may claim
// entries. Returns whether accumulation is on.
bool EnableByteAccumulation();

// Claim protocol (slot_pool.cpp). With g's slot mutex held: takes the slot's
// entry if it is free. ReleaseAccumulator: g has published everything
// (FlushAccumulated) and gives its entry up. PublishAccumulatorKey: after g's
// key changed (new epoch, new slot, reset), before g records any access
// under it.
void ClaimAccumulator(GoroutineState* g);
void ReleaseAccumulator(GoroutineState* g);
RACERT_ALWAYS_INLINE void PublishAccumulatorKey(GoroutineState* g) {
  if (g->acc) g->acc->key.store(g->plain_key, std::memory_order_release);
}

// Whether a byte access `bits` may be merged privately into the cell the
// goroutine last saw published (`published`): plain reads always, writes only
// into a cell with a written byte (rule 4 above).
RACERT_ALWAYS_INLINE bool CanAccumulate(u64 published, AccessBits bits) {
  return !bits.is_write || Cell(published).write_mask() != 0;
}

// Merges one byte into g's private cell and announces it. The caller then
// loads the primary word again (rule 1).
RACERT_ALWAYS_INLINE void AnnounceAccumulatedByte(GoroutineState* g, AccessBits bits) {
  g->acc_value = MergeIntoOwnCell(Cell(g->acc_value), bits);
  g->acc->state.store(PackAccumulatorState(g->acc_word, g->acc_value), std::memory_order_relaxed);
  // Keeps the compiler from moving the caller's reload above this store; the
  // processor may still do it, which is what the fence of rule 2 is for.
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

// The bytes of `now` (a holder's private cell, or its masks) that `seen` (its
// cell as published or as found in the word) does not have yet, as a cell
// with seen's key: what is pending. A read of a byte also written is not.
RACERT_ALWAYS_INLINE Cell PendingPart(Cell seen, u64 now) {
  Cell value(now);
  u8 writes = value.write_mask() & static_cast<u8>(~seen.write_mask());
  u8 reads = value.read_mask() & static_cast<u8>(~seen.any_mask());
  return seen.WithMasks(writes, reads);
}

// Out of line (memory_access.cpp): g's accumulated bytes checked against the
// word's cells and published, or dropped with g's cell (rule 3). Leaves g
// accumulating nowhere.
void ResolveAccumulated(GoroutineState* g);

// Publishes g's accumulated bytes, if any, and leaves g accumulating nowhere.
RACERT_ALWAYS_INLINE void FlushAccumulated(GoroutineState* g) {
  if (g->acc_word == 0) return;
  if (g->acc_value != g->acc_published) {
    // In a paired word the pending bytes may subsume bytes of the other
    // cells (the goroutine's own older write it is overwriting): the
    // general path rewrites them, where one compare-and-swap of the primary
    // would keep them and drop the paired bit.
    if (Cell(g->acc_published).is_paired()) {
      ResolveAccumulated(g);
      return;
    }
    u64 expected = g->acc_published;
    std::atomic<u64>* word = ShadowWordFor(g->acc_word);
    if (RACERT_UNLIKELY(!word->compare_exchange_strong(expected, g->acc_value, std::memory_order_acq_rel,
                                                        std::memory_order_relaxed))) {
      ResolveAccumulated(g);
      return;
    }
    g->acc->state.store(0, std::memory_order_relaxed);  // announced bytes are published
  }
  g->acc_word = 0;
}

// After g published `published` (its own cell, as the word's primary value,
// alone or paired) into the word at word_addr: accumulate there from now on.
RACERT_ALWAYS_INLINE void StartAccumulating(GoroutineState* g, uptr word_addr, u64 published) {
  FlushAccumulated(g);
  g->acc_word = word_addr;
  g->acc_published = published;
  g->acc_value = published;
  // The entry's state stays 0 until a byte is announced: nothing is pending.
}

// Whether `c`'s pending bytes, if it had any, could not conflict with the
// access `a`: atomic cells never accumulate, and a read conflicts only with
// written bytes (rule 4). The cheap part of the questions below, asked
// before the clock comparison.
RACERT_ALWAYS_INLINE bool PendingBytesCannotConflict(Cell c, const AccessState& a) {
  return c.is_atomic() || (!a.bits.is_write && c.write_mask() == 0);
}

// Whether the accumulator of c's slot is accumulating under c's key.
RACERT_ALWAYS_INLINE bool AccumulatorHasKeyOf(Cell c) {
  return AccumulatorEntryOf(c.sid()).key.load(std::memory_order_acquire) == c.key();
}

// Rule 2, the changer's side. Whether `c`, a cell of the word as the accessor
// found it, may have bytes pending in another goroutine's accumulator that
// the access `a` could conflict with. Read after the cell itself.
// A cell ordered before the access has no pending bytes the access could
// race with: its epoch was released, and its owner published before that
// (what a goroutine that learned a taken slot's epochs through the slot's
// next owner misses here, it misses for the published bytes too: the slot
// limit of slot_pool.h). So only unordered cells cost the entry's key load.
RACERT_ALWAYS_INLINE bool MayHavePendingBytes(Cell c, const AccessState& a) {
  if (c.generation() != a.generation || PendingBytesCannotConflict(c, a)) return false;
  if (OrderedBefore(c, a)) return false;  // also the accessor's own cells
  return AccumulatorHasKeyOf(c);
}

// MayHavePendingBytes for a cell already known to be live (of the access's
// generation) and not ordered before the access.
RACERT_ALWAYS_INLINE bool ConcurrentCellMayHavePendingBytes(Cell c, const AccessState& a) {
  RACERT_DCHECK(c.generation() == a.generation && !OrderedBefore(c, a));
  return !PendingBytesCannotConflict(c, a) && AccumulatorHasKeyOf(c);
}

// Candidates collected from the cells an access found (before publishing
// it), checked after it was published. More than kMax (a word with many
// concurrent accessors) checks every entry instead.
struct PendingCandidates {
  static constexpr u32 kMax = 8;
  u32 count = 0;
  bool overflow = false;
  u64 cells[kMax];

  RACERT_ALWAYS_INLINE void Collect(const u64* found, u32 n, const AccessState& a) {
    Clear();
    for (u32 i = 0; i < n; i++) {
      if (MayHavePendingBytes(Cell(found[i]), a)) Add(Cell(found[i]));
    }
  }
  // Collect, one cell at a time: a live cell not ordered before the access.
  RACERT_ALWAYS_INLINE void AddIfConcurrentMayHavePendingBytes(Cell c, const AccessState& a) {
    if (ConcurrentCellMayHavePendingBytes(c, a)) Add(c);
  }
  RACERT_ALWAYS_INLINE void Clear() {
    count = 0;
    overflow = false;
  }
  bool any() const { return count != 0; }

 private:
  RACERT_ALWAYS_INLINE void Add(Cell c) {
    if (count == kMax) {
      overflow = true;
      return;
    }
    cells[count++] = c.raw();
  }
};

// Fences every thread, then adds to `finding` the pending bytes of the
// candidates' accumulators in the word at word_addr that race with `a`.
void CheckPendingOfOthers(uptr word_addr, const PendingCandidates& candidates, const AccessState& a,
                          RaceFinding* finding);
// Tests: makes CheckPendingOfOthers find nothing, as if the owner's
// announcements were still in its store buffer, so that the owner's own
// check (rules 1 and 3) can be exercised deterministically.
void SkipPendingChecksForTesting(bool skip);

}  // namespace racert
