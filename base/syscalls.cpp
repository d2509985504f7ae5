#include "base/syscalls.h"

#include <fcntl.h>        // AT_FDCWD (constant only)
#include <linux/futex.h>  // FUTEX_* (constants only)
#include <sys/syscall.h>  // SYS_* numbers (constants only)
#include <time.h>         // CLOCK_MONOTONIC, struct timespec (no function calls)

#if !defined(__x86_64__) || !defined(__linux__)
#error "base/syscalls.cpp implements the Linux x86-64 system call convention only"
#endif

namespace racert {
namespace {

// x86-64 convention: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9;
// the kernel clobbers rcx and r11. "memory" because the kernel may read or
// write through any pointer argument.
RACERT_ALWAYS_INLINE sptr Syscall0(long number) {
  sptr result;
  asm volatile("syscall" : "=a"(result) : "a"(number) : "rcx", "r11", "memory");
  return result;
}

RACERT_ALWAYS_INLINE sptr Syscall1(long number, uptr a1) {
  sptr result;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a1) : "rcx", "r11", "memory");
  return result;
}

RACERT_ALWAYS_INLINE sptr Syscall2(long number, uptr a1, uptr a2) {
  sptr result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2)
               : "rcx", "r11", "memory");
  return result;
}

RACERT_ALWAYS_INLINE sptr Syscall3(long number, uptr a1, uptr a2, uptr a3) {
  sptr result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2), "d"(a3)
               : "rcx", "r11", "memory");
  return result;
}

RACERT_ALWAYS_INLINE sptr Syscall4(long number, uptr a1, uptr a2, uptr a3, uptr a4) {
  sptr result;
  register uptr r10 asm("r10") = a4;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
               : "rcx", "r11", "memory");
  return result;
}

RACERT_ALWAYS_INLINE sptr Syscall6(long number, uptr a1, uptr a2, uptr a3, uptr a4, uptr a5,
                                   uptr a6) {
  sptr result;
  register uptr r10 asm("r10") = a4;
  register uptr r8 asm("r8") = a5;
  register uptr r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}

template <typename T>
RACERT_ALWAYS_INLINE uptr Arg(T value) {
  return (uptr)value;
}

constexpr sptr kEintr = -4;  // -EINTR

}  // namespace

sptr SysMmap(void* addr, uptr length, int prot, int flags, int fd, u64 offset) {
  return Syscall6(SYS_mmap, Arg(addr), length, Arg(prot), Arg(flags), Arg(fd), offset);
}

sptr SysMunmap(void* addr, uptr length) { return Syscall2(SYS_munmap, Arg(addr), length); }

sptr SysMadvise(void* addr, uptr length, int advice) {
  return Syscall3(SYS_madvise, Arg(addr), length, Arg(advice));
}

sptr SysWrite(int fd, const void* buf, uptr count) {
  return Syscall3(SYS_write, Arg(fd), Arg(buf), count);
}

sptr SysRead(int fd, void* buf, uptr count) {
  return Syscall3(SYS_read, Arg(fd), Arg(buf), count);
}

sptr SysPread(int fd, void* buf, uptr count, u64 offset) {
  return Syscall4(SYS_pread64, Arg(fd), Arg(buf), count, offset);
}

sptr SysOpen(const char* path, int flags, int mode) {
  return Syscall4(SYS_openat, Arg(AT_FDCWD), Arg(path), Arg(flags), Arg(mode));
}

sptr SysClose(int fd) { return Syscall1(SYS_close, Arg(fd)); }

sptr SysMkdir(const char* path, int mode) {
  return Syscall3(SYS_mkdirat, Arg(AT_FDCWD), Arg(path), Arg(mode));
}

sptr SysMembarrier(int cmd, unsigned flags) { return Syscall3(SYS_membarrier, Arg(cmd), Arg(flags), 0); }

sptr SysGetpid() { return Syscall0(SYS_getpid); }

sptr SysSchedYield() { return Syscall0(SYS_sched_yield); }

sptr SysFutexWait(u32* addr, u32 expected) {
  return Syscall4(SYS_futex, Arg(addr), Arg(FUTEX_WAIT_PRIVATE), expected, /*timeout=*/0);
}

sptr SysFutexWake(u32* addr, int count) {
  return Syscall3(SYS_futex, Arg(addr), Arg(FUTEX_WAKE_PRIVATE), Arg(count));
}

void SysExitGroup(int code) {
  for (;;) Syscall1(SYS_exit_group, Arg(code));  // exit_group does not return
}

void SysAbortProcess() {
  // The kernel's struct sigaction for rt_sigaction: handler, flags, restorer, mask.
  struct KernelSigaction {
    uptr handler;
    unsigned long flags;
    uptr restorer;
    u64 mask;
  };
  constexpr int kSigabrt = 6;
  constexpr uptr kSigDefault = 0;
  constexpr int kSigUnblock = 1;
  KernelSigaction action = {kSigDefault, 0, 0, 0};
  Syscall4(SYS_rt_sigaction, Arg(kSigabrt), Arg(&action), 0, sizeof(u64));
  u64 unblock = u64{1} << (kSigabrt - 1);
  Syscall4(SYS_rt_sigprocmask, Arg(kSigUnblock), Arg(&unblock), 0, sizeof(u64));
  sptr pid = Syscall0(SYS_getpid);
  sptr tid = Syscall0(SYS_gettid);
  Syscall3(SYS_tgkill, Arg(pid), Arg(tid), Arg(kSigabrt));
  SysExitGroup(128 + kSigabrt);
}

sptr SysReadlink(const char* path, char* buffer, uptr size) {
  return Syscall4(SYS_readlinkat, Arg(AT_FDCWD), Arg(path), Arg(buffer), Arg(size));
}

namespace {

// The kernel's struct rlimit64, for prlimit64 on this process.
struct ResourceLimit {
  u64 soft;
  u64 hard;
};
constexpr int kRlimitCore = 4;
constexpr int kRlimitAs = 9;

sptr GetResourceLimit(int resource, ResourceLimit* limit) {
  return Syscall4(SYS_prlimit64, 0, Arg(resource), 0, Arg(limit));
}

}  // namespace

sptr SysDisableCoreDumps() {
  ResourceLimit old_limit = {};
  sptr result = GetResourceLimit(kRlimitCore, &old_limit);
  if (SysFailed(result)) return result;
  ResourceLimit new_limit = {0, old_limit.hard};
  return Syscall4(SYS_prlimit64, 0, Arg(kRlimitCore), Arg(&new_limit), 0);
}

u64 SysAddressSpaceLimit() {
  ResourceLimit limit = {};
  if (SysFailed(GetResourceLimit(kRlimitAs, &limit))) return ~u64{0};
  return limit.soft;
}

void SleepMilliseconds(u64 ms) {
  struct timespec request = {};
  request.tv_sec = static_cast<time_t>(ms / 1000);
  request.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  for (;;) {
    struct timespec remaining = {};
    sptr result = Syscall2(SYS_nanosleep, Arg(&request), Arg(&remaining));
    if (result != kEintr) return;
    request = remaining;
  }
}

int WriteAllError(int fd, const char* data, uptr size) {
  constexpr int kEio = 5;
  while (size > 0) {
    sptr written = SysWrite(fd, data, size);
    if (written == kEintr) continue;
    if (SysFailed(written)) return SysErrno(written);
    if (written == 0) return kEio;
    data += written;
    size -= static_cast<uptr>(written);
  }
  return 0;
}

bool WriteAll(int fd, const char* data, uptr size) { return WriteAllError(fd, data, size) == 0; }

}  // namespace racert
