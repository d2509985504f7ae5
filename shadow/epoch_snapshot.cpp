#include "shadow/epoch_snapshot.h"

#include "base/check.h"
#include "base/spin_mutex.h"

namespace racert {

namespace epoch_snapshot_detail {
constinit EpochSnapshot snapshots[kEpochSnapshotCount];
}  // namespace epoch_snapshot_detail

namespace {

using epoch_snapshot_detail::snapshots;

// A new snapshot replaces the current one only after this many sets asked
// for the current one (taking it or not): goroutines whose epochs move on at
// every read of a shared word (readers under a RWMutex release at each
// RUnlock) would otherwise start a snapshot, and clear a dropped one, at
// every store.
constexpr u32 kRequestsBeforeReplacing = 16;

struct Pool {
  SpinMutex mutex;
  std::atomic<u32> current{kNoEpochSnapshot};  // changed under the mutex
  u32 never_used = 0;  // snapshots [never_used, count) were never handed out
  u32 free_count = 0;
  u32 in_use = 0;
  u32 free_ids[kEpochSnapshotCount];
};
constinit Pool pool{};

// With pool.mutex held.
void FreeLocked(u32 id) {
  EpochSnapshot& s = snapshots[id];
  for (auto& e : s.epochs) e.store(0, std::memory_order_relaxed);
  for (auto& p : s.claim_place) p.store(0, std::memory_order_relaxed);
  s.places_given.store(0, std::memory_order_relaxed);
  s.requests.store(0, std::memory_order_relaxed);
  pool.free_ids[pool.free_count++] = id;
  pool.in_use--;
}

// With pool.mutex held.
void DropReferenceLocked(u32 id) {
  if (snapshots[id].references.fetch_sub(1, std::memory_order_acq_rel) == 1) FreeLocked(id);
}

// With pool.mutex held: an unused snapshot of `generation`, referenced once
// (by the pool, as the current one is), or kNoEpochSnapshot.
u32 TakeFreeLocked(Generation generation) {
  u32 id;
  if (pool.free_count != 0) {
    id = pool.free_ids[--pool.free_count];
  } else if (pool.never_used < kEpochSnapshotCount) {
    id = pool.never_used++;
  } else {
    return kNoEpochSnapshot;
  }
  pool.in_use++;
  EpochSnapshot& s = snapshots[id];
  s.generation.store(generation, std::memory_order_relaxed);
  s.references.store(1, std::memory_order_relaxed);
  return id;
}

// Gives the slot whose entry of `s` the caller just claimed its place in the
// claim order, if it is among the first kEpochSnapshotPlacedClaims.
void GiveClaimPlace(EpochSnapshot& s, Sid sid) {
  if (s.places_given.load(std::memory_order_relaxed) >= kEpochSnapshotPlacedClaims) return;
  const u32 place = s.places_given.fetch_add(1, std::memory_order_relaxed);
  if (place < kEpochSnapshotPlacedClaims) s.claim_place[sid].store(static_cast<u8>(place + 1), std::memory_order_relaxed);
}

}  // namespace

bool FitsEpochSnapshot(u32 id, const u64* cells, u32 count, Generation generation) {
  EpochSnapshot& s = snapshots[id];
  RACERT_DCHECK(s.references.load(std::memory_order_relaxed) != 0);
  if (s.generation.load(std::memory_order_relaxed) != generation) return false;
  for (u32 i = 0; i < count; i++) {
    Cell c(cells[i]);
    // Claimed entries are read, not written: every set of a table read by
    // all goroutines checks the same entries.
    Epoch entry = s.epochs[c.sid()].load(std::memory_order_relaxed);
    if (entry == 0 && !s.epochs[c.sid()].compare_exchange_strong(entry, c.epoch(), std::memory_order_relaxed)) {
      // Claimed meanwhile by another word's update: `entry` is the claim.
    } else if (entry == 0) {
      GiveClaimPlace(s, c.sid());
      continue;  // claimed now
    }
    if (entry != c.epoch()) return false;
  }
  return true;
}

namespace {

// Whether one of cells[0..count) certainly does not fit snapshot `id`: its
// slot's entry is claimed with another epoch. Read without a reference (the
// snapshot may be recycled meanwhile): only a quick refusal, never a
// decision to use it.
bool CertainlyDoesNotFit(u32 id, const u64* cells, u32 count, Generation generation) {
  const EpochSnapshot& s = snapshots[id];
  if (s.generation.load(std::memory_order_relaxed) != generation) return true;
  for (u32 i = 0; i < count; i++) {
    Cell c(cells[i]);
    Epoch entry = s.epochs[c.sid()].load(std::memory_order_relaxed);
    if (entry != 0 && entry != c.epoch()) return true;
  }
  return false;
}

}  // namespace

u32 AcquireEpochSnapshotFor(const u64* cells, u32 count, Generation generation, bool may_start_new) {
  if (!may_start_new) {
    // Sets whose readers' epochs keep moving ask at every change: refuse
    // them without the pool's lock where the answer is clear.
    const u32 peek = pool.current.load(std::memory_order_relaxed);
    if (peek == kNoEpochSnapshot || CertainlyDoesNotFit(peek, cells, count, generation)) return kNoEpochSnapshot;
  }
  SpinMutexLock lock(&pool.mutex);
  u32 current = pool.current.load(std::memory_order_relaxed);
  if (current != kNoEpochSnapshot) {
    EpochSnapshot& s = snapshots[current];
    if (FitsEpochSnapshot(current, cells, count, generation)) {
      s.references.fetch_add(1, std::memory_order_relaxed);
      s.requests.fetch_add(1, std::memory_order_relaxed);
      return current;
    }
    const u32 requests = s.requests.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!may_start_new) return kNoEpochSnapshot;
    if (s.generation.load(std::memory_order_relaxed) == generation && requests < kRequestsBeforeReplacing) {
      return kNoEpochSnapshot;
    }
  } else if (!may_start_new) {
    return kNoEpochSnapshot;
  }
  u32 id = TakeFreeLocked(generation);
  if (id == kNoEpochSnapshot) return kNoEpochSnapshot;
  if (!FitsEpochSnapshot(id, cells, count, generation)) {  // two cells of one slot: the caller's mistake
    DropReferenceLocked(id);
    return kNoEpochSnapshot;
  }
  if (current != kNoEpochSnapshot) DropReferenceLocked(current);
  pool.current.store(id, std::memory_order_relaxed);
  snapshots[id].references.fetch_add(1, std::memory_order_relaxed);
  snapshots[id].requests.store(1, std::memory_order_relaxed);
  return id;
}

void ReleaseEpochSnapshot(u32 id) {
  RACERT_DCHECK(id < kEpochSnapshotCount);
  // The last reference is never the caller's alone while the snapshot is
  // current (the pool holds one), so the fast path needs no lock.
  u32 references = snapshots[id].references.load(std::memory_order_relaxed);
  while (references > 1) {
    if (snapshots[id].references.compare_exchange_weak(references, references - 1, std::memory_order_acq_rel)) {
      return;
    }
  }
  SpinMutexLock lock(&pool.mutex);
  DropReferenceLocked(id);
}

void RetireCurrentEpochSnapshotForTesting() {
  SpinMutexLock lock(&pool.mutex);
  const u32 current = pool.current.load(std::memory_order_relaxed);
  if (current == kNoEpochSnapshot) return;
  pool.current.store(kNoEpochSnapshot, std::memory_order_relaxed);
  DropReferenceLocked(current);
}

u32 EpochSnapshotsInUseForTesting() {
  SpinMutexLock lock(&pool.mutex);
  return pool.in_use;
}

}  // namespace racert
