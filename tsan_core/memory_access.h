// The race check: every instrumented load and store ends up here.
//
// Hot path (inline): load the primary shadow word; if it already records this
// access for this goroutine's (slot, epoch), return. That is one load and a
// compare for the typical repeated access. Everything else goes to the
// out-of-line slow path, which checks the recorded cells against the
// goroutine's clock, reports a race if one is concurrent and conflicting, and
// updates the word: a compare-and-swap for one cell, a short lock state of the
// primary word for two (the second lives in the secondary word), a CellSet's
// mutex for three or more.
#pragma once

#include "base/types.h"
#include "shadow/shadow_cell.h"
#include "shadow/shadow_map.h"
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
// event is recorded here only if the shadow changes.
void AtomicAccess(GoroutineState* g, uptr addr, uptr size, bool is_write, uptr pc, u64 key_at_access,
                  bool history_recorded);
void RecordAccessHistory(GoroutineState* g, uptr addr, uptr size, bool is_write, bool is_atomic, uptr pc);

// Slow path of a 1-byte access whose shadow word did not already record it.
void AccessWordSlow(GoroutineState* g, uptr addr, uptr size, AccessBits bits, uptr pc);

// A 1-byte plain access (Go models every scalar access as one byte).
RACERT_ALWAYS_INLINE void AccessByte(GoroutineState* g, uptr addr, bool is_write, uptr pc) {
  AccessBits bits{static_cast<u8>(1u << (addr & 7)), is_write, false};
  u64 observed = ShadowWordFor(addr)->load(std::memory_order_relaxed);
  if (RACERT_LIKELY(Cell(observed).Covers(g->plain_key, bits))) return;
  AccessWordSlow(g, addr, 1, bits, pc);
}

// Forgets every access recorded in [addr, addr + size) (fresh or freed memory).
void ResetShadowRange(uptr addr, uptr size);

}  // namespace racert
