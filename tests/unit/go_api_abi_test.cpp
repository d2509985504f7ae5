// Sanity of the Go-facing data layouts and of the hardware atomics every
// racert object (the detector and the floor) performs for sync/atomic.
//
// The expected frame offsets are not taken from go_abi.h: they are derived
// here from Go's ABI0 stack layout rules and the Go signatures, and the frame
// sizes are cross-checked against the `$0-N` argument sizes declared for the
// sync/atomic functions in Go's runtime/race_amd64.s. A wrong AtomicLayout
// constant therefore fails these tests instead of agreeing with itself.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include "go_api/atomic_hw.h"
#include "go_api/go_abi.h"

namespace racert::go_abi {
namespace {

// --- Callback context layouts (runtime.symbolize{Code,Data}Context) ----------

TEST(GoAbiLayout, SymbolizeCodeContextMatchesGoStruct) {
  EXPECT_EQ(sizeof(SymbolizeCodeContext), 48u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, pc), 0u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, func), 8u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, file), 16u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, line), 24u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, offset), 32u);
  EXPECT_EQ(offsetof(SymbolizeCodeContext, resolved), 40u);
}

TEST(GoAbiLayout, SymbolizeDataContextMatchesGoStruct) {
  EXPECT_EQ(sizeof(SymbolizeDataContext), 64u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, addr), 0u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, heap), 8u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, start), 16u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, size), 24u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, name), 32u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, file), 40u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, line), 48u);
  EXPECT_EQ(offsetof(SymbolizeDataContext, resolved), 56u);
}

// --- A model of Go's ABI0 argument frame ------------------------------------

// ABI0 on amd64: arguments in declaration order, each aligned to its own size;
// the results (if any) start at the next 8-byte boundary and follow the same
// rule. A frame without results is not padded.
struct GoFrameLayout {
  std::vector<size_t> arguments;
  std::vector<size_t> results;
  size_t size = 0;
};

