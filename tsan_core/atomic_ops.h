// One atomic operation as the detector sees it: the hardware operation, the
// happens-before edge it makes (sync_ops.h, AtomicSynchronize) and the access
// it records (memory_access.h, AtomicAccess), in the order that keeps the
// three consistent. The caller supplies only the hardware operation and its
// shape; which operations acquire and which release is decided here.
//
// Order of one tracked operation by goroutine g at addr:
//   1. push the caller's frame (caller_pc), so the access's stack matches
//      the official runtime's (its history event carries that frame itself,
//      so the trace does not push and pop it at every operation);
//   2. an operation that writes records its history event now, while g's
//      history is still at the epoch the access belongs to (the release half
//      advances it; if g has to re-attach in step 3, after losing its slot or
//      an epoch reset, the event stays under the old epoch and that access's
//      stack cannot be restored: rare, and never a wrong stack);
//   3. run the hardware operation and its edge under the sync object's lock
//      (a load whose acquire changes nothing runs without it: sync_ops.h);
//   4. check and record the access, stamped with g's atomic key from before
//      the release, taken once step 3 holds g's slot (a write; an attach
//      there may have changed slot or generation), or as it is now (a load,
//      which releases nothing);
//   5. pop the caller's frame.
// While g ignores synchronization (Go wraps atomics on untracked memory in
// ignore-sync; RaceDisable) only the hardware operation runs: no shadow, no
// sync object, no history.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"
#include "tsan_core/sync_ops.h"

namespace racert {

struct AtomicCall {
  uptr addr;
  uptr size;                   // bytes touched at addr (4 or 8)
  AtomicSemantics semantics;   // kLoad reads; every other kind counts as a write
  bool (*operation)(void*);    // the hardware operation; true if memory was modified
                               // (a load may run more than once: sync_ops.h)
  void* operation_arg;
};

// Runs `call` on behalf of g. caller_pc is the return address into the
// atomic function's caller, pc the one inside it.
void AtomicOperation(GoroutineState* g, const AtomicCall& call, uptr caller_pc, uptr pc);

}  // namespace racert
