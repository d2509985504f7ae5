// Application address -> shadow words.
//
// Every 8-byte application word has a primary shadow word at a fixed offset,
// `(addr & ~7) + kPrimaryOffset`, and a secondary one at
// `(addr & ~7) + kSecondaryOffset`; words of the low range also have a
// tertiary one at `(addr & ~7) + kTertiaryOffset` (the high range has no
// room for it below the 47-bit user address limit). The primary word is what
// the access path reads; the secondary and tertiary words hold a second and
// third cell only for words that need them (see shadow/shadow_word.h), so
// their pages are committed only where that happens. Typical cost: 1x the
// tracked memory, 3x at worst, plus out-of-line cell sets for the rare words
// that need more cells than their inline words hold.
//
// Only ranges registered with MapShadow have shadow. Go registers data+bss
// once and heap arenas as they appear; the object must never be asked about
// other addresses (Go filters them), except through atomics that Go marks as
// untracked with ignore-sync, which the caller handles without touching shadow.
#pragma once

#include <atomic>

#include "base/types.h"

namespace racert {

// Application addresses that can be shadowed: a low range holding non-PIE
// data and Go's heap window, and a high range for PIE-style data.
constexpr uptr kAppLowEnd = uptr{0x100000000000};
constexpr uptr kAppHighBegin = uptr{0x500000000000};
constexpr uptr kAppHighEnd = uptr{0x600000000000};
// Primary shadow: [0x1000.., 0x2000..) and [0x6000.., 0x7000..).
// Secondary shadow: [0x2000.., 0x3000..) and [0x7000.., 0x8000..).
// Tertiary shadow: [0x3000.., 0x4000..), for the low range only.
constexpr uptr kPrimaryOffset = uptr{0x100000000000};
constexpr uptr kSecondaryOffset = uptr{0x200000000000};
constexpr uptr kTertiaryOffset = uptr{0x300000000000};
static_assert(kAppLowEnd + kTertiaryOffset <= kAppHighBegin, "tertiary shadow must stay below the high range");

constexpr bool IsShadowableApp(uptr addr) {
  return addr < kAppLowEnd || (addr >= kAppHighBegin && addr < kAppHighEnd);
}

// Where the client keeps its heap: a window of the low range every heap
// piece (arena) is placed in, and the size of those pieces. The client
// knows it (go_api/go_abi.h); shadow only follows it. MapShadow reserves
// (not commits) the shadow of the whole window on its first call inside it,
// so a gap between arenas can never leave an instrumented address without
// shadow; under UseShadowPerArena, each call's range rounded out to arenas.
// An empty window (the default) means no heap is known: every range is
// mapped as asked.
struct HeapLayout {
  uptr window_begin;
  uptr window_end;
  uptr arena_bytes;

  constexpr bool has_window() const { return window_begin < window_end; }
  constexpr uptr window_bytes() const { return window_end - window_begin; }
  // Whether [begin, end) lies inside the window.
  constexpr bool InWindow(uptr begin, uptr end) const {
    return has_window() && begin >= window_begin && end <= window_end;
  }
};
// Set once, before the first MapShadow and before anything asks for it.
void SetHeapLayout(const HeapLayout& layout);
const HeapLayout& CurrentHeapLayout();

RACERT_ALWAYS_INLINE std::atomic<u64>* ShadowWordFor(uptr addr) {
  return reinterpret_cast<std::atomic<u64>*>((addr & ~uptr{7}) + kPrimaryOffset);
}
RACERT_ALWAYS_INLINE std::atomic<u64>* SecondaryWordFor(uptr addr) {
  return reinterpret_cast<std::atomic<u64>*>((addr & ~uptr{7}) + kSecondaryOffset);
}
// The secondary word of the word whose primary word is `primary` (for code
// that has only the primary, such as the access paths' lock-free checks).
RACERT_ALWAYS_INLINE std::atomic<u64>* SecondaryWordOfPrimary(const std::atomic<u64>* primary) {
  return reinterpret_cast<std::atomic<u64>*>(reinterpret_cast<uptr>(primary) - kPrimaryOffset + kSecondaryOffset);
}
// Null for high-range addresses, which have no tertiary word.
RACERT_ALWAYS_INLINE std::atomic<u64>* TertiaryWordFor(uptr addr) {
  if (addr >= kAppLowEnd) return nullptr;
  return reinterpret_cast<std::atomic<u64>*>((addr & ~uptr{7}) + kTertiaryOffset);
}

// Makes [addr, addr + size) trackable. Idempotent for ranges already mapped;
// safe to call concurrently. Dies with a clear message if the range cannot be
// shadowed (outside the shadowable ranges, or the shadow address range is
// taken by another mapping).
void MapShadow(uptr addr, uptr size);

// Calls visit(begin, end, context) for the parts [begin, end) of application
// range [addr, addr + size) (already shadowed) whose primary shadow words may
// be non-zero; all other words of the range have zero primary shadow. For
// clearing the shadow of big allocations: Go's heap grows into fresh arenas
// whose shadow was never written, and reading all of it would cost a read per
// word and map a zero page per 512 words (a 1 GiB allocation: 128 Mi reads).
// The parts come in address order; 8-byte aligned, except at the range's ends.
void ForEachWrittenShadowRun(uptr addr, uptr size, void (*visit)(uptr begin, uptr end, void* context),
                             void* context);

// Under an address-space limit too small for the whole heap window's shadow
// (see CheckAddressSpaceLimit in tsan_core/runtime.cpp): shadow heap memory
// per 64 MiB heap arena as Go announces it, instead of the whole window at
// once. Must be called before the first MapShadow.
void UseShadowPerArena();

// Zeroes all shadow (returns the pages to the OS). Cell sets referenced from
// the cleared words are not freed: a concurrent access may still be using
// them, so they are leaked. Used only by an epoch reset that finds no reset
// generation value free for reuse (tsan_core/slot_pool.cpp).
void ClearAllShadow();

}  // namespace racert
