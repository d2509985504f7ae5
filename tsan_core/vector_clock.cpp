#include "tsan_core/vector_clock.h"

#include "base/check.h"
#include "base/cpu_features.h"
#include "base/internal_alloc.h"

namespace racert {
namespace {

// Eight entries (32 bytes) as one value, for the kernels that store a block
// only if it changed: memcpy in and out, so no alignment or aliasing is
// assumed; the compiler keeps it in one AVX2 register or two SSE2 ones.
using EpochBlock = Epoch __attribute__((vector_size(8 * sizeof(Epoch))));
constexpr unsigned kBlockEntries = 8;

RACERT_ALWAYS_INLINE EpochBlock LoadBlock(const Epoch* p) {
  EpochBlock v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
RACERT_ALWAYS_INLINE void StoreBlock(Epoch* p, EpochBlock v) { __builtin_memcpy(p, &v, sizeof v); }
RACERT_ALWAYS_INLINE bool AnyNonZero(EpochBlock v) {
  u64 parts[4];
  __builtin_memcpy(parts, &v, sizeof parts);
  return (parts[0] | parts[1] | parts[2] | parts[3]) != 0;
}
static_assert(sizeof(EpochBlock) == 4 * sizeof(u64), "AnyNonZero reads a block as four words");
RACERT_ALWAYS_INLINE EpochBlock MaxBlock(EpochBlock a, EpochBlock b) { return a > b ? a : b; }
// Stores `value` at p, which holds `old`, only if they differ.
RACERT_ALWAYS_INLINE void StoreIfChanged(Epoch* p, EpochBlock old, EpochBlock value) {
  if (AnyNonZero(old ^ value)) StoreBlock(p, value);
}

// The element-wise kernels, written once and compiled twice: for the x86-64
// baseline (SSE2 has no unsigned 32-bit max, so the compiler emulates it) and
// for AVX2 (vpmaxud, 8 entries per instruction: about 5x faster on a full
// 256-entry clock). `n` is a multiple of 8.
//
// A sync clock is shared memory: the core that last released or acquired
// there holds its lines, and every line written here must be taken from it
// and then drained from the store buffer before the bucket lock is released
// (that unlock was 12% of mutex_pingpong's samples, 1000 goroutines on
// 1 KiB clocks). Most of a release changes few entries: the releaser
// acquired the same clock earlier and learned little since. So where a
// kernel writes a sync clock (CopyChangedEntries' and JoinChangedEntries'
// `to`, JoinBothEntries' `other`, SwapJoinEntries' `mine`: see the SyncClock
// methods below) it stores only the 8-entry blocks that change, and leaves
// the other lines shared. The goroutine's own clock is written whole.
#define RACERT_CLOCK_KERNELS(suffix, attributes)                                                \
  attributes void JoinEntries##suffix(Epoch* mine, const Epoch* other, unsigned n) {            \
    for (unsigned i = 0; i < n; i++) mine[i] = mine[i] > other[i] ? mine[i] : other[i];         \
  }                                                                                             \
  attributes void CopyChangedEntries##suffix(Epoch* to, const Epoch* from, unsigned n) {        \
    for (unsigned b = 0; b < n; b += kBlockEntries) {                                           \
      StoreIfChanged(to + b, LoadBlock(to + b), LoadBlock(from + b));                           \
    }                                                                                           \
  }                                                                                             \
  attributes void JoinChangedEntries##suffix(Epoch* to, const Epoch* from, unsigned n) {        \
    for (unsigned b = 0; b < n; b += kBlockEntries) {                                           \
      EpochBlock t = LoadBlock(to + b);                                                         \
      StoreIfChanged(to + b, t, MaxBlock(t, LoadBlock(from + b)));                              \
    }                                                                                           \
  }                                                                                             \
  attributes void SwapJoinEntries##suffix(Epoch* mine, Epoch* other, unsigned n) {              \
    for (unsigned b = 0; b < n; b += kBlockEntries) {                                           \
      EpochBlock m = LoadBlock(mine + b);                                                       \
      EpochBlock o = LoadBlock(other + b);                                                      \
      StoreIfChanged(mine + b, m, o);                                                           \
      StoreBlock(other + b, MaxBlock(m, o));                                                    \
    }                                                                                           \
  }                                                                                             \
  attributes void JoinBothEntries##suffix(Epoch* mine, Epoch* other, unsigned n) {              \
    for (unsigned b = 0; b < n; b += kBlockEntries) {                                           \
      EpochBlock o = LoadBlock(other + b);                                                      \
      EpochBlock joined = MaxBlock(LoadBlock(mine + b), o);                                     \
      StoreBlock(mine + b, joined);                                                             \
      StoreIfChanged(other + b, o, joined);                                                     \
    }                                                                                           \
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
RACERT_CLOCK_KERNEL_DISPATCH(JoinChangedEntries, Epoch*, const Epoch*)
RACERT_CLOCK_KERNEL_DISPATCH(CopyChangedEntries, Epoch*, const Epoch*)
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
  CopyChangedEntries(epochs_, g.epochs_, n);
}

void SyncClock::Join(const VectorClock& g) {
  unsigned n = VectorClock::ActiveSlots();
  Reserve(n);
  JoinChangedEntries(epochs_, g.epochs_, n);
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
