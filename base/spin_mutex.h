// A small mutual-exclusion lock for runtime-internal data.
//
// Zero-initialized memory is an unlocked SpinMutex (constexpr constructor, no
// static initialization), so it can live in globals and in mmap'd memory.
// Not recursive. Lock ownership is not tied to an OS thread: Unlock may run on
// a different thread than Lock (a goroutine can migrate between them).
//
// Waiting escalates: a short burst of `pause` spins (the common case is a
// holder that releases within nanoseconds), then a few sched_yield calls,
// then sleeping on a futex. The state word records whether anyone may be
// asleep, so an uncontended Unlock is a single atomic exchange with no syscall.
#pragma once

#include <atomic>

#include "base/types.h"

namespace racert {

class SpinMutex {
 public:
  constexpr SpinMutex() = default;
  SpinMutex(const SpinMutex&) = delete;
  SpinMutex& operator=(const SpinMutex&) = delete;

  void Lock() {
    u32 expected = kUnlocked;
    if (RACERT_LIKELY(state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                                     std::memory_order_relaxed))) {
      return;
    }
    LockSlow();
  }

  bool TryLock() {
    u32 expected = kUnlocked;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire, std::memory_order_relaxed);
  }

  void Unlock() {
    u32 previous = state_.exchange(kUnlocked, std::memory_order_release);
    if (RACERT_UNLIKELY(previous == kLockedWithSleepers)) WakeOneSleeper();
  }

  // For assertions only: the answer may be stale by the time it is used.
  bool IsLocked() const { return state_.load(std::memory_order_relaxed) != kUnlocked; }

 private:
  static constexpr u32 kUnlocked = 0;
  static constexpr u32 kLocked = 1;
  // Locked, and a thread may be sleeping on the futex: Unlock must wake it.
  static constexpr u32 kLockedWithSleepers = 2;

  RACERT_NOINLINE void LockSlow();
  RACERT_NOINLINE void WakeOneSleeper();
  // The futex syscalls take the address of a u32, which only the kernel
  // reads: the state's own (a std::atomic<u32> is a u32 in memory).
  u32* FutexWord() { return reinterpret_cast<u32*>(&state_); }

  std::atomic<u32> state_{kUnlocked};
};
// The state is a u32 in memory: zero-filled memory is an unlocked mutex,
// layouts count on its size (the sync table's 16-byte buckets), and the
// futex word is the state itself.
static_assert(sizeof(std::atomic<u32>) == sizeof(u32) && alignof(std::atomic<u32>) == alignof(u32));
static_assert(std::atomic<u32>::is_always_lock_free);
static_assert(sizeof(SpinMutex) == sizeof(u32));

// Holds a SpinMutex for the lifetime of the scope.
class SpinMutexLock {
 public:
  explicit SpinMutexLock(SpinMutex* mutex) : mutex_(mutex) { mutex_->Lock(); }
  ~SpinMutexLock() { mutex_->Unlock(); }
  SpinMutexLock(const SpinMutexLock&) = delete;
  SpinMutexLock& operator=(const SpinMutexLock&) = delete;

 private:
  SpinMutex* mutex_;
};

}  // namespace racert
