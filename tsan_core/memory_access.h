// The race check: every instrumented load and store ends up here.
//
// Hot path (inline): load the primary shadow word; if it already records this
// access for this goroutine's (slot, epoch), return. That is one load and a
// compare for the typical repeated access. A word that is empty or holds only
// this goroutine's current cell is updated inline with one compare-and-swap.
// Everything else goes to the out-of-line slow path: the race rules
// (access_rules.h) applied under the shadow word protocol
// (shadow/shadow_word.h), then the report of any race found.
#pragma once

#include "base/types.h"
#include "shadow/shadow_cell.h"
#include "shadow/shadow_map.h"
#include "shadow/shadow_word.h"
#include "tsan_core/access_rules.h"
#include "tsan_core/byte_accumulator.h"
#include "tsan_core/goroutine.h"

namespace racert {

// Runtime-wide switches read by the access path.
struct AccessOptions {
  bool report_atomic_races;  // report atomic vs plain conflicts
};
extern AccessOptions g_access_options;

// Any access: [addr, addr + size), size > 0, any alignment.
void AccessRange(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc);

// An atomic access by g, stamped with `key_at_access`: g's cell key when the
// operation happened, before the release half of the operation advanced g's
// epoch. The check runs after the acquire half, so the previous atomic
// operations this one is ordered after are subsumed rather than piling up.
// If the operation advanced g's epoch (a release), the caller must have
// recorded the history event beforehand (RecordAccessHistory, while g's
// history was still at that epoch) and pass history_recorded; otherwise the
// event is recorded here only if the shadow changes. g's innermost frame is
// the operation's caller frame, pushed for this access only (atomic_ops.h):
// its history event carries it (RecordAccessHistory).
void AtomicAccess(GoroutineState* g, uptr addr, uptr size, bool is_write, uptr pc, u64 key_at_access,
                  bool history_recorded);
// Records the history event of g's access. `innermost_in_event`: g's
// innermost frame goes into the event, not the trace (History::AddAccess):
// for a frame pushed around one access only.
void RecordAccessHistory(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc,
                         bool innermost_in_event);

// A 1-byte plain access to the word g accumulates in that its accumulator
// cannot take (a write after reads of the word, the `counter++` under a lock;
// a word changed by someone else; a new call stack): g's pending bytes there
// are published first, then the access goes through tiers 3 to 5 of
// AccessByte like any other.
void AccessByteInAccumulatedWord(GoroutineState* g, uptr addr, bool is_write, uptr pc);

// Whether the access can be recorded with a single compare-and-swap of the
// primary word and no race check: the word records nothing yet, or only the
// accessor's own cell (no paired secondary cell, not a cell set), for its
// current epoch or for an earlier epoch of the slot it still owns whose
// bytes the access subsumes all of (the rules would drop that cell:
// RewriteOrderedCell). Then no other access is recorded, so none can race.
// This is the shape of a word first written after malloc, of a word filled
// byte by byte by one goroutine, and of a goroutine's own variable written
// again after each synchronization. `own_first`: the first epoch of the
// key's slot that is the goroutine's (OwnedEpochsFrom). Returns the new
// primary value, or 0 if the word needs the general path.
RACERT_ALWAYS_INLINE u64 AloneInWordUpdate(u64 observed, u64 key, AccessBits bits, Epoch own_first) {
  if (observed == 0) return MergeIntoOwnCell(Cell(key), bits);
  // A handle or the locked state never matches a key: those have generation
  // 0, which no key has. The paired bit is outside key() and checked apart.
  const Cell current(observed);
  if (current.is_paired()) return 0;
  if (current.key() == key) return MergeIntoOwnCell(current, bits);
  const Cell mine(key);
  if (current.sid() != mine.sid() || current.generation() != mine.generation() || current.is_atomic() ||
      mine.is_atomic() || current.epoch() < own_first || current.epoch() >= mine.epoch()) {
    return 0;
  }
  return LeftAfterSubsuming(current, bits).any_mask() == 0 ? MergeIntoOwnCell(mine, bits) : 0;
}

// AloneInWordUpdate's `own_first` when no earlier cell is to be replaced.
constexpr Epoch kNoOwnedEpochs = ~Epoch{0};

// The first epoch of `key`'s slot whose cells are g's own accesses, for
// AloneInWordUpdate: kNoOwnedEpochs if g no longer owns the slot.
RACERT_ALWAYS_INLINE Epoch OwnedEpochsFrom(const GoroutineState* g, u64 key) {
  return g->has_slot && g->sid == Cell(key).sid() ? g->slot_first_epoch : kNoOwnedEpochs;
}

// Tiers 3 to 5 of AccessByte (below), for an access tiers 1 and 2 did not
// take; `observed` is the primary word's value AccessByte read. Out of line,
// entered by a tail jump: the registers these tiers need would otherwise be
// saved and restored on every access, tier 1's included (five pushes and
// pops around its one compare). One per access kind, so that is_write is a
// constant inside.
void ReadByteNotAccumulated(GoroutineState* g, uptr addr, uptr pc, u64 observed);
void WriteByteNotAccumulated(GoroutineState* g, uptr addr, uptr pc, u64 observed);

// A 1-byte plain access (Go models every scalar access as one byte).
//   1. Already recorded for this goroutine's epoch: one load and a compare.
//   2. The word this goroutine accumulates in, unchanged since it last
//      looked (the next byte of a byte loop): merged into its private cell
//      and announced with plain stores, then the word loaded again
//      (tsan_core/byte_accumulator.h). No locked instruction.
//   3. Alone in the word (fresh memory, the first byte of a word in a byte
//      loop, the goroutine's own earlier cell that the access covers): record
//      the history event (OR-ed into the previous one for the next byte of
//      the same loop) and compare-and-swap the new cell; then
//      accumulate further bytes of this word (2). Still call-free, but for
//      publishing the previous word's accumulated bytes if that fails.
//   4. A cell set already holding this goroutine's cell (a word read by many
//      goroutines between writes): found where it was in the last set, and
//      the word loaded again (CellSetWordRecords). Loads only.
//   4b. Inline cells of other goroutines (or older ones of its own), none
//      racing with the access and none with bytes pending elsewhere (a field
//      handed over through a channel or a lock): the race-free rules and one
//      publish, without the slow path's state for races (out of line,
//      AccessByteInlineCells in memory_access.cpp); then accumulate (2).
//   4c. A read whose goroutine's read of the same byte from an earlier epoch
//      is in an explicit cell set that nothing races with (a word read by a
//      few goroutines, each in a new epoch every time: RWMutex readers):
//      that cell replaced in place under the word's lock
//      (ReadByteReplacingEarlierRead in memory_access.cpp).
//   5. Anything else: the out-of-line slow path.
// Tiers 1 and 2 and tier 4's first look are the loops' common cases and
// need (almost) no callee-saved register; the rest is entered by a jump
// (ReadByteNotAccumulated, WriteByteNotAccumulated).
RACERT_ALWAYS_INLINE void AccessByte(GoroutineState* g, uptr addr, bool is_write, uptr pc) {
  const AccessBits bits{static_cast<u8>(1u << (addr & 7)), is_write, false};
  std::atomic<u64>* word = ShadowWordFor(addr);
  const u64 observed = word->load(std::memory_order_relaxed);
  if (RACERT_LIKELY(Cell(observed).Covers(g->plain_key, bits))) return;
  if (g->acc_word == (addr & ~uptr{7})) {
    if (RACERT_LIKELY(observed == g->acc_published && CanAccumulate(observed, bits))) {
      if (Cell(g->acc_value).Covers(g->plain_key, bits)) return;
      if (RACERT_LIKELY(g->history.TryAddByteAccessOnSameStack(g->call_stack.size(), g->stable_depth, addr,
                                                               is_write, pc))) {
        AnnounceAccumulatedByte(g, bits);
        if (RACERT_LIKELY(word->load(std::memory_order_relaxed) == observed)) return;
        ResolveAccumulated(g);  // the word changed: check what is pending now (rule 1)
        return;
      }
    }
    AccessByteInAccumulatedWord(g, addr, is_write, pc);
    return;
  }
  if (Cell(observed).is_handle() && CellSetWordRecordsAt(word, observed, g->plain_key, bits, g->cell_set_position)) {
    return;  // tier 4's usual case: the cell where it was in the last set
  }
  if (is_write) {
    WriteByteNotAccumulated(g, addr, pc, observed);
  } else {
    ReadByteNotAccumulated(g, addr, pc, observed);
  }
}

// Forgets every access recorded in [addr, addr + size) (fresh or freed memory).
void ResetShadowRange(uptr addr, uptr size);

}  // namespace racert
