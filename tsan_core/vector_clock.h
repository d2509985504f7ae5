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
#include "shadow/shadow_cell.h"

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

 private:
  static unsigned ActiveSlots() {
    // Rounded up to a multiple of 8 so the loops vectorize without tails
    // (vector_clock.cpp relies on it).
    return (g_slot_high_water.load(std::memory_order_relaxed) + 7) & ~7u;
  }
  Epoch epochs_[kSlotCount];
};

}  // namespace racert
