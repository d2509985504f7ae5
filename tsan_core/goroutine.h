// Per-goroutine detector state (Go's `racectx`).
//
// A goroutine's state is used by one OS thread at a time, but it migrates
// between threads, and another goroutine may operate on it while it is parked
// (channel handoffs acquire/release on behalf of the parked side). So nothing
// here is thread-local, and fields other than the hot access fields are only
// changed by the thread currently running on behalf of the goroutine.
//
// Memory: about 1.1 KiB (mostly the vector clock) plus the shadow call stack
// and history, independent of how many goroutines exist.
#pragma once

#include "base/internal_vector.h"
#include "base/types.h"
#include "shadow/access_identity.h"
#include "tsan_core/history.h"
#include "tsan_core/vector_clock.h"

namespace racert {

struct AccumulatorEntry;  // tsan_core/byte_accumulator.h

struct GoroutineState {
  // --- Read by every memory access. ---
  // Cell keys for plain and atomic accesses: (sid, epoch, generation). Stale
  // after the slot was taken away, which only makes races between this
  // goroutine and the slot's next owner invisible, never invents one.
  u64 plain_key;
  u64 atomic_key;
  const Epoch* clock_data;  // == clock.data(), for the race check
  // Byte accumulation (tsan_core/byte_accumulator.h): the word whose further
  // bytes this goroutine records privately (0: none), the primary value it
  // last saw there (its own cell, as published), and that cell with the
  // bytes not yet published merged in. Only this goroutine touches them.
  uptr acc_word;
  u64 acc_published;
  u64 acc_value;
  AccumulatorEntry* acc;  // the entry it has claimed, or null: no accumulation
  // Where this goroutine's cell was last found in a cell set: where it looks
  // first in the next one (shadow/cell_set.h). Any value is valid.
  u32 cell_set_position;
  History history;

  // --- Identity and slot. ---
  Sid sid;                  // meaningful while has_slot; guarded by the slot's mutex
  bool has_slot;            // false before the first attach and after the end
  Epoch epoch;              // this goroutine's current epoch on `sid`
  // Ownership of `sid`: epochs [slot_first_epoch, epoch] are this goroutine's.
  // Cells of the slot with earlier epochs belong to previous owners, and are
  // ordered before this goroutine only up to slot_inherited_epoch, what it
  // had learned of the slot through synchronization before attaching.
  Epoch slot_first_epoch;
  Epoch slot_inherited_epoch;
  u64 number;               // report number: 1 is the main goroutine
  u64 parent_number;        // report number of the goroutine that started it (0: none)
  u32 creation_stack;       // stack store id, 0 when unknown
  u32 ignore_sync_depth;    // > 0: sync operations are no-ops

  // --- Knowledge. ---
  // The clock is only meaningful within one reset generation. A reset does
  // not touch goroutine clocks (the goroutine may be checking accesses with
  // it right now); the goroutine drops its clock itself when it next attaches
  // to a slot in another generation. Until then its keys carry the old
  // generation, so it only ever compares old cells with its old clock. A
  // generation value this goroutine carries never becomes current again
  // while it lives (ResetIfRequested), so a clock of the current generation
  // is of its current turn.
  Generation clock_generation;
  VectorClock clock;
  // The first epoch of g whose releases carry the last change of `clock`
  // other than g's own entry (a join, an attach). A sync clock g released
  // to at an epoch from here on, and that nobody changed since, equals
  // `clock` but for g's own entry (sync_ops.cpp, ReleaseInto).
  Epoch clock_joined_at;

  // Shadow call stack: pcs pushed by func_enter, oldest first. Not balanced
  // in general: a recovered panic skips func_exit calls, leaving stale frames.
  InternalVector<uptr> call_stack;
  // How many bottom frames of call_stack are unchanged since the history last
  // recorded the stack (lowered by func_exit; see tsan_core/history.h).
  uptr stable_depth;

  // Intrusive list of live goroutines (for resets); guarded by the registry lock.
  GoroutineState* prev_live;
  GoroutineState* next_live;
};

}  // namespace racert
