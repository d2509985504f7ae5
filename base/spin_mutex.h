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

#include "base/types.h"

namespace racert {

class SpinMutex {
 public:
  constexpr SpinMutex() = default;
  SpinMutex(const SpinMutex&) = delete;
  SpinMutex& operator=(const SpinMutex&) = delete;

  void Lock() {
    u32 expected = kUnlocked;
    if (RACERT_LIKELY(__atomic_compare_exchange_n(&state_, &expected, kLocked, /*weak=*/false,
                                                  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))) {
      return;
    }
    LockSlow();
  }

  bool TryLock() {
    u32 expected = kUnlocked;
    return __atomic_compare_exchange_n(&state_, &expected, kLocked, /*weak=*/false,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
  }

  void Unlock() {
    u32 previous = __atomic_exchange_n(&state_, kUnlocked, __ATOMIC_RELEASE);
    if (RACERT_UNLIKELY(previous == kLockedWithSleepers)) WakeOneSleeper();
  }

  // For assertions only: the answer may be stale by the time it is used.
  bool IsLocked() const { return __atomic_load_n(&state_, __ATOMIC_RELAXED) != kUnlocked; }

 private:
  static constexpr u32 kUnlocked = 0;
  static constexpr u32 kLocked = 1;
  // Locked, and a thread may be sleeping on the futex: Unlock must wake it.
  static constexpr u32 kLockedWithSleepers = 2;

  RACERT_NOINLINE void LockSlow();
  RACERT_NOINLINE void WakeOneSleeper();

  u32 state_ = kUnlocked;
};

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
