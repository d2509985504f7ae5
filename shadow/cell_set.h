// Out-of-line cell storage for shadow words that need more than one cell.
//
// A shadow word holds one direct cell in the common case. When an access
// cannot be folded into the existing cell (a concurrent reader, a byte of the
// word touched in another epoch, ...), the word is switched to a handle of a
// CellSet that keeps every cell that is still needed. Sets grow instead of
// evicting (ThreadSanitizer keeps four cells per word and overwrites one at
// random). The one exception is a set at the largest capacity: then read
// cells are folded and, failing that, the oldest read is dropped
// (the race rules decide which: MakeRoomInFullWord), which needs thousands
// of concurrent distinct readers of one word.
//
// Concurrency: a set belongs to the shadow word that holds its handle, and is
// written or freed only by whoever locked that word (shadow/shadow_word.h):
// the compare-and-swap that locks the word is what proves the handle current.
// One reader does without the lock: the check whether the accessor's own cell
// for its current epoch is already in the set (AlreadyRecordedElsewhere in
// shadow_word.h), which trusts a hit only if the word still holds the handle
// afterwards (sets are recycled, but their memory is never unmapped, so
// reading a stale set is safe).
#pragma once

#include "base/types.h"
#include "shadow/shadow_cell.h"

namespace racert {

struct CellSet {
  u16 count;           // cells in use
  u8 size_class;       // capacity == kCellSetCapacity[size_class]
  u8 unused;
  u32 next_free;       // free-list link while the set is not in use
  u64 cells[];         // `capacity` entries; cells[0..count) are valid

  u32 capacity() const;
};

// Capacities of the size classes, smallest first.
constexpr u16 kCellSetCapacity[] = {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
constexpr unsigned kCellSetClassCount = sizeof(kCellSetCapacity) / sizeof(kCellSetCapacity[0]);
constexpr u32 kCellSetMaxCapacity = kCellSetCapacity[kCellSetClassCount - 1];

// Allocates an empty set holding at least `min_capacity` cells, unlocked.
// Returns its handle (never 0).
u32 CellSetAllocate(u32 min_capacity);
// Returns a set to its free list. The caller must own it exclusively: no
// shadow word refers to it any more (the word that did is locked or cleared).
void CellSetFree(u32 handle);
CellSet* CellSetFromHandle(u32 handle);

// Memory statistics for benchmarks and tests.
uptr CellSetBytesInUse();
// Address space the arena reserves on first use (committed only where touched):
// 64 GiB unless SetCellSetArenaSize chose less (under an address-space limit).
uptr CellSetArenaReservation();
// Before the first set is allocated: reserve `bytes` (rounded down to 1 MiB,
// at most the default) instead.
void SetCellSetArenaSize(uptr bytes);
uptr CellSetCount();

inline u32 CellSet::capacity() const { return kCellSetCapacity[size_class]; }

}  // namespace racert