size_t AlignUp(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

GoFrameLayout LayOutGoFrame(const std::vector<size_t>& argument_sizes,
                            const std::vector<size_t>& result_sizes) {
  GoFrameLayout layout;
  size_t offset = 0;
  for (size_t size : argument_sizes) {
    offset = AlignUp(offset, size);
    layout.arguments.push_back(offset);
    offset += size;
  }
  if (!result_sizes.empty()) offset = AlignUp(offset, 8);
  for (size_t size : result_sizes) {
    offset = AlignUp(offset, size);
    layout.results.push_back(offset);
    offset += size;
  }
  layout.size = offset;
  return layout;
}

// The Go signature of the sync/atomic function behind each operation, as
// (argument sizes, result sizes); the first argument is always the address.
template <typename T>
GoFrameLayout GoFrameFor(AtomicOp op) {
  constexpr size_t kPointer = 8, kValue = sizeof(T), kBool = 1;
  switch (op) {
    case AtomicOp::kLoad:             // func LoadX(addr *T) (val T)
      return LayOutGoFrame({kPointer}, {kValue});
    case AtomicOp::kStore:            // func StoreX(addr *T, val T)
      return LayOutGoFrame({kPointer, kValue}, {});
    case AtomicOp::kExchange:         // func SwapX(addr *T, new T) (old T)
    case AtomicOp::kFetchAdd:         // func AddX(addr *T, delta T) (new T)
    case AtomicOp::kFetchAnd:         // func AndX(addr *T, mask T) (old T)
    case AtomicOp::kFetchOr:          // func OrX(addr *T, mask T) (old T)
      return LayOutGoFrame({kPointer, kValue}, {kValue});
    case AtomicOp::kCompareExchange:  // func CompareAndSwapX(addr *T, old, new T) (swapped bool)
      return LayOutGoFrame({kPointer, kValue, kValue}, {kBool});
  }
  return {};
}

// The `$0-N` argument sizes race_amd64.s declares for these functions.
TEST(GoFrameModel, AgreesWithFrameSizesDeclaredByGo) {
  EXPECT_EQ(GoFrameFor<u32>(AtomicOp::kLoad).size, 12u);
  EXPECT_EQ(GoFrameFor<u64>(AtomicOp::kLoad).size, 16u);
  EXPECT_EQ(GoFrameFor<u32>(AtomicOp::kStore).size, 12u);
  EXPECT_EQ(GoFrameFor<u64>(AtomicOp::kStore).size, 16u);
  for (AtomicOp op : {AtomicOp::kExchange, AtomicOp::kFetchAdd, AtomicOp::kFetchAnd, AtomicOp::kFetchOr}) {
    EXPECT_EQ(GoFrameFor<u32>(op).size, 20u);
    EXPECT_EQ(GoFrameFor<u64>(op).size, 24u);
  }
  EXPECT_EQ(GoFrameFor<u32>(AtomicOp::kCompareExchange).size, 17u);
  EXPECT_EQ(GoFrameFor<u64>(AtomicOp::kCompareExchange).size, 25u);
}

// --- PerformAtomic against the model ----------------------------------------

constexpr u8 kFrameFill = 0xA5;   // marks frame bytes nobody should write
constexpr u8 kMemoryFill = 0x5A;  // marks memory around the target

// A Go argument frame plus the memory the operation targets. The target sits
// between guard bytes so an access wider than sizeof(T) is caught.
template <typename T>
struct AtomicCall {
  AtomicOp op;
  GoFrameLayout layout;
  alignas(8) u8 frame[32];
  alignas(8) u8 memory[24];

  AtomicCall(AtomicOp operation, T initial) : op(operation), layout(GoFrameFor<T>(operation)) {
    memset(frame, kFrameFill, sizeof(frame));
    memset(memory, kMemoryFill, sizeof(memory));
    memcpy(memory + 8, &initial, sizeof(T));
    T* address = reinterpret_cast<T*>(memory + 8);
    memcpy(frame, &address, sizeof(address));
  }
  void SetArgument(size_t index, T value) { memcpy(frame + layout.arguments.at(index), &value, sizeof(T)); }
  T Target() const { T value; memcpy(&value, memory + 8, sizeof(T)); return value; }
  T ValueResult() const { T value; memcpy(&value, frame + layout.results.at(0), sizeof(T)); return value; }
  u8 BoolResult() const { return frame[layout.results.at(0)]; }

  // Every frame byte outside the arguments and results still holds the fill,
  // and so does the memory around the target.
  void ExpectNothingElseTouched() const {
    std::vector<bool> owned(sizeof(frame), false);
    for (size_t i = 0; i < 8; ++i) owned[i] = true;  // the address argument
    for (size_t a = 1; a < layout.arguments.size(); ++a)
      for (size_t i = 0; i < sizeof(T); ++i) owned[layout.arguments[a] + i] = true;
    size_t result_size = op == AtomicOp::kCompareExchange ? 1 : sizeof(T);
    for (size_t offset : layout.results)
      for (size_t i = 0; i < result_size; ++i) owned[offset + i] = true;
    for (size_t i = 0; i < sizeof(frame); ++i) {
      if (!owned[i]) {
        EXPECT_EQ(frame[i], kFrameFill) << "frame byte " << i << " was written";
      }
    }
    for (size_t i = 0; i < sizeof(memory); ++i) {
      if (i < 8 || i >= 8 + sizeof(T)) {
        EXPECT_EQ(memory[i], kMemoryFill) << "memory byte " << i << " was written";
      }
    }
  }
};

template <typename T, AtomicOp op>
bool Perform(AtomicCall<T>& call) {
  return PerformAtomic<T, op>(AtomicFrame{call.frame});
}

template <typename T>
class PerformAtomicTest : public ::testing::Test {
 protected:
  // Values that use the high bits, so a truncated or sign-mangled access shows,
  // and whose AND, OR, XOR and sum all differ, so a swapped operation shows.
  static constexpr T kInitial = static_cast<T>(0xF0E1D2C3B4A59687ull);
  static constexpr T kOperand = static_cast<T>(0x3C5A96E10FF0D2B4ull);
};
using Widths = ::testing::Types<u32, u64>;
TYPED_TEST_SUITE(PerformAtomicTest, Widths);

TYPED_TEST(PerformAtomicTest, LoadReturnsValueAndDoesNotWrite) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kLoad, this->kInitial);
  EXPECT_FALSE((Perform<T, AtomicOp::kLoad>(call)));
  EXPECT_EQ(call.ValueResult(), this->kInitial);
  EXPECT_EQ(call.Target(), this->kInitial);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, StoreWritesArgument) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kStore, this->kInitial);
  call.SetArgument(1, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kStore>(call)));
  EXPECT_EQ(call.Target(), this->kOperand);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, ExchangeReturnsOldValue) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kExchange, this->kInitial);
  call.SetArgument(1, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kExchange>(call)));
  EXPECT_EQ(call.Target(), this->kOperand);
  EXPECT_EQ(call.ValueResult(), this->kInitial);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, FetchAddReturnsOldValueAndWraps) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kFetchAdd, this->kInitial);
  call.SetArgument(1, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kFetchAdd>(call)));
  EXPECT_EQ(call.Target(), static_cast<T>(this->kInitial + this->kOperand));
  // Go computes the new value itself from the old one it gets back.
  EXPECT_EQ(call.ValueResult(), this->kInitial);
  call.ExpectNothingElseTouched();

  // Go passes a negative delta as its two's complement: AddInt32(&x, -1).
  AtomicCall<T> decrement(AtomicOp::kFetchAdd, T{0});
  decrement.SetArgument(1, static_cast<T>(-1));
  Perform<T, AtomicOp::kFetchAdd>(decrement);
  EXPECT_EQ(decrement.Target(), static_cast<T>(~T{0}));
  EXPECT_EQ(decrement.ValueResult(), T{0});
}

