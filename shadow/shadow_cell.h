// One shadow cell: the record of accesses to one 8-byte application word made
// by one goroutine slot in one epoch.
//
// The primary shadow word of an application word (see shadow/shadow_map.h)
// holds one of:
//   - 0: no access recorded;
//   - a direct cell (below). If its `paired` bit is set, the secondary shadow
//     word holds a second direct cell (and, in low-range words, a third may
//     be in the tertiary word: shadow/shadow_word.h);
//     otherwise the other words are meaningless. The primary cell is the most
//     recent accessor's, so the hot path finds repeated accesses there;
//   - a handle to an out-of-line CellSet, when more cells must be kept than
//     the inline words hold (see shadow/cell_set.h);
//   - kLockedWord, while one thread rewrites a paired word (the two words
//     cannot be swapped atomically together; everyone else waits).
// Cells are not evicted to make room: that is what lets racert promise the
// first race on every word. The one exception is a word whose cells, after
// folding, exceed a cell set's largest capacity (8,192: thousands of distinct
// concurrent readers of one word), where the oldest read goes
// (MakeRoomInFullWord in tsan_core/access_rules.cpp).
//
// Direct cell layout (64 bits):
//   bits  0..7   write mask: byte i of the word was written
//   bits  8..15  read mask:  byte i of the word was read
//   bit   16     atomic: all accesses in this cell were sync/atomic operations
//   bits 17..24  slot id of the accessing goroutine
//   bits 25..30  reset generation (see tsan_core/slot_pool.h); 0 is never valid
//   bit   31     paired: the secondary word holds another cell (primary only)
//   bits 32..63  epoch of the slot at the time of the access (never 0)
// Invariant: a direct cell has a non-zero byte mask. A word whose masks are
// zero but which is not 0 is a CellSet handle or kLockedWord.
//
// Handle layout: bits 32..63 the set's handle, bit 16 set (kHandleTag),
// bits 17..24 (a cell's slot field) the set's cell count when the handle
// was stored, capped at 255 (published_count): a reader can look at the
// cells below it without reading the set's header, one cache line fewer on
// a word read by many goroutines; 0 for a read set (shadow/cell_set.h), the
// compact form, whose cells are elsewhere. Everything else is 0; in particular the
// generation, so that no goroutine's key matches a handle.
#pragma once

#include "base/types.h"
#include "shadow/access_identity.h"

namespace racert {

// The generation field's width in a cell (bits 25..30 above).
constexpr Generation kGenerationMask = 0x3f;

// The access being checked, already in cell form (one bit per touched byte).
struct AccessBits {
  u8 mask;       // bytes of the word touched
  bool is_write;
  bool is_atomic;
};

class Cell {
 public:
  constexpr Cell() : raw_(0) {}
  constexpr explicit Cell(u64 raw) : raw_(raw) {}

  static constexpr Cell Make(Sid sid, Epoch epoch, Generation gen, AccessBits access) {
    u64 masks = access.is_write ? access.mask : (u64{access.mask} << kReadShift);
    return Cell(masks | (u64{access.is_atomic} << kAtomicShift) | (u64{sid} << kSidShift) |
                (u64{gen} << kGenShift) | (u64{epoch} << kEpochShift));
  }
  static constexpr Cell MakeHandle(u32 handle, u32 count) {
    u64 published = count < kMaxPublishedCount ? count : kMaxPublishedCount;
    return Cell((u64{handle} << kEpochShift) | (published << kSidShift) | kHandleTag);
  }

  // A read set's handle (shadow/cell_set.h): published count 0, which no
  // explicit set's handle has (a set holds more cells than the inline words).
  static constexpr Cell MakeReadSetHandle(u32 handle) { return MakeHandle(handle, 0); }

  constexpr u64 raw() const { return raw_; }
  constexpr bool empty() const { return raw_ == 0; }
  constexpr bool is_handle() const { return raw_ != 0 && (raw_ & kMaskBits) == 0 && raw_ != kLockedWord; }
  constexpr bool is_locked() const { return raw_ == kLockedWord; }
  constexpr bool is_read_set_handle() const { return is_handle() && published_count() == 0; }
  constexpr bool is_paired() const { return (raw_ & kPairedBit) != 0; }
  constexpr Cell WithPaired(bool paired) const { return Cell(paired ? raw_ | kPairedBit : raw_ & ~kPairedBit); }
  constexpr u32 handle() const { return static_cast<u32>(raw_ >> kEpochShift); }
  // Of a handle: how many of the set's cells were in use when it was stored
  // (at most kMaxPublishedCount).
  constexpr u32 published_count() const { return static_cast<u8>(raw_ >> kSidShift); }

  constexpr u8 write_mask() const { return static_cast<u8>(raw_); }
  constexpr u8 read_mask() const { return static_cast<u8>(raw_ >> kReadShift); }
  constexpr u8 any_mask() const { return write_mask() | read_mask(); }
  constexpr bool is_atomic() const { return (raw_ >> kAtomicShift) & 1; }
  constexpr Sid sid() const { return static_cast<Sid>(raw_ >> kSidShift); }
  constexpr Generation generation() const { return static_cast<Generation>((raw_ >> kGenShift) & kGenerationMask); }
  constexpr Epoch epoch() const { return static_cast<Epoch>(raw_ >> kEpochShift); }

