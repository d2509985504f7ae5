// A memory fence executed by every running thread of the process at once,
// on request of one of them (Linux membarrier, private expedited).
//
// It makes an asymmetric protocol possible: a thread that stores with plain
// instructions and then loads a location that another thread changes with a
// locked instruction needs no fence of its own, if that other thread calls
// FenceEveryThread() after its change and before reading what the first
// thread stored. Either the load sees the change, or the stores are visible
// to the other thread once the call returns. The cost (a system call and an
// interrupt to every CPU running a thread of the process) is only paid by the
// rare side.
#pragma once

namespace racert {

// Registers the process for the expedited fence. Returns false when the
// kernel does not offer it (before 4.14, or filtered by seccomp): then
// FenceEveryThread must not be used.
bool RegisterProcessFence();

// Whether RegisterProcessFence succeeded.
bool ProcessFenceAvailable();

// Waits until every other running thread of the process has executed a full
// memory barrier. Requires ProcessFenceAvailable(); a failure of the system
// call after a successful registration is fatal (it cannot happen by the
// kernel's contract, and silently skipping the fence could lose a race).
void FenceEveryThread();

}  // namespace racert
