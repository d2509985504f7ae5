// Application address -> shadow word.
//
// The mapping is a fixed offset: the shadow word of the 8-byte application
// word at `addr & ~7` lives at `(addr & ~7) + kShadowOffset`. One shadow
// word per application word, so shadow costs 1x the tracked memory (plus
// out-of-line cell sets for the rare words that need more than one cell).
//
// Only ranges registered with MapShadow have shadow. Go registers data+bss
// once and heap arenas as they appear; the object must never be asked about
// other addresses (Go filters them), except through atomics that Go marks as
// untracked with ignore-sync, which the caller handles without touching shadow.
#pragma once

#include <atomic>

#include "base/types.h"

namespace racert {

// Application addresses we can shadow: [0, kAppEnd). Their shadow occupies
// [kShadowOffset, kShadowOffset + kAppEnd), below the usual mmap/stack area.
constexpr uptr kShadowOffset = uptr{0x200000000000};
constexpr uptr kAppEnd = uptr{0x5f0000000000};

// Go's race-mode heap window: every heap arena is placed inside it. Its whole
// shadow is reserved (not committed) on first use, so a gap between arenas can
// never leave an instrumented address without shadow.
constexpr uptr kGoHeapWindowBegin = uptr{0x00c000000000};
constexpr uptr kGoHeapWindowEnd = uptr{0x00e000000000};

RACERT_ALWAYS_INLINE std::atomic<u64>* ShadowWordFor(uptr addr) {
  return reinterpret_cast<std::atomic<u64>*>((addr & ~uptr{7}) + kShadowOffset);
}

// Makes [addr, addr + size) trackable. Idempotent for ranges already mapped;
// safe to call concurrently. Dies with a clear message if the range cannot be
// shadowed (outside [0, kAppEnd) or the shadow address range is taken).
void MapShadow(uptr addr, uptr size);

// Whether MapShadow covered addr (slow; for checks and tests, not the hot path).
bool IsShadowMapped(uptr addr);

// Zeroes all shadow (returns the pages to the OS). Cell sets referenced from
// the cleared words are not freed: a concurrent access may still be using
// them, so they are leaked. Used only when reset generations wrap around.
void ClearAllShadow();

// Bytes of shadow address space committed by MapShadow calls so far
// (reserved, not necessarily touched).
uptr ShadowReservedBytes();

}  // namespace racert
