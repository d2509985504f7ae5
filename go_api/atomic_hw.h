// The hardware half of Go's sync/atomic under -race: in race builds Go does
// not perform the operation itself, the object does (docs/go-race-abi-notes.md §11.1).
//
// Every operation is sequentially consistent, which is what Go's memory model
// promises for sync/atomic (stores compile to xchg). Each function reads its
// inputs from the Go argument frame and writes the results Go expects there.
// Exactly 4 or 8 bytes are touched at the target address: TestAtomicPageBoundary
// places a u32 in the last bytes before an unmapped page.
#pragma once

#include "go_api/go_abi.h"

namespace racert::go_abi {

enum class AtomicOp { kLoad, kStore, kExchange, kFetchAdd, kFetchAnd, kFetchOr, kCompareExchange };

// Performs `op` on the frame. Returns true if memory was modified: always for
// store and RMW, only on success for compare-exchange, never for load.
template <typename T, AtomicOp op>
RACERT_ALWAYS_INLINE bool PerformAtomic(const AtomicFrame& frame) {
  using L = AtomicLayout<T>;
  T* target = frame.Address<T>();
  constexpr int kOrder = __ATOMIC_SEQ_CST;
  switch (op) {
    case AtomicOp::kLoad:
      frame.Result<T>(L::kLoadResult, __atomic_load_n(target, kOrder));
      return false;
    case AtomicOp::kStore:
      __atomic_store_n(target, frame.Arg<T>(L::kValue), kOrder);
      return true;
    case AtomicOp::kExchange:
      frame.Result<T>(L::kOldResult, __atomic_exchange_n(target, frame.Arg<T>(L::kValue), kOrder));
      return true;
    case AtomicOp::kFetchAdd:
      // Go adds the delta to the old value itself to return the new one.
      frame.Result<T>(L::kOldResult, __atomic_fetch_add(target, frame.Arg<T>(L::kValue), kOrder));
      return true;
    case AtomicOp::kFetchAnd:
      frame.Result<T>(L::kOldResult, __atomic_fetch_and(target, frame.Arg<T>(L::kValue), kOrder));
      return true;
    case AtomicOp::kFetchOr:
      frame.Result<T>(L::kOldResult, __atomic_fetch_or(target, frame.Arg<T>(L::kValue), kOrder));
      return true;
    case AtomicOp::kCompareExchange: {
      T expected = frame.Arg<T>(L::kCasOld);
      bool swapped = __atomic_compare_exchange_n(target, &expected, frame.Arg<T>(L::kCasNew),
                                                 /*weak=*/false, kOrder, kOrder);
      frame.Result<u8>(L::kCasResult, swapped ? 1 : 0);
      return swapped;
    }
  }
  return false;
}

}  // namespace racert::go_abi

// Expands `X(name, type, op)` once for each of the 14 atomic entry points.
#define RACERT_FOR_EACH_GO_ATOMIC(X)                                         \
  X(__tsan_go_atomic32_load, u32, kLoad)                                     \
  X(__tsan_go_atomic32_store, u32, kStore)                                   \
  X(__tsan_go_atomic32_exchange, u32, kExchange)                             \
  X(__tsan_go_atomic32_fetch_add, u32, kFetchAdd)                            \
  X(__tsan_go_atomic32_fetch_and, u32, kFetchAnd)                            \
  X(__tsan_go_atomic32_fetch_or, u32, kFetchOr)                              \
  X(__tsan_go_atomic32_compare_exchange, u32, kCompareExchange)              \
  X(__tsan_go_atomic64_load, u64, kLoad)                                     \
  X(__tsan_go_atomic64_store, u64, kStore)                                   \
  X(__tsan_go_atomic64_exchange, u64, kExchange)                             \
  X(__tsan_go_atomic64_fetch_add, u64, kFetchAdd)                            \
  X(__tsan_go_atomic64_fetch_and, u64, kFetchAnd)                            \
  X(__tsan_go_atomic64_fetch_or, u64, kFetchOr)                              \
  X(__tsan_go_atomic64_compare_exchange, u64, kCompareExchange)
