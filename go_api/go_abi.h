// The data layouts Go's runtime shares with the race object (linux/amd64).
//
// Everything here is dictated by Go (runtime/race.go, runtime/race_amd64.s);
// see docs/go-race-abi-notes.md for the evidence. Nothing in tsan_core/ may
// include this file: the core knows nothing of Go's ABI.
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
