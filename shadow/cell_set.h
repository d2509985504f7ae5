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
//
// Order: a set's cells are sorted by slot id (cells of one slot in the order
// the race rules left them). The rules do not care about the order; the
// lock-free check does: a word read by many goroutines between writes holds
// one cell per reader, and the check runs on every read of it. Sorted by slot,
// a reader finds its cell by walking from where it found it last
// (CellSetFindCovering): the same position in every word read by the same
// goroutines, so one or two cells read instead of half the set.
#pragma once

#include <atomic>

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/types.h"
#include "shadow/epoch_snapshot.h"
#include "shadow/shadow_cell.h"

namespace racert {

struct CellSet {
  u16 count;           // cells in use
  u8 size_class;       // capacity == kCellSetCapacity[size_class]
  // False only if every cell in cells[0..count) is atomic (true is always
  // safe): an atomic access then changes only its own slot's cells
  // (UpdateCellSet in shadow/shadow_word.h). Kept by whoever locked the word.
  bool may_hold_plain;
  union {
    u32 next_free;     // free-list link while the set is not in use; a read set's snapshot
    u32 lone_write;    // an explicit set's (LoneWriteOf), kept by whoever locked the word
  };
  u64 cells[];         // `capacity` entries; cells[0..count) are valid

  u32 capacity() const;
};
static_assert(sizeof(CellSet) == 8, "the header is one word: cells start 8-byte aligned");

// Capacities of the size classes, smallest first.
constexpr u16 kCellSetCapacity[] = {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
constexpr unsigned kCellSetClassCount = sizeof(kCellSetCapacity) / sizeof(kCellSetCapacity[0]);
constexpr u32 kCellSetMaxCapacity = kCellSetCapacity[kCellSetClassCount - 1];

// An explicit set's lone_write: the index of its only cell with write bits,
// or one of the two values below. A reader that refreshes its own read in a
// big set (TryReplaceOwnCellInSet in shadow/shadow_word.h) needs only that
// cell and its own slot's cells when the others are all reads; the unknown
// value is always correct (it makes the reader look at every cell).
constexpr u32 kNoWriteCell = 0xffffffff;
constexpr u32 kWriteCellsUnknown = 0xfffffffe;
static_assert(kWriteCellsUnknown >= kCellSetMaxCapacity, "the two values are no index");

// Sets are addressed by handle: an offset in units of kCellSetHandleUnit
// bytes into one reserved arena (cell_set.cpp).
constexpr uptr kCellSetHandleUnit = 16;

// Allocates an empty set holding at least `min_capacity` cells, unlocked.
// Returns its handle (never 0).
u32 CellSetAllocate(u32 min_capacity);
// Returns a set to its free list. The caller must own it exclusively: no
// shadow word refers to it any more (the word that did is locked or cleared).
void CellSetFree(u32 handle);
inline CellSet* CellSetFromHandle(u32 handle);

// Sorts cells[0..count) by slot id, keeping the order of each slot's cells.
void SortCellsBySlot(u64* cells, u32 count);
// The same for cells[0..count) sorted but for the last one (a rewrite that
// kept the order and appended one cell): moves it into place, shifting only
// the cells of higher slots. Cheaper than the sort in the critical section
// of a word many goroutines change.
void PlaceLastCellBySlot(u64* cells, u32 count);

// Whether any of cells[0..count) records a plain (not atomic) access.
bool AnyPlainCell(const u64* cells, u32 count);
// What an explicit set holding cells[0..count) keeps in lone_write: the
// index of the only cell with write bits, kNoWriteCell if none has any,
// kWriteCellsUnknown if several have.
u32 LoneWriteOf(const u64* cells, u32 count);

// The cells of slot `sid` in cells[0..count) sorted by slot: [*begin, *end),
// empty (at the place they would go) if there are none. Looks at `hint`
// first (any value is valid), then searches.
void FindSlotRun(const u64* cells, u32 count, Sid sid, u32 hint, u32* begin, u32* end);

// Replaces cells[begin, end) of a set holding `count` cells by run[0..n),
// moving the cells after them. The caller checks that count - (end - begin)
// + n fits the set's capacity.
void ReplaceCellRun(u64* cells, u32 count, u32 begin, u32 end, const u64* run, u32 n);

// Whether `set`, read without its word's lock, holds a cell with `key` that
// covers `bits`. Looks at *position first, and if that is below
// `published_count` (the count its word's handle carries: Cell::MakeHandle)
// without reading the set's header; then walks to the cells of the key's
// slot and checks those, updating *position on a hit. A set changed
// meanwhile can only make it miss; whether the set still belongs to the word
// (with the count it published) is the caller's to check
// (shadow/shadow_word.h).
inline bool CellSetFindCovering(const CellSet* set, u32 published_count, u64 key, AccessBits bits, u32* position);
// CellSetFindCovering's first look alone: the cell at `position`, if that is
// below `published_count`. No walk, no header: few enough registers for the
// access path's inline part.
inline bool CellSetCoversAt(const CellSet* set, u32 published_count, u32 position, u64 key, AccessBits bits);

// ---- Read sets ---------------------------------------------------------------
//
// The compact form of a set whose cells are, but for at most
// kReadSetMaxExtras others, plain reads of the same bytes, of one
// generation, one per slot, with their epochs in an epoch snapshot
// (shadow/epoch_snapshot.h): the shape of a word many goroutines read
// between writes (the extras: the write they all read, a reader of other
// bytes). 64 bytes whatever the number of readers (an explicit set of 48
// readers takes 528), so a table read by every goroutine keeps its sets in
// the caches. It holds exactly the cells the explicit form would: slot s's
// read cell is Cell::Make(s, snapshot.epochs[s], snapshot.generation, read
// of the read mask); nothing is folded or dropped.
//
// Layout: one cache line (a size class of its own, carved on line
// boundaries): the header with next_free the snapshot; cells[0..4) the map
// of the slots whose read cells it holds; cells[4] the read mask (bits 0..7,
// 0 once the set is freed) under a sequence (bits 8..63), odd while the set
// changes, that never goes back (the memory is only ever a read set's);
// cells[5..7) the extras (0: none). count is the number of cells. Its
// word's primary holds Cell::MakeReadSetHandle. Changed only with the word
// locked; the lock-free covering check (ReadSetCovers) reads it as a
// sequence lock.
constexpr u32 kReadSetSlotWords = kSlotCount / 64;
constexpr u32 kReadSetSequenceIndex = kReadSetSlotWords;
constexpr u32 kReadSetFirstExtra = kReadSetSequenceIndex + 1;
constexpr u32 kReadSetMaxExtras = 2;
constexpr u32 kReadSetCells = kReadSetFirstExtra + kReadSetMaxExtras;
// The most cells a read set holds (one read per slot, and the extras).
constexpr u32 kReadSetMaxCells = kSlotCount + kReadSetMaxExtras;
constexpr u64 kReadSetMaskBits = 0xff;
constexpr u64 kReadSetSequenceStep = u64{1} << 8;
// The bytes a read set's reads read (under its word's lock).
inline u8 ReadSetMask(const CellSet* set) {
  return static_cast<u8>(RelaxedLoad(set->cells[kReadSetSequenceIndex]));
}
// A set with this many read cells may start a new epoch snapshot when the
// current one does not fit them (smaller ones only use the current one).
constexpr u32 kReadSetNewSnapshotReaders = 8;

// Under the set's word lock (or with the set otherwise unreachable).
inline bool CellSetIsReadSet(const CellSet* set) { return set->size_class == kCellSetClassCount; }
// A read set's cells (read cells sorted by slot, then the extras) into
// out[0..count); returns count (at most kReadSetMaxCells).
u32 ReadSetCells(const CellSet* set, u64* out);
// Under the word's lock: stores cells[0..count) as a read set if they have
// the form and an epoch snapshot fits their reads: in place of the read set
// `handle` if its snapshot fits them (then the same handle is returned),
// else in a new one (the caller frees `handle`). Returns the read set's
// handle, or 0 with nothing changed.
u32 StoreAsReadSet(u32 handle, const u64* cells, u32 count);
// Under the word's lock: a read set's extras into out[0..count) (at most
// kReadSetMaxExtras); returns count.
u32 ReadSetExtras(const CellSet* set, u64* out);
// Under the word's lock: whether the read set's map holds a cell with `key`.
bool ReadSetMapHasKey(const CellSet* set, u64 key);
// Under the word's lock: replaces a read set's extras with cells[0..count),
// except that a plain read of the map's bytes and generation by a slot the
// map lacks, whose epoch fits the snapshot, joins the map. The map's cells
// stay as they are. False, with nothing changed, if that leaves more extras
// than the set holds, or a cell with the key of a map cell.
bool ReadSetReplaceExtras(CellSet* set, const u64* cells, u32 count);
// The word's summary of a read set, kept in its secondary shadow word (which
// a word holding a handle does not otherwise use) so that the covering check
// of most readers reads no set at all. For a set whose read mask is a whole
// word (loads of 8-byte values, struct copies) or one byte (Go's scalar
// reads, which the runtime models as a 1-byte access at the value's
// address): bits 0..51 the map of the set's slots that have a place in the
// snapshot's claim order (bit p: the slot placed p-th, SnapshotClaimPlace),
// bits 52..55 the read mask's code (ReadSetSummaryMaskCode), bits 56..63 the
// snapshot (which a set keeps for life; kEpochSnapshotCount fits 8 bits).
// 0 (no slot) for other sets. Placed by claim order rather than by slot
// number so that a phase's readers are in the map wherever their slots are.
constexpr u32 kReadSetSummarySlots = kEpochSnapshotPlacedClaims;
constexpr unsigned kReadSetSummaryMaskShift = kReadSetSummarySlots;
constexpr unsigned kReadSetSummarySnapshotShift = 56;
static_assert(kEpochSnapshotCount <= 256, "a snapshot's number fits the summary's 8 bits");
static_assert(kReadSetSummaryMaskShift + 4 == kReadSetSummarySnapshotShift && kReadSetSummarySnapshotShift + 8 == 64,
              "the slot map, the mask's code and the snapshot tile the summary");
// A read mask as the summary's 4-bit code: 0 for the whole word, 1 + i for
// byte i alone; kNoSummaryMaskCode for any other mask.
constexpr u32 kNoSummaryMaskCode = 16;
constexpr u32 ReadSetSummaryMaskCode(u8 read_mask) {
  if (read_mask == 0xff) return 0;
  if (read_mask != 0 && (read_mask & (read_mask - 1)) == 0) return 1 + static_cast<u32>(__builtin_ctz(read_mask));
  return kNoSummaryMaskCode;
}
constexpr u8 ReadSetSummaryMask(u64 summary) {
  const u32 code = static_cast<u32>(summary >> kReadSetSummaryMaskShift) & 0xf;
  return code == 0 ? u8{0xff} : static_cast<u8>(1u << (code - 1));
}
static_assert(ReadSetSummaryMask(u64{ReadSetSummaryMaskCode(0xff)} << kReadSetSummaryMaskShift) == 0xff);
static_assert(ReadSetSummaryMask(u64{ReadSetSummaryMaskCode(0x01)} << kReadSetSummaryMaskShift) == 0x01);
static_assert(ReadSetSummaryMask(u64{ReadSetSummaryMaskCode(0x80)} << kReadSetSummaryMaskShift) == 0x80);
static_assert(ReadSetSummaryMaskCode(0x81) == kNoSummaryMaskCode && ReadSetSummaryMaskCode(0) == kNoSummaryMaskCode);
// What a word's read set was before a change, for the new summary: the
// summary the word held and the set's slot map. If the set after the change
// has the same snapshot and read mask, the summary is brought up to date over
// the slots that changed (one, for a new reader) instead of recomputed over
// every reader.
struct ReadSetBefore {
  u64 summary = 0;  // 0: none (recompute)
  u64 slots[kReadSetSlotWords] = {};
};
inline ReadSetBefore ReadSetBeforeChange(const CellSet* set, u64 summary) {
  ReadSetBefore before{summary, {}};
  for (u32 w = 0; w < kReadSetSlotWords; w++) before.slots[w] = set->cells[w];
  return before;
}
inline u64 ReadSetSummary(const CellSet* set, const ReadSetBefore& before = {}) {
  const u32 code = ReadSetSummaryMaskCode(ReadSetMask(set));
  if (code == kNoSummaryMaskCode) return 0;
  const u64 header = (u64{code} << kReadSetSummaryMaskShift) | (u64{set->next_free} << kReadSetSummarySnapshotShift);
  constexpr u64 kPlacedBits = (u64{1} << kReadSetSummarySlots) - 1;
  // Unless the summary before is of the same snapshot and mask, every slot
  // is looked at.
  const bool incremental = before.summary != 0 && (before.summary & ~kPlacedBits) == header;
  const EpochSnapshot& snapshot = EpochSnapshotAt(set->next_free);
  u64 placed = incremental ? before.summary & kPlacedBits : 0;
  for (u32 w = 0; w < kReadSetSlotWords; w++) {
    const u64 now = set->cells[w];
    for (u64 changed = incremental ? now ^ before.slots[w] : now; changed != 0; changed &= changed - 1) {
      const u32 bit = static_cast<u32>(__builtin_ctzll(changed));
      const u32 place = SnapshotClaimPlace(snapshot, static_cast<Sid>(w * 64 + bit));
      if (place >= kReadSetSummarySlots) continue;
      if ((now >> bit) & 1) {
        placed |= u64{1} << place;
      } else {
        placed &= ~(u64{1} << place);
      }
    }
  }
  return placed | header;
}
// Lock-free: whether a read set's word whose secondary word is `summary`
// (ReadSetSummary, read after the handle) holds a cell with `key` covering
// `bits`, by the summary alone; false if the summary cannot say (the caller
// then asks ReadSetCovers).
inline bool ReadSetSummaryCovers(u64 summary, u64 key, AccessBits bits) {
  if (bits.is_write) return false;
  const Sid sid = Cell(key).sid();
  const EpochSnapshot& s = EpochSnapshotAt(static_cast<u32>(summary >> kReadSetSummarySnapshotShift));
  const u32 place = SnapshotClaimPlace(s, sid);
  if (place >= kReadSetSummarySlots || ((summary >> place) & 1) == 0) return false;
  const u8 mask = ReadSetSummaryMask(summary);
  if ((bits.mask & ~mask) != 0) return false;
  return SnapshotReadCell(s, sid, mask).key() == key;
}
// Lock-free: whether `set`, a read set when its word's handle was read,
// holds a cell with `key` covering `bits`. Trusts only a consistent read
// (the sequence unchanged); whether the set still belongs to the word is the
// caller's to check, as for CellSetFindCovering.
inline bool ReadSetCovers(const CellSet* set, u64 key, AccessBits bits);

// Address space the arena reserves on first use (committed only where touched):
// 64 GiB unless SetCellSetArenaSize chose less (under an address-space limit).
uptr CellSetArenaReservation();
// Before the first set is allocated (under an address-space limit): let the
// arena hold at most `bytes` (rounded down to 1 MiB, at most the default), and
// map it in 16 MiB steps as sets are carved instead of reserving it at once.
void SetCellSetArenaSize(uptr bytes);

// For tests only (no runtime code reads them): bytes of the sets allocated
// and not freed, and how many such sets there are.
uptr CellSetBytesInUseForTesting();
uptr CellSetCountForTesting();

// Of an explicit set (a read set's class has no entry).
inline u32 CellSet::capacity() const {
  RACERT_DCHECK(size_class < kCellSetClassCount);
  return kCellSetCapacity[size_class];
}

namespace cell_set_detail {
// The arena's address; set once, before the first handle is handed out, so
// any handle read from a shadow word comes after it.
extern std::atomic<uptr> arena_base;
}  // namespace cell_set_detail

inline CellSet* CellSetFromHandle(u32 handle) {
  uptr base = cell_set_detail::arena_base.load(std::memory_order_acquire);
  return reinterpret_cast<CellSet*>(base + uptr{handle} * kCellSetHandleUnit);
}

inline bool CellSetCoversAt(const CellSet* set, u32 published_count, u32 position, u64 key, AccessBits bits) {
  // Below the count the handle published, the cell is within the set's
  // capacity whatever happened to the set since.
  return position < published_count && Cell(RelaxedLoad(set->cells[position])).Covers(key, bits);
}

inline bool CellSetFindCovering(const CellSet* set, u32 published_count, u64 key, AccessBits bits, u32* position) {
  auto cell_at = [set](u32 i) { return Cell(RelaxedLoad(set->cells[i])); };
  // The usual case: where it was last time.
  if (CellSetCoversAt(set, published_count, *position, key, bits)) return true;
  // Even in a stale set, count is within the capacity: a set's memory keeps
  // its size class for good (cell_set.cpp), and count never exceeds it.
  const u32 count = RelaxedLoad(set->count);
  RACERT_DCHECK(count <= set->capacity());
  if (count == 0) return false;
  // Walk from there to the first cell of the key's slot, then check that
  // slot's cells.
  u32 i = *position < count ? *position : count - 1;
  const Sid sid = Cell(key).sid();
  if (cell_at(i).sid() < sid) {
    do {
      if (++i == count) return false;
    } while (cell_at(i).sid() < sid);
  } else {
    while (i > 0 && cell_at(i - 1).sid() >= sid) i--;
  }
  for (; i < count; i++) {
    Cell c = cell_at(i);
    if (c.sid() != sid) return false;
    if (c.Covers(key, bits)) {
      *position = i;
      return true;
    }
  }
  return false;
}

inline bool ReadSetCovers(const CellSet* set, u64 key, AccessBits bits) {
  const Sid sid = Cell(key).sid();
  const u64* sequence = &set->cells[kReadSetSequenceIndex];
  const u64 before = AcquireLoad(*sequence);
  if (before & kReadSetSequenceStep) return false;
  const u8 mask = static_cast<u8>(before & kReadSetMaskBits);
  const u32 snapshot = RelaxedLoad(set->next_free);
  const u64 slots = RelaxedLoad(set->cells[sid / 64]);
  if (mask == 0 || snapshot >= kEpochSnapshotCount) return false;
  bool found = false;
  if (!bits.is_write && (bits.mask & ~mask) == 0 && ((slots >> (sid % 64)) & 1) != 0) {
    // The key's atomicity is checked by the comparison.
    found = SnapshotReadCell(EpochSnapshotAt(snapshot), sid, mask).key() == key;
  }
  for (u32 i = 0; !found && i < kReadSetMaxExtras; i++) {
    found = Cell(RelaxedLoad(set->cells[kReadSetFirstExtra + i])).Covers(key, bits);
  }
  // Unchanged meanwhile: the set referred to that snapshot all along, whose
  // entries do not change while referred to (epoch_snapshot.h).
  std::atomic_thread_fence(std::memory_order_acquire);
  return found && RelaxedLoad(*sequence) == before;
}

}  // namespace racert
