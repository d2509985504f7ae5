// Happens-before edges. T is the goroutine's clock, S the clock stored at the
// sync address:
//   Acquire          T = max(T, S)                  (no-op if nothing released there)
//   Release          S = T; new epoch               (a store: earlier releasers are dropped)
//   ReleaseMerge     S = max(S, T); new epoch
//   ReleaseAcquire   S' = T; T = max(T, S); new epoch
//   AcquireRelease   S = T = max(S, T); new epoch   (atomic read-modify-write: AtomicSynchronize only)
// All are no-ops while the goroutine ignores synchronization.
#pragma once

#include "base/types.h"
#include "tsan_core/goroutine.h"

namespace racert {

void Acquire(GoroutineState* g, uptr addr);
void Release(GoroutineState* g, uptr addr);
void ReleaseMerge(GoroutineState* g, uptr addr);
void ReleaseAcquire(GoroutineState* g, uptr addr);

// Atomic operations: `operation` (the hardware operation; returns whether it
// succeeded, which matters for compare-and-swap) runs under the sync
// object's lock together with its happens-before effect:
//   kLoad              acquire
//   kStore             release (S = T)
//   kReadModifyWrite   acquire + release (S = T = max(S, T))
//   kCompareExchange   read-modify-write on success, acquire on failure
// While g ignores synchronization the operation runs alone. A load is tried
// first without any lock: when its acquire would change nothing (the value
// and the sync object's stamp read at one moment, and g knows the release
// the stamp names) that is all; otherwise it runs again under the lock, so
// a load's operation may run twice.
// *key_before_release gets g's atomic cell key once g holds its slot and
// before a release advances its epoch: the key a writing operation's access
// belongs to. Taking the key earlier is wrong when attaching moved g to
// another slot or, after a reset, to a new generation with its clock dropped.
enum class AtomicSemantics { kLoad, kStore, kReadModifyWrite, kCompareExchange };
bool AtomicSynchronize(GoroutineState* g, uptr addr, AtomicSemantics semantics, bool (*operation)(void*), void* arg,
                       u64* key_before_release);

// Ignore-sync regions nest. While g is in one, every operation above (and
// the edge from a parent to a goroutine it starts) is a no-op. An end without
// a begin is ignored: Go's runtime does not always pair them.
RACERT_ALWAYS_INLINE bool IgnoringSync(const GoroutineState* g) { return g->ignore_sync_depth > 0; }
RACERT_ALWAYS_INLINE void IgnoreSyncBegin(GoroutineState* g) { g->ignore_sync_depth++; }
RACERT_ALWAYS_INLINE void IgnoreSyncEnd(GoroutineState* g) {
  if (g->ignore_sync_depth > 0) g->ignore_sync_depth--;
}

// Acquires the current epoch of every slot: everything that happened anywhere
// before this point happens before g's next step (finalizers).
void AcquireEverything(GoroutineState* g);

}  // namespace racert
