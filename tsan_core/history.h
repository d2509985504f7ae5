// Per-goroutine access history: what a goroutine did, recorded compactly so
// that the stack of an earlier access can be rebuilt for a race report.
//
// Only accesses that change the shadow are recorded (a repeated access in the
// same epoch adds nothing), and calls are recorded lazily: func_enter/exit
// only move the shadow call stack; the trace learns about the stack when an
// access is recorded, as "pop to depth d, push these pcs". Calls that return
// without a recorded access inside leave no trace at all, so deep or hot call
// trees between two recorded accesses cost nothing here.
//
// Storage is a chain of chunks that grow from 256 bytes to 64 KiB; at most
// the window is kept per goroutine, less when all goroutines together exceed
// the global budget, and the oldest chunk is recycled first. Each chunk
// starts with a snapshot of the traced call stack, so replay can begin at any
// retained chunk.
//
// Concurrency: the owning goroutine appends; a race report on another thread
// may replay the history at the same time. Appends publish their words with a
// release store of the chunk's `used` count; chunk creation and recycling
// (the only changes to the chain) happen under `chain_mutex_`, which Restore
// also holds.
#pragma once

#include "base/internal_vector.h"
#include "base/spin_mutex.h"
#include "base/types.h"
#include "shadow/shadow_cell.h"

namespace racert {

struct HistoryChunk;

// What Restore found: the stack of the access (outermost first, access pc
// last) and the exact access.
struct RestoredAccess {
  InternalVector<uptr> stack;
  uptr addr;
  uptr size;
  bool is_write;
  bool is_atomic;
};

class History {
 public:
  // Sets how many 8-byte words of history one goroutine keeps at most.
  static void SetWindowWords(uptr words);
  static uptr WindowWords();
  // Caps the history of all goroutines together (see history.cpp).
  static void SetGlobalBudgetBytes(uptr bytes);

  // Records an access. `call_stack` is the goroutine's shadow stack (outermost
  // first); `stable_depth` is how many of its bottom frames are unchanged
  // since the last recorded event (maintained by the goroutine on exit).
  void AddAccess(const InternalVector<uptr>& call_stack, uptr* stable_depth, uptr addr, uptr size,
                 bool is_write, bool is_atomic, uptr pc);
  // Records that the goroutine now runs as (sid, epoch).
  void AddEpoch(Sid sid, Epoch epoch);

  // Finds the access recorded under (sid, epoch) that touched one of the
  // bytes in `mask` of the word at `word_addr` with the given kind.
  bool Restore(Sid sid, Epoch epoch, uptr word_addr, u8 mask, bool is_write, RestoredAccess* out) const;

  // Releases all chunks.
  void Clear();
  uptr MemoryBytes() const;

 private:
  void StartChunk(const InternalVector<uptr>& call_stack, uptr stable_depth, uptr words_if_stable);

  mutable SpinMutex chain_mutex_;
  HistoryChunk* oldest_;
  HistoryChunk* newest_;
  u64* pos_;
  u64* end_;
  uptr total_words_;
  // The call stack as a replay of the trace would have it now. An access
  // re-records only the frames above its common prefix with the current
  // stack, so a loop calling the same function from the same place records
  // no call events at all.
  InternalVector<uptr> traced_stack_;
  Sid current_sid_;
  Epoch current_epoch_;
};

}  // namespace racert
