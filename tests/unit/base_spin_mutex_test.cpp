#include "base/spin_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace racert {
namespace {

// Constant-initialized: the constexpr constructor must allow this.
constinit SpinMutex g_global_mutex;

TEST(SpinMutexTest, ZeroInitializedIsUnlocked) {
  alignas(SpinMutex) static unsigned char zeroed[sizeof(SpinMutex)];
  SpinMutex* mutex = reinterpret_cast<SpinMutex*>(zeroed);
  EXPECT_FALSE(mutex->IsLocked());
  EXPECT_TRUE(mutex->TryLock());
  mutex->Unlock();
  EXPECT_FALSE(g_global_mutex.IsLocked());
}

TEST(SpinMutexTest, TryLockFailsWhileHeld) {
  SpinMutex mutex;
  mutex.Lock();
  EXPECT_TRUE(mutex.IsLocked());
  EXPECT_FALSE(mutex.TryLock());
  mutex.Unlock();
  EXPECT_FALSE(mutex.IsLocked());
  EXPECT_TRUE(mutex.TryLock());
  mutex.Unlock();
}

TEST(SpinMutexTest, ScopedLockReleasesAtScopeEnd) {
  SpinMutex mutex;
  {
    SpinMutexLock lock(&mutex);
    EXPECT_TRUE(mutex.IsLocked());
  }
  EXPECT_FALSE(mutex.IsLocked());
}

// A non-atomic read-modify-write with a deliberate window between the read
// and the write: any failure of mutual exclusion loses increments.
void IncrementSlowly(u64* counter) {
  u64 value = *reinterpret_cast<volatile u64*>(counter);
  __builtin_ia32_pause();
  *reinterpret_cast<volatile u64*>(counter) = value + 1;
}

void HammerCounter(SpinMutex* mutex, u64* counter, int iterations, std::atomic<int>* ready,
                   int thread_count) {
  // Start together: otherwise each thread may finish before the next starts.
  ready->fetch_add(1);
  while (ready->load() < thread_count) {
  }
  for (int i = 0; i < iterations; i++) {
    SpinMutexLock lock(mutex);
    IncrementSlowly(counter);
  }
}

TEST(SpinMutexTest, MutualExclusionUnderContention) {
  constexpr int kThreads = 4;
  constexpr int kIterations = 100000;
  SpinMutex mutex;
  u64 counter = 0;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back(HammerCounter, &mutex, &counter, kIterations, &ready, kThreads);
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, static_cast<u64>(kThreads) * kIterations);
  EXPECT_FALSE(mutex.IsLocked());
}

TEST(SpinMutexTest, WaitersSleepingOnTheFutexAreWoken) {
  // Hold the lock long enough that waiters exhaust spinning and yielding and
  // go to sleep; releasing must wake them all eventually.
  SpinMutex mutex;
  mutex.Lock();
  std::atomic<int> acquired{0};
  std::vector<std::thread> waiters;
  for (int t = 0; t < 6; t++) {
    waiters.emplace_back([&] {
      mutex.Lock();
      acquired.fetch_add(1);
      mutex.Unlock();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(acquired.load(), 0);
  mutex.Unlock();
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(acquired.load(), 6);
  EXPECT_FALSE(mutex.IsLocked());
}

TEST(SpinMutexTest, UnlockFromAnotherThread) {
  // Goroutines migrate: the unlocking thread may differ from the locker.
  SpinMutex mutex;
  mutex.Lock();
  std::thread other([&] { mutex.Unlock(); });
  other.join();
  EXPECT_TRUE(mutex.TryLock());
  mutex.Unlock();
}

TEST(SpinMutexTest, ManyLocksMixedTryLock) {
  constexpr int kThreads = 4;
  SpinMutex mutex;
  u64 counter = 0;
  std::atomic<u64> successes{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int i = 0; i < 50000; i++) {
        if (t % 2 == 0) {
          SpinMutexLock lock(&mutex);
          IncrementSlowly(&counter);
          successes.fetch_add(1, std::memory_order_relaxed);
        } else if (mutex.TryLock()) {
          IncrementSlowly(&counter);
          successes.fetch_add(1, std::memory_order_relaxed);
          mutex.Unlock();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, successes.load());
  EXPECT_GE(counter, 2u * 50000u);
}

}  // namespace
}  // namespace racert
