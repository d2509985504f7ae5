#include "base/process_fence.h"

#include <linux/membarrier.h>  // MEMBARRIER_CMD_* (constants only)

#include <atomic>

#include "base/fatal.h"
#include "base/syscalls.h"

namespace racert {
namespace {

// Set once at start (before any thread relies on it), read on every fence.
constinit std::atomic<bool> registered{false};

}  // namespace

bool RegisterProcessFence() {
  sptr supported = SysMembarrier(MEMBARRIER_CMD_QUERY, 0);
  if (SysFailed(supported) || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
  if (SysFailed(SysMembarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0))) return false;
  registered.store(true, std::memory_order_release);
  return true;
}

bool ProcessFenceAvailable() { return registered.load(std::memory_order_acquire); }

void FenceEveryThread() {
  sptr result = SysMembarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0);
  if (SysFailed(result)) {
    Fatal("the process-wide memory fence (membarrier) failed with errno %d after it was registered; racert "
          "cannot keep its guarantees without it (report this with your kernel version)",
          static_cast<int>(SysErrno(result)));
  }
}

}  // namespace racert
