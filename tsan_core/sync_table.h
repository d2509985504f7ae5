// Synchronization objects: the release clock attached to an address that Go
// uses for acquire/release (a mutex, a channel buffer slot, a WaitGroup, an
// atomic variable...).
//
// Stored in a hash table of address -> SyncVar, created on first release and
// dropped when the memory is freed (so a new object at the same address does
// not inherit happens-before edges). A sync operation runs entirely under its
// bucket's lock; that lock is the SyncVar's lock. The one exception is
// PeekReleaseStamp, which reads a SyncVar's stamp without any lock.
#pragma once

#include <atomic>

#include "base/types.h"
#include "tsan_core/vector_clock.h"

namespace racert {

// Names the release that produced a SyncVar's clock when that clock is
// exactly the releasing goroutine's clock at (sid, epoch): a goroutine that
// already knows (sid, epoch) through the same owner of sid knows everything
// the clock holds, so its acquire has nothing to learn (sync_ops.cpp).
// Epochs start at 1, so epoch 0 (the default) means "no single release"
// (a join of several, or nothing released yet). The generation is the reset
// generation the epoch belongs to: a goroutine whose clock is of another
// generation cannot compare its clock with the stamp.
struct ReleaseStamp {
  Sid sid = 0;
  Generation generation = 0;
  Epoch epoch = 0;

  bool names_a_release() const { return epoch != 0; }

  // One 64-bit value, so that a lock-free reader sees a whole stamp.
  u64 Pack() const { return (u64{epoch} << 32) | (u64{generation} << 8) | sid; }
  static ReleaseStamp Unpack(u64 packed) {
    return ReleaseStamp{static_cast<Sid>(packed), static_cast<Generation>(packed >> 8),
                        static_cast<Epoch>(packed >> 32)};
  }
};

struct SyncVar {
  // addr and next are read without the bucket lock by PeekReleaseStamp,
  // through atomic loads; they are written before the SyncVar is published
  // (next also when a removal unlinks its successor, under the lock).
  uptr addr;
  SyncVar* next;
  SyncClock clock;  // zero until something released here
  // Written under the bucket lock, read by PeekReleaseStamp without it. An
  // operation that changes the clock stores the stamp of the new clock (or
  // none) after it and before unlocking, so the stamp a lock-free reader
  // finds names the clock as the last completed operation left it, or as it
  // was before the one in progress.
  std::atomic<u64> packed_stamp;

  ReleaseStamp stamp() const { return ReleaseStamp::Unpack(packed_stamp.load(std::memory_order_relaxed)); }
  void set_stamp(ReleaseStamp stamp) { packed_stamp.store(stamp.Pack(), std::memory_order_relaxed); }

  void ResetClock() {
    clock.Reset();
    set_stamp(ReleaseStamp{});
  }
};

// Calls fn(sync_var, arg) with the bucket locked. With `create`, a missing
// SyncVar is created (zero clock); without, fn gets nullptr for a missing one.
// Either way fn runs under the lock, so an atomic operation done inside fn is
// ordered with every other operation on the same address. `writes_memory`:
// fn may change the atomic variable at addr (a store, a read-modify-write),
// which a lock-free atomic load (PeekReleaseStamp with `load`) must notice.
void WithSyncVar(uptr addr, bool create, void (*fn)(SyncVar*, void*), void* arg, bool writes_memory = false);

// Without taking any lock: the stamp of addr's SyncVar as it was at one
// moment during the call (kFound), or that addr had no SyncVar at such a
// moment (kNone). kBusy: a removal changed addr's bucket meanwhile; the
// caller takes the locked path. The moment lies between the call's start and
// its end, so a release that happened before the call (by the Go program's
// own synchronization) is seen, or a later one. With `load` (an atomic load
// of the variable at addr, which may run more than once), *loaded gets its
// result from that same moment: no operation under WithSyncVar with
// `writes_memory` ran between the load and the stamp read (kBusy otherwise).
enum class StampPeek { kNone, kFound, kBusy };
StampPeek PeekReleaseStamp(uptr addr, ReleaseStamp* out, bool (*load)(void*) = nullptr, void* load_arg = nullptr,
                           bool* loaded = nullptr);

// Drops every SyncVar in [begin, end).
void RemoveSyncVars(uptr begin, uptr end);

// Zeroes every SyncVar's clock (part of an epoch reset).
void ResetAllSyncClocks();

// Address space the table reserves on first use (committed only where touched).
uptr SyncTableReservation();

// Before the first sync object: count sync objects per page only inside the
// client's heap window (HeapLayout in shadow/shadow_map.h; a 64 MiB
// reservation instead of 8 GiB for Go's; frees elsewhere are always looked
// up). For address-space limits.
void SyncCountOnlyHeapWindow();

// For tests only (no runtime code calls them): how many SyncVars exist, and
// which bucket addr's SyncVar is in (to put several in one).
uptr SyncVarCountForTesting();
uptr SyncBucketIndexForTesting(uptr addr);

}  // namespace racert
