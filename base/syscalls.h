// Raw Linux x86-64 system calls.
//
// The runtime is linked into Go programs, where libc may be absent or may not
// be safe to call from the thread the runtime happens to run on, so everything
// OS-related goes straight to the kernel through inline `syscall` instructions.
//
// Every Sys* function returns the raw kernel result: a non-negative value on
// success, or -errno on failure (test with SysFailed, decode with SysErrno).
// Nothing here touches libc's `errno`.
#pragma once

#include "base/types.h"

namespace racert {

sptr SysMmap(void* addr, uptr length, int prot, int flags, int fd, u64 offset);
sptr SysMunmap(void* addr, uptr length);
sptr SysMadvise(void* addr, uptr length, int advice);

sptr SysWrite(int fd, const void* buf, uptr count);
sptr SysRead(int fd, void* buf, uptr count);
// pread64: reads at `offset` without moving the file position.
sptr SysPread(int fd, void* buf, uptr count, u64 offset);
// openat(AT_FDCWD, ...): relative paths resolve against the current directory.
sptr SysOpen(const char* path, int flags, int mode);
sptr SysClose(int fd);
// mkdirat(AT_FDCWD, ...).
sptr SysMkdir(const char* path, int mode);

sptr SysGetpid();
sptr SysSchedYield();

// FUTEX_WAIT_PRIVATE without timeout: sleeps while *addr == expected. Returns
// 0 when woken, -EAGAIN if *addr already differed, -EINTR on a signal. Callers
// must re-check their condition in every case (spurious wake-ups happen).
sptr SysFutexWait(u32* addr, u32 expected);
// FUTEX_WAKE_PRIVATE: wakes up to `count` waiters; returns how many woke.
sptr SysFutexWake(u32* addr, int count);

// membarrier(cmd, flags, 0): see base/process_fence.h.
sptr SysMembarrier(int cmd, unsigned flags);

// Ends every thread of the process immediately: no atexit handlers run.
[[noreturn]] void SysExitGroup(int code);

// Ends the process with SIGABRT and its default action (a core dump where
// the limits allow one), whatever handler the program installed: the
// handler is reset first and the signal unblocked. Falls back to
// exit_group(134) if the process somehow survives.
[[noreturn]] void SysAbortProcess();

// readlinkat(AT_FDCWD, ...): the link's target, not NUL-terminated; returns
// its length.
sptr SysReadlink(const char* path, char* buffer, uptr size);

// Sets the soft limit of core file size (RLIMIT_CORE) to 0, keeping the hard
// limit: the process no longer dumps core.
sptr SysDisableCoreDumps();

// The soft limit of the address space (RLIMIT_AS, what `ulimit -v` sets) in
// bytes, or ~0 when there is none or it cannot be read.
u64 SysAddressSpaceLimit();

// The kernel reports errors as values in [-4095, -1].
inline bool SysFailed(sptr result) { return result < 0 && result >= -4095; }
// The errno of a failed result, 0 for a successful one.
inline int SysErrno(sptr result) { return SysFailed(result) ? static_cast<int>(-result) : 0; }

// Sleeps at least `ms` milliseconds; a signal interrupting the sleep does not
// shorten it (the remaining time is slept again).
void SleepMilliseconds(u64 ms);

// Writes all `size` bytes, retrying partial writes and EINTR: returns 0, or
// the errno of the write that failed (EIO when the kernel accepted no bytes).
int WriteAllError(int fd, const char* data, uptr size);
// The same as a bool: true when everything was written.
bool WriteAll(int fd, const char* data, uptr size);

}  // namespace racert
