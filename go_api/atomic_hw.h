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

constexpr int kAtomicOrder = __ATOMIC_SEQ_CST;

// The read-modify-write operations (exchange, add, and, or): applies `value`
// and returns what the target held before, which is all Go asks for (it
// computes the new value of an add itself).
template <typename T, AtomicOp op>
RACERT_ALWAYS_INLINE T ReadModifyWrite(T* target, T value) {
  if constexpr (op == AtomicOp::kExchange) {
    return __atomic_exchange_n(target, value, kAtomicOrder);
  } else if constexpr (op == AtomicOp::kFetchAdd) {
    return __atomic_fetch_add(target, value, kAtomicOrder);
  } else if constexpr (op == AtomicOp::kFetchAnd) {
    return __atomic_fetch_and(target, value, kAtomicOrder);
  } else {
    static_assert(op == AtomicOp::kFetchOr, "not a read-modify-write operation");
    return __atomic_fetch_or(target, value, kAtomicOrder);
  }
}

// Performs `op` on the frame. Returns true if memory was modified: always for
// store and RMW, only on success for compare-exchange, never for load.
template <typename T, AtomicOp op>
RACERT_ALWAYS_INLINE bool PerformAtomic(const AtomicFrame& frame) {
  using L = AtomicLayout<T>;
  T* target = frame.Address<T>();
  if constexpr (op == AtomicOp::kLoad) {
    frame.Result<T>(L::kLoadResult, __atomic_load_n(target, kAtomicOrder));
    return false;
  } else if constexpr (op == AtomicOp::kStore) {
    __atomic_store_n(target, frame.Arg<T>(L::kValue), kAtomicOrder);
    return true;
  } else if constexpr (op == AtomicOp::kCompareExchange) {
    T expected = frame.Arg<T>(L::kCasOld);
    bool swapped = __atomic_compare_exchange_n(target, &expected, frame.Arg<T>(L::kCasNew),
                                               /*weak=*/false, kAtomicOrder, kAtomicOrder);
    frame.Result<u8>(L::kCasResult, swapped ? 1 : 0);
    return swapped;
  } else {
    frame.Result<T>(L::kOldResult, ReadModifyWrite<T, op>(target, frame.Arg<T>(L::kValue)));
    return true;
  }
}

}  // namespace racert::go_abi

// Expands `X(name, type, op)` once for each of the 14 atomic entry points:
// __tsan_go_atomic{32,64}_{load,store,exchange,fetch_add,fetch_and,fetch_or,
// compare_exchange}, the same seven operations at each width.
#define RACERT_FOR_EACH_GO_ATOMIC(X) \
  RACERT_FOR_EACH_GO_ATOMIC_OF_WIDTH(X, 32, u32) RACERT_FOR_EACH_GO_ATOMIC_OF_WIDTH(X, 64, u64)
#define RACERT_FOR_EACH_GO_ATOMIC_OF_WIDTH(X, bits, type)           \
  X(__tsan_go_atomic##bits##_load, type, kLoad)                     \
  X(__tsan_go_atomic##bits##_store, type, kStore)                   \
  X(__tsan_go_atomic##bits##_exchange, type, kExchange)             \
  X(__tsan_go_atomic##bits##_fetch_add, type, kFetchAdd)            \
  X(__tsan_go_atomic##bits##_fetch_and, type, kFetchAnd)            \
  X(__tsan_go_atomic##bits##_fetch_or, type, kFetchOr)              \
  X(__tsan_go_atomic##bits##_compare_exchange, type, kCompareExchange)
