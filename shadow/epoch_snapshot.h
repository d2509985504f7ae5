// Epoch snapshots: one epoch per slot, shared by the compact read sets of
// many shadow words (shadow/cell_set.h, "Read sets").
//
// A word read by many goroutines between writes holds one read cell per
// reader, and the readers' cells are the same in every such word: each
// reader reads in one epoch. A snapshot records that epoch once per slot, so
// such a word only needs to say which slots read it (a 256-bit map) and with
// which bytes; the cell of slot s is (s, snapshot[s], the snapshot's
// generation, read of those bytes), exactly the cell an explicit set holds.
//
// Entries are claimed, not copied: an entry starts unclaimed (0, an epoch
// never issued) and is set once, by the first set stored with a cell of that
// slot; a set can use a snapshot only if each of its cells' epochs is its
// slot's entry, or claims it. An entry never changes while the snapshot is
// referenced, so a set's cells never change under it.
//
// Lifetime: each compact set holds a reference, and so does the pool while
// the snapshot is the current one (the one new sets try first). A snapshot
// with no reference goes back to the pool, cleared. The pool is a fixed
// array: if every snapshot is in use, sets stay explicit (what they were
// before snapshots existed), which costs memory, never a cell.
//
// Concurrency: a word's update, holding the word's lock, claims entries
// (compare-and-swap 0 -> epoch) and takes or drops references. Lock-free
// readers (the covering check) read entries of a snapshot their set refers to
// and trust what they read only if the set did not change meanwhile (its
// sequence, cell_set.h), so the snapshot was referenced all along.
#pragma once

#include <atomic>

#include "base/types.h"
#include "shadow/shadow_cell.h"

namespace racert {

constexpr u32 kEpochSnapshotCount = 256;
constexpr u32 kNoEpochSnapshot = ~u32{0};

// The first this many slots to claim an entry of a snapshot get a place in
// its claim order (EpochSnapshot::claim_place): the bit that stands for them
// in a read set's one-word summary (shadow/cell_set.h), whatever their slot
// numbers. The readers of a word are mostly the goroutines of one phase of
// the program, which claim the snapshot's entries first; their slots can be
// anywhere in 0..kSlotCount.
constexpr u32 kEpochSnapshotPlacedClaims = 52;

struct EpochSnapshot {
  // Read by every covering check: away from the counters below, which
  // every new set changes.
  std::atomic<u8> generation;
  // 1 + the slot's place among the first kEpochSnapshotPlacedClaims claims;
  // 0: unclaimed, claimed later, or not yet given (the claimer stores it
  // just after its claim: a reader that sees 0 treats the slot as
  // unplaced). Like an entry, never changes while the snapshot is referenced.
  std::atomic<u8> claim_place[kSlotCount];
  std::atomic<Epoch> epochs[kSlotCount];  // 0: unclaimed
  alignas(64) std::atomic<u32> references;
  std::atomic<u32> requests;  // sets that asked for it as the current one (when a new one may replace it)
  std::atomic<u32> places_given;  // claims that asked for a place (may exceed kEpochSnapshotPlacedClaims)
};
static_assert(kEpochSnapshotPlacedClaims < 255, "a place plus one fits claim_place's byte");

// The place of `sid`'s claim in snapshot `s` (kEpochSnapshotPlacedClaims if
// it has none). Lock-free readers use it only together with an entry they
// validate as they do entries.
inline u32 SnapshotClaimPlace(const EpochSnapshot& s, Sid sid) {
  const u32 place_plus_one = s.claim_place[sid].load(std::memory_order_relaxed);
  return place_plus_one == 0 ? kEpochSnapshotPlacedClaims : place_plus_one - 1;
}

namespace epoch_snapshot_detail {
extern EpochSnapshot snapshots[kEpochSnapshotCount];
}  // namespace epoch_snapshot_detail

// The snapshot `id` names (id < kEpochSnapshotCount; a reader that read `id`
// from a set without the lock checks the bound itself).
inline EpochSnapshot& EpochSnapshotAt(u32 id) { return epoch_snapshot_detail::snapshots[id]; }

// The read cell of slot `sid` that a read set over snapshot `s` holds for
// reads of `read_mask` (shadow/cell_set.h, "Read sets").
inline Cell SnapshotReadCell(const EpochSnapshot& s, Sid sid, u8 read_mask) {
  return Cell::Make(sid, s.epochs[sid].load(std::memory_order_relaxed), s.generation.load(std::memory_order_relaxed),
                    AccessBits{read_mask, false, false});
}

// Under a word's lock: whether cells[0..count) (plain reads of one
// generation, at most one per slot) can use snapshot `id`, which the caller
// holds a reference to: every cell's epoch is its slot's entry, or becomes it
// (claimed). A failed check may have claimed some entries: harmless.
bool FitsEpochSnapshot(u32 id, const u64* cells, u32 count, Generation generation);

// Under a word's lock: a snapshot cells[0..count) fit, with a reference taken
// for the caller: the current one, or, if `may_start_new` and the current
// one does not fit but has been asked for often enough, a new one that
// becomes current.
// kNoEpochSnapshot if none (then the set stays explicit).
u32 AcquireEpochSnapshotFor(const u64* cells, u32 count, Generation generation, bool may_start_new);

// Drops a reference taken by AcquireEpochSnapshotFor.
void ReleaseEpochSnapshot(u32 id);

// ---- For tests only ----
// Snapshots holding a reference.
u32 EpochSnapshotsInUseForTesting();
// Drops the pool's current snapshot, as a replacement would: the next set
// with enough readers starts a fresh one, whatever earlier tests claimed.
void RetireCurrentEpochSnapshotForTesting();

}  // namespace racert
