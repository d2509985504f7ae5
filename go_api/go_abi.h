// The data layouts Go's runtime shares with the race object (linux/amd64),
// and what Go's runtime needs of the address space.
//
// Everything here is dictated by Go (runtime/race.go, runtime/race_amd64.s,
// runtime/malloc.go) or measured from it; see docs/go-race-abi-notes.md for
// the evidence. Nothing in tsan_core/ or shadow/ may include this file: the
// core knows nothing of Go, and go_api hands it what it needs.
#pragma once

#include "base/types.h"

namespace racert::go_abi {

// Commands of the callback Go hands to __tsan_init (runtime.racecallbackthunk).
enum CallbackCommand : uptr {
  kGetProc = 0,        // ctx: void** out; needs the calling M to hold a P.
  kSymbolizeCode = 1,  // ctx: SymbolizeCodeContext*; only from a goroutine.
  kSymbolizeData = 2,  // ctx: SymbolizeDataContext*; only from a goroutine.
};

using Callback = void (*)(uptr command, void* context);

// Where Go's race-mode heap lives (runtime/malloc.go, mallocinit and
// sysAlloc): its arena hints stay in [0x00c000000000, 0x00e000000000) until
// they run out, and every arena is heapArenaBytes (64 MiB) large and aligned.
// A heap grown past the window gets arenas outside it, which Go announces
// like any other (docs/go-race-abi-notes.md §4).
constexpr uptr kRaceHeapWindowBegin = uptr{0x00c000000000};
constexpr uptr kRaceHeapWindowEnd = uptr{0x00e000000000};
constexpr uptr kHeapArenaBytes = uptr{64} << 20;

// What Go's runtime needs of the address space besides its heap and racert's
// reservations, and how it fails when an address-space limit (ulimit -v) runs
// out; __tsan_init hands these to shadow as a ClientAddressSpace
// (shadow/shadow_map.h, docs/go-race-abi-notes.md §4). The figures were
// measured with issue 10's hostile-limit tests (tests/e2e/test_hostile_limits.py).
//
// Counted at start by the limit check: what the Go runtime itself needs
// besides racert's reservations (its heap arena index, page summaries,
// stacks, the binary) is about 1 GiB; the rest is headroom for the program's
// heap.
constexpr uptr kRuntimeReserveBytes = uptr{4} << 30;
// What Go's runtime reserves after it registers data and bss and before its
// heap can hold anything, at the least, in every supported release: page
// summaries (the leaf level alone is 512 MiB; Go 1.21+ adds a 512 MiB
// scavenger index) and the arena index, then the first 64 MiB heap arena,
// whose shadow racert maps (3 x 64 MiB). Below this, the run cannot start.
constexpr uptr kStartMinimumBytes = uptr{850} << 20;
constexpr const char* kStartMinimumParts = "page summaries, its first 64 MiB heap arena and that arena's shadow";
// Warn when less than this is left: at start, what Go 1.26 reserves (~1.1 GiB,
// measured) plus a few arenas; later, four 64 MiB arenas with their shadow.
constexpr uptr kStartWarningBytes = uptr{1536} << 20;
constexpr const char* kStartEstimate = "about 1.1 GiB";
constexpr uptr kHeapWarningBytes = uptr{1024} << 20;
constexpr const char* kRuntimeName = "Go's runtime";
// When the limit runs out, the mapping that fails is often Go's own (the next
// heap arena, page summaries, a thread stack), not racert's, and Go then stops
// with one of these, which do not name the limit: "too many address space
// collisions for -race mode" (runtime/malloc.go, sysAlloc, once the race-mode
// arena hints fail), "failed to reserve page summary memory"
// (runtime/mpagealloc_64bit.go), "runtime: out of memory" (runtime/mem_linux.go)
// and the other "out of memory ..." throws of runtime/malloc.go, or cgo's
// "pthread_create failed" (runtime/cgo/gcc_linux_amd64.c). The warning quotes
// the shortest common part of each.
constexpr const char* kAddressSpaceFailures =
    "\"too many address space collisions for -race mode\", \"failed to reserve\", \"out of memory\", "
    "\"pthread_create failed\"";

// Layout of runtime.symbolizeCodeContext (48 bytes).
struct SymbolizeCodeContext {
  uptr pc;           // in: pc - 1; out: logical caller's pc if inlined
  const char* func;  // out
  const char* file;  // out
  uptr line;         // out
  uptr offset;       // out: incoming pc - entry of the physical function
  uptr resolved;     // out: 1 when filled in
};
static_assert(sizeof(SymbolizeCodeContext) == 48);

// Layout of runtime.symbolizeDataContext (64 bytes).
struct SymbolizeDataContext {
  uptr addr;
  uptr heap;
  uptr start;
  uptr size;
  const char* name;
  const char* file;
  uptr line;
  uptr resolved;
};
static_assert(sizeof(SymbolizeDataContext) == 64);

// The argument frame of a sync/atomic function, as racecallatomic hands it
// over: Go's stack-based ABI0 layout. The first word is always the address
// operated on; inputs follow; results start at the next 8-aligned offset.
struct AtomicFrame {
  u8* base;

  template <typename T>
  T* Address() const { return *reinterpret_cast<T**>(base); }
  template <typename T>
  T Arg(uptr offset) const { return *reinterpret_cast<T*>(base + offset); }
  template <typename T>
  void Result(uptr offset, T value) const {
    *reinterpret_cast<T*>(base + offset) = value;
  }
};

// Offsets in AtomicFrame for each operation and width (docs/go-race-abi-notes.md §11.2):
// the two widths differ only in compare-and-swap, whose inputs are two values.
template <typename T>
struct AtomicLayout {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "Go's atomics are 32 or 64 bits wide");
  static constexpr uptr kValue = 8;       // store, swap, add, and, or
  static constexpr uptr kLoadResult = 8;
  static constexpr uptr kOldResult = 16;  // swap, add, and, or
  static constexpr uptr kCasOld = 8;
  static constexpr uptr kCasNew = sizeof(T) == 8 ? 16 : 12;
  static constexpr uptr kCasResult = sizeof(T) == 8 ? 24 : 16;
};

}  // namespace racert::go_abi