  // The identity part (slot, epoch, generation, atomicity) without the masks
  // and the paired bit: two cells with the same key can be merged by OR-ing
  // their masks.
  constexpr u64 key() const { return raw_ & ~(kMaskBits | kPairedBit); }
  constexpr Cell WithMasks(u8 write_mask, u8 read_mask) const {
    return Cell(key() | write_mask | (u64{read_mask} << kReadShift));
  }

  // Whether `access` conflicts with the accesses recorded here, ignoring
  // ordering: overlapping bytes, at least one write, not both atomic.
  constexpr bool ConflictsWith(AccessBits access) const {
    if (access.is_atomic && is_atomic()) return false;
    u8 conflicting = access.is_write ? any_mask() : write_mask();
    return (conflicting & access.mask) != 0;
  }
  // Whether this cell already says everything `access` would record: then
  // the access needs no shadow update at all (the hot path's early exit).
  constexpr bool Covers(u64 my_key, AccessBits access) const {
    u8 recorded = access.is_write ? write_mask() : any_mask();
    return key() == my_key && (recorded & access.mask) == access.mask;
  }

  constexpr bool operator==(const Cell& other) const { return raw_ == other.raw_; }

  static constexpr unsigned kReadShift = 8;
  static constexpr unsigned kAtomicShift = 16;
  static constexpr unsigned kSidShift = 17;
  static constexpr unsigned kGenShift = 25;
  static constexpr unsigned kEpochShift = 32;
  static constexpr unsigned kPairedShift = 31;
  static constexpr u64 kMaskBits = 0xffff;
  static constexpr u64 kPairedBit = u64{1} << kPairedShift;
  static constexpr u64 kHandleTag = u64{1} << kAtomicShift;  // any non-mask bit works
  static constexpr u32 kMaxPublishedCount = 255;  // what the slot field holds
  // No handle is ever 0xffffffff (the cell-set arena is smaller).
  static constexpr u64 kLockedWord = (u64{0xffffffff} << kEpochShift) | kHandleTag;

 private:
  u64 raw_;
};

// The layout above, checked: the fields tile the 64 bits without overlap,
// each is wide enough for its values, and the special words can never be
// taken for a cell or matched by a goroutine's key.
namespace cell_layout {
constexpr u64 Field(unsigned shift, unsigned width) { return ((u64{1} << width) - 1) << shift; }
constexpr u64 kWriteMask = Field(0, 8);
constexpr u64 kReadMask = Field(Cell::kReadShift, 8);
constexpr u64 kAtomic = Field(Cell::kAtomicShift, 1);
constexpr u64 kSid = Field(Cell::kSidShift, 8);
constexpr u64 kGeneration = Field(Cell::kGenShift, 6);
constexpr u64 kPaired = Field(Cell::kPairedShift, 1);
constexpr u64 kEpoch = Field(Cell::kEpochShift, 32);
static_assert((kWriteMask | kReadMask) == Cell::kMaskBits, "the masks are the low 16 bits");
static_assert((kWriteMask ^ kReadMask ^ kAtomic ^ kSid ^ kGeneration ^ kPaired ^ kEpoch) == ~u64{0} &&
                  (kWriteMask | kReadMask | kAtomic | kSid | kGeneration | kPaired | kEpoch) == ~u64{0},
              "cell fields must tile the word exactly");
static_assert(kPaired == Cell::kPairedBit, "paired bit");
static_assert(kSlotCount == (u64{1} << 8), "a slot id fills its 8-bit field");
static_assert(kGenerationMask == (kGeneration >> Cell::kGenShift), "the generation mask is the field's width");
static_assert(sizeof(Epoch) * 8 == 32, "epochs fill the upper half");
// A handle and kLockedWord have no mask bits (so they are no direct cell)
// and generation 0 (which no key has, so no key matches them).
static_assert((Cell::kHandleTag & Cell::kMaskBits) == 0 && (Cell::kHandleTag & kGeneration) == 0, "handle tag");
static_assert((Cell::kLockedWord & (Cell::kMaskBits | kGeneration | kPaired)) == 0, "locked word");
static_assert(Cell::MakeHandle(1, 100000).published_count() == Cell::kMaxPublishedCount &&
                  Cell::MakeHandle(1, 7).published_count() == 7 && Cell::MakeHandle(1, 100000).generation() == 0,
              "a handle's published count fits the slot field and leaves the generation 0");
static_assert(Cell::MakeReadSetHandle(5).is_read_set_handle() && !Cell::MakeHandle(5, 3).is_read_set_handle() &&
                  !Cell::MakeHandle(5, 100000).is_read_set_handle(),
              "a read set's handle differs from any explicit set's by its published count of 0");
static_assert(Cell::MakeHandle(0xfffffffe, 0).is_handle() && !Cell(Cell::kLockedWord).is_handle(),
              "the locked word is the one value that looks like the largest handle");
}  // namespace cell_layout

// The key a goroutine stamps its cells with; precomputed per goroutine and
// refreshed whenever its slot, epoch or the generation changes.
constexpr u64 CellKey(Sid sid, Epoch epoch, Generation gen, bool is_atomic) {
  return Cell::Make(sid, epoch, gen, AccessBits{0, false, is_atomic}).raw();
}

}  // namespace racert
