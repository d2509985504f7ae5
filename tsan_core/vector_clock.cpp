#include "tsan_core/vector_clock.h"

#include "base/check.h"
#include "base/cpu_features.h"
#include "base/internal_alloc.h"

namespace racert {
namespace {

// The element-wise kernels, written once and compiled twice: for the x86-64
// baseline (SSE2 has no unsigned 32-bit max, so the compiler emulates it) and
// for AVX2 (vpmaxud, 8 entries per instruction: about 5x faster on a full
// 256-entry clock). `n` is a multiple of 8.
#define RACERT_CLOCK_KERNELS(suffix, attributes)                                        \
  attributes void JoinEntries##suffix(Epoch* mine, const Epoch* other, unsigned n) {    \
    for (unsigned i = 0; i < n; i++) mine[i] = mine[i] > other[i] ? mine[i] : other[i]; \
  }                                                                                     \
  attributes void SwapJoinEntries##suffix(Epoch* mine, Epoch* other, unsigned n) {      \
    for (unsigned i = 0; i < n; i++) {                                                  \
      Epoch old = mine[i];                                                              \
      Epoch theirs = other[i];                                                          \
      mine[i] = theirs;                                                                 \
      other[i] = old > theirs ? old : theirs;                                           \
    }                                                                                   \
  }                                                                                     \
  attributes void JoinBothEntries##suffix(Epoch* mine, Epoch* other, unsigned n) {      \
    for (unsigned i = 0; i < n; i++) {                                                  \
      Epoch joined = mine[i] > other[i] ? mine[i] : other[i];                           \
      mine[i] = joined;                                                                 \
      other[i] = joined;                                                                \
    }                                                                                   \
  }

RACERT_CLOCK_KERNELS(Baseline, )
RACERT_CLOCK_KERNELS(Avx2, __attribute__((target("avx2"))))
#undef RACERT_CLOCK_KERNELS

// Each kernel runs as its AVX2 build where the CPU has AVX2 (chosen per
// call: one predictable branch on a cached flag).
#define RACERT_CLOCK_KERNEL_DISPATCH(name, to_type, from_type)               \
  void name(to_type to, from_type from, unsigned n) {                        \
    (CpuHasAvx2() ? name##Avx2 : name##Baseline)(to, from, n);              \
  }
RACERT_CLOCK_KERNEL_DISPATCH(JoinEntries, Epoch*, const Epoch*)
RACERT_CLOCK_KERNEL_DISPATCH(SwapJoinEntries, Epoch*, Epoch*)
RACERT_CLOCK_KERNEL_DISPATCH(JoinBothEntries, Epoch*, Epoch*)
#undef RACERT_CLOCK_KERNEL_DISPATCH

}  // namespace

void VectorClock::Join(const VectorClock& other) { JoinEntries(epochs_, other.epochs_, ActiveSlots()); }

void VectorClock::SwapJoin(VectorClock* other) { SwapJoinEntries(epochs_, other->epochs_, ActiveSlots()); }

void SyncClock::Reserve(unsigned n) {
  RACERT_DCHECK(n % 8 == 0 && n <= kSlotCount);
  if (n <= capacity_) return;
  // InternalAlloc memory is zeroed: the new entries are.
  Epoch* grown = static_cast<Epoch*>(InternalAlloc(n * sizeof(Epoch)));
  for (unsigned i = 0; i < capacity_; i++) grown[i] = epochs_[i];
  Free();
  epochs_ = grown;
  capacity_ = n;
}

void SyncClock::Free() {
  InternalFree(epochs_, capacity_ * sizeof(Epoch));
  epochs_ = nullptr;
  capacity_ = 0;
}

void SyncClock::JoinInto(VectorClock* into) const {
  // Entries past capacity_ are zero: nothing to learn there.
  unsigned n = VectorClock::ActiveSlots();
  JoinEntries(into->epochs_, epochs_, n < capacity_ ? n : capacity_);
}

void SyncClock::CopyFrom(const VectorClock& g) {
  unsigned n = VectorClock::ActiveSlots();
  Reserve(n);
  // The width only grows, so it was at most n when this clock last grew:
  // now capacity_ is exactly n, and every entry is overwritten.
  RACERT_DCHECK(capacity_ == n);
  for (unsigned i = 0; i < n; i++) epochs_[i] = g.epochs_[i];
}

void SyncClock::Join(const VectorClock& g) {
  unsigned n = VectorClock::ActiveSlots();
  Reserve(n);
  JoinEntries(epochs_, g.epochs_, n);
}

void SyncClock::SwapJoin(VectorClock* g) {
  unsigned n = VectorClock::ActiveSlots();
  Reserve(n);
  // Above n both are zero.
  SwapJoinEntries(epochs_, g->epochs_, n);
}

void SyncClock::JoinBoth(VectorClock* g) {
  unsigned n = VectorClock::ActiveSlots();
  Reserve(n);
  JoinBothEntries(epochs_, g->epochs_, n);
}

void SyncClock::CopyEntry(const VectorClock& g, Sid sid) {
  // The width CopyFrom would leave; the entries it adds are zero in g too.
  Reserve(VectorClock::ActiveSlots());
  epochs_[sid] = g.epochs_[sid];
}

void SyncClock::Reset() {
  for (unsigned i = 0; i < capacity_; i++) epochs_[i] = 0;
}

}  // namespace racert
