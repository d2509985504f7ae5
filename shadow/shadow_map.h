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
// Only ranges registered with MapShadow have shadow. The client registers its
// data+bss once and its heap arenas as they appear (Go does); the object must
// never be asked about other addresses (the client filters them), except
// through atomics the client marks as untracked with ignore-sync, which the
// caller handles without touching shadow.
#pragma once

#include <atomic>

#include "base/types.h"

namespace racert {

// Application addresses that can be shadowed: a low range holding non-PIE
// data and the client's heap window (Go's, for one), and a high range for
// PIE-style data.
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

// What the client's own runtime needs of the address space besides its heap
// and racert's reservations, and how it fails when an address-space limit
// (ulimit -v) runs out. The client knows it (go_api/go_abi.h); the core uses
// it only under such a limit: tsan_core's CheckAddressSpaceLimit counts
// runtime_reserve, and in per-arena mode (UseShadowPerArena) MapShadow checks
// what is left after each shadow mapping, because when the limit runs out the
// mapping that fails is often the client runtime's own, whose message may not
// name the limit.
//
// All zero (the default, and what the core unit tests run with) means no
// description: nothing is counted for the client's runtime and the checks
// after MapShadow neither stop nor warn. The core cannot guess what an unknown
// runtime reserves, and racert's own mappings name the limit when they fail.
struct ClientAddressSpace {
  // Address space the client's runtime reserves besides its heap and
  // racert's reservations, plus whatever headroom the client wants counted.
  uptr runtime_reserve;
  // The least the client's runtime reserves after its data and bss are
  // shadowed and before its heap can hold anything, the first heap arena's
  // shadow included. Less left than this after the data shadow is fatal,
  // with the figures. 0: no check.
  uptr start_minimum;
  // One warning when less than this is left after mapping shadow: before the
  // first heap arena (start_warning) and after it (heap_warning). 0: never.
  uptr start_warning;
  uptr heap_warning;
  // Texts for those messages, required when the figure they go with is set:
  //   runtime_name      who reserves, e.g. "Go's runtime";
  //   start_parts       what start_minimum is made of;
  //   start_estimate    what the runtime typically reserves to start, e.g.
  //                     "about 1.1 GiB" (the start warning says it);
  //   failure_messages  how the runtime stops when a reservation of its own
  //                     fails: its messages, quoted and comma-separated.
  const char* runtime_name;
  const char* start_parts;
  const char* start_estimate;
  const char* failure_messages;
};
// Set once, before the first MapShadow and before the runtime initializes.
void SetClientAddressSpace(const ClientAddressSpace& client);
const ClientAddressSpace& CurrentClientAddressSpace();

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
// clearing the shadow of big allocations: a heap (Go's, for one) grows into
// fresh arenas whose shadow was never written, and reading all of it would
// cost a read per word and map a zero page per 512 words (a 1 GiB allocation:
// 128 Mi reads).
// The parts come in address order; 8-byte aligned, except at the range's ends.
void ForEachWrittenShadowRun(uptr addr, uptr size, void (*visit)(uptr begin, uptr end, void* context),
                             void* context);

// Under an address-space limit too small for the whole heap window's shadow
// (see CheckAddressSpaceLimit in tsan_core/runtime.cpp): shadow heap memory
// per heap arena (HeapLayout::arena_bytes) as the client announces it,
// instead of the whole window at once, and check what is left after each
// mapping (ClientAddressSpace). Must be called before the first MapShadow.
void UseShadowPerArena();

// Zeroes all shadow (returns the pages to the OS). Cell sets referenced from
// the cleared words are not freed: a concurrent access may still be using
// them, so they are leaked. Used only by an epoch reset that finds no reset
// generation value free for reuse (tsan_core/slot_pool.cpp).
void ClearAllShadow();

}  // namespace racert
