#include "base/spin_mutex.h"

#include "base/syscalls.h"

namespace racert {

namespace {
constexpr int kSpinIterations = 100;
constexpr int kYieldIterations = 10;
}  // namespace

void SpinMutex::LockSlow() {
  for (int i = 0; i < kSpinIterations; i++) {
    __builtin_ia32_pause();
    if (state_.load(std::memory_order_relaxed) == kUnlocked && TryLock()) return;
  }
  for (int i = 0; i < kYieldIterations; i++) {
    SysSchedYield();
    if (state_.load(std::memory_order_relaxed) == kUnlocked && TryLock()) return;
  }
  // From here on we take the lock in the "with sleepers" state even if we end
  // up not sleeping: we cannot know whether other threads are asleep, so the
  // conservative state makes our Unlock wake one (at worst a spurious wake).
  while (state_.exchange(kLockedWithSleepers, std::memory_order_acquire) != kUnlocked) {
    SysFutexWait(FutexWord(), kLockedWithSleepers);
  }
}

void SpinMutex::WakeOneSleeper() { SysFutexWake(FutexWord(), 1); }

}  // namespace racert