TYPED_TEST(PerformAtomicTest, FetchAndReturnsOldValue) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kFetchAnd, this->kInitial);
  call.SetArgument(1, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kFetchAnd>(call)));
  EXPECT_EQ(call.Target(), static_cast<T>(this->kInitial & this->kOperand));
  EXPECT_EQ(call.ValueResult(), this->kInitial);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, FetchOrReturnsOldValue) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kFetchOr, this->kInitial);
  call.SetArgument(1, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kFetchOr>(call)));
  EXPECT_EQ(call.Target(), static_cast<T>(this->kInitial | this->kOperand));
  EXPECT_EQ(call.ValueResult(), this->kInitial);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, CompareExchangeSwapsWhenExpectedMatches) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kCompareExchange, this->kInitial);
  call.SetArgument(1, this->kInitial);
  call.SetArgument(2, this->kOperand);
  EXPECT_TRUE((Perform<T, AtomicOp::kCompareExchange>(call)));
  EXPECT_EQ(call.Target(), this->kOperand);
  EXPECT_EQ(call.BoolResult(), 1);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, CompareExchangeFailsWhenExpectedDiffers) {
  using T = TypeParam;
  AtomicCall<T> call(AtomicOp::kCompareExchange, this->kInitial);
  call.SetArgument(1, static_cast<T>(this->kInitial ^ 1));  // differs in one bit only
  call.SetArgument(2, this->kOperand);
  EXPECT_FALSE((Perform<T, AtomicOp::kCompareExchange>(call)));
  EXPECT_EQ(call.Target(), this->kInitial);
  EXPECT_EQ(call.BoolResult(), 0);
  call.ExpectNothingElseTouched();
}

TYPED_TEST(PerformAtomicTest, ConcurrentFetchAddLosesNoUpdate) {
  using T = TypeParam;
  alignas(8) T counter = 0;
  constexpr int kThreads = 4, kAddsPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counter] {
      alignas(8) u8 frame[24];
      T* address = &counter;
      memcpy(frame, &address, sizeof(address));
      T one = 1;
      memcpy(frame + 8, &one, sizeof(T));
      for (int i = 0; i < kAddsPerThread; ++i) PerformAtomic<T, AtomicOp::kFetchAdd>(AtomicFrame{frame});
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, static_cast<T>(kThreads * kAddsPerThread));
}

}  // namespace
}  // namespace racert::go_abi
