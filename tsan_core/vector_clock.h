// A vector clock over goroutine slots: entry s is the latest epoch of slot s
// whose events are known to happen before the clock's owner.
//
// Size is fixed (kSlotCount entries) so a clock never grows with goroutines:
// goroutines share slots over time (tsan_core/slot_pool.h). Operations only
// walk entries below the global slot high-water mark, so programs that never
// had many goroutines at once pay for few entries.
#pragma once

#include <atomic>

#include "base/types.h"
#include "shadow/access_identity.h"

namespace racert {

// One past the highest slot id ever handed out; clocks are zero above it.
extern std::atomic<u32> g_slot_high_water;

class VectorClock {
 public:
  Epoch Get(Sid sid) const { return epochs_[sid]; }
  void Set(Sid sid, Epoch epoch) { epochs_[sid] = epoch; }
  const Epoch* data() const { return epochs_; }

  void Reset() {
    for (unsigned i = 0; i < kSlotCount; i++) epochs_[i] = 0;
  }
  // this = other
  void CopyFrom(const VectorClock& other) {
    unsigned n = ActiveSlots();
    for (unsigned i = 0; i < n; i++) epochs_[i] = other.epochs_[i];
  }
  // this = max(this, other)
  void Join(const VectorClock& other);
  // this = *other and *other = max(*other, old this), in one pass without a
  // temporary clock (release-acquire of a channel slot).
  void SwapJoin(VectorClock* other);

  // The entries clock operations walk: the slot high-water mark, rounded up
  // to a multiple of 8 so the loops vectorize without tails (vector_clock.cpp
  // relies on it). Every clock is zero from there on.
  static unsigned ActiveSlots() { return (g_slot_high_water.load(std::memory_order_relaxed) + 7) & ~7u; }

 private:
  friend class SyncClock;
  Epoch epochs_[kSlotCount];
};

// A sync object's clock: only as many entries as there were active slots
// when it was last released to (a multiple of 8; the rest are zero), stored
// out of line. A program with few goroutines pays 32 bytes per mutex or
// channel instead of a full 1 KiB clock; one that ever had all 256 slots in
// use pays the full clock, as before. Not thread-safe: the sync table's
// bucket lock guards it.
class SyncClock {
 public:
  constexpr SyncClock() = default;
  SyncClock(const SyncClock&) = delete;
  SyncClock& operator=(const SyncClock&) = delete;
  ~SyncClock() { Free(); }

  Epoch Get(Sid sid) const { return sid < capacity_ ? epochs_[sid] : 0; }
  unsigned capacity() const { return capacity_; }

  // *into = max(*into, this)
  void JoinInto(VectorClock* into) const;
  // this = g
  void CopyFrom(const VectorClock& g);
  // this = max(this, g)
  void Join(const VectorClock& g);
  // this = *g and *g = max(*g, old this), in one pass (release-acquire).
  void SwapJoin(VectorClock* g);
  // this = *g = max(this, *g), in one pass (acquire-release).
  void JoinBoth(VectorClock* g);
  // this[sid] = g[sid]: `this = g` when the two differ at most there.
  void CopyEntry(const VectorClock& g, Sid sid);
  // All zero; the storage is kept.
  void Reset();

 private:
  // Makes room for the first n entries (new ones zero). n is a multiple of 8.
  void Reserve(unsigned n);
  void Free();

  Epoch* epochs_ = nullptr;
  unsigned capacity_ = 0;
};

}  // namespace racert
