// Synchronization objects: the release clock attached to an address that Go
// uses for acquire/release (a mutex, a channel buffer slot, a WaitGroup, an
// atomic variable...).
//
// Stored in a hash table of address -> SyncVar, created on first release and
// dropped when the memory is freed (so a new object at the same address does
// not inherit happens-before edges). A sync operation runs entirely under its
// bucket's lock; that lock is the SyncVar's lock.
#pragma once

#include "base/types.h"
#include "tsan_core/vector_clock.h"

namespace racert {

// Names the release that produced a SyncVar's clock when that clock is
// exactly the releasing goroutine's clock at (sid, epoch): a goroutine that
// already knows (sid, epoch) through the same owner of sid knows everything
// the clock holds, so its acquire has nothing to learn (sync_ops.cpp).
// Epochs start at 1, so epoch 0 (the default) means "no single release"
// (a join of several, or nothing released yet).
struct ReleaseStamp {
  Sid sid = 0;
  Epoch epoch = 0;

  bool names_a_release() const { return epoch != 0; }
};

struct SyncVar {
  uptr addr;
  SyncVar* next;
  SyncClock clock;  // zero until something released here
  ReleaseStamp stamp;

  void ResetClock() {
    clock.Reset();
    stamp = ReleaseStamp{};
  }
};

// Calls fn(sync_var, arg) with the bucket locked. With `create`, a missing
// SyncVar is created (zero clock); without, fn gets nullptr for a missing one.
// Either way fn runs under the lock, so an atomic operation done inside fn is
// ordered with every other operation on the same address.
void WithSyncVar(uptr addr, bool create, void (*fn)(SyncVar*, void*), void* arg);

// Drops every SyncVar in [begin, end).
void RemoveSyncVars(uptr begin, uptr end);

// Zeroes every SyncVar's clock (part of an epoch reset).
void ResetAllSyncClocks();

uptr SyncVarCount();
// Address space the table reserves on first use (committed only where touched).
uptr SyncTableReservation();
// Before the first sync object: count sync objects per page only inside Go's
// heap window (a 64 MiB reservation instead of 8 GiB; frees elsewhere are
// always looked up). For address-space limits.
void SyncCountOnlyHeapWindow();

}  // namespace racert
