// base/process_fence.h: registration and the fence itself, and the
// store-buffering shape it exists for.
#include "base/process_fence.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/syscalls.h"

namespace racert {
namespace {

TEST(ProcessFenceTest, RegistersWhereTheKernelOffersItAndThenFences) {
  bool offered = RegisterProcessFence();
  EXPECT_EQ(ProcessFenceAvailable(), offered || ProcessFenceAvailable());
  if (!offered) GTEST_SKIP() << "membarrier private expedited is not offered here";
  FenceEveryThread();  // fatal on failure
}

// Store buffering: thread A stores x then loads y with plain instructions;
// thread B stores y (locked), fences every thread, then loads x. The outcome
// "both loads see 0" is allowed on x86 without fences; with B's process
// fence it must never happen.
TEST(ProcessFenceTest, AnAsymmetricFenceForbidsStoreBufferingOutcomes) {
  if (!RegisterProcessFence()) GTEST_SKIP() << "membarrier private expedited is not offered here";
  constexpr int kRounds = 2000;
  std::atomic<u64> x{0}, y{0};
  std::atomic<int> round{0};
  std::atomic<int> a_done{-1};
  int both_missed = 0;
  u64 seen_by_a[kRounds], seen_by_b[kRounds];
  std::thread a([&] {
    for (int r = 0; r < kRounds; r++) {
      while (round.load(std::memory_order_acquire) != r) {
      }
      x.store(r + 1, std::memory_order_relaxed);
      std::atomic_signal_fence(std::memory_order_seq_cst);
      seen_by_a[r] = y.load(std::memory_order_relaxed);
      a_done.store(r, std::memory_order_release);
    }
  });
  for (int r = 0; r < kRounds; r++) {
    round.store(r, std::memory_order_release);
    y.exchange(r + 1, std::memory_order_seq_cst);
    FenceEveryThread();
    seen_by_b[r] = x.load(std::memory_order_relaxed);
    while (a_done.load(std::memory_order_acquire) != r) {
    }
    if (seen_by_a[r] != static_cast<u64>(r + 1) && seen_by_b[r] != static_cast<u64>(r + 1)) both_missed++;
  }
  a.join();
  EXPECT_EQ(both_missed, 0);
}

}  // namespace
}  // namespace racert
