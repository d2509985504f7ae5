#include "base/syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

namespace racert {
namespace {

TEST(SyscallsTest, FailedAndErrnoDecoding) {
  EXPECT_FALSE(SysFailed(0));
  EXPECT_FALSE(SysFailed(12345));
  EXPECT_TRUE(SysFailed(-1));
  EXPECT_TRUE(SysFailed(-4095));
  EXPECT_FALSE(SysFailed(-4096));  // e.g. a high mmap address is not an error
  EXPECT_EQ(SysErrno(-EINVAL), EINVAL);
  EXPECT_EQ(SysErrno(7), 0);
}

TEST(SyscallsTest, GetpidMatchesLibc) {
  EXPECT_EQ(SysGetpid(), static_cast<sptr>(getpid()));
}

TEST(SyscallsTest, WriteAndReadThroughPipe) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const char message[] = "hello through a pipe";
  EXPECT_EQ(SysWrite(fds[1], message, sizeof(message)), static_cast<sptr>(sizeof(message)));
  char received[64] = {};
  EXPECT_EQ(SysRead(fds[0], received, sizeof(received)), static_cast<sptr>(sizeof(message)));
  EXPECT_STREQ(received, message);
  EXPECT_EQ(SysClose(fds[0]), 0);
  EXPECT_EQ(SysClose(fds[1]), 0);
  EXPECT_EQ(SysClose(fds[1]), -EBADF);  // closed already
}

TEST(SyscallsTest, WriteToBadFdReportsErrno) {
  sptr result = SysWrite(-1, "x", 1);
  EXPECT_TRUE(SysFailed(result));
  EXPECT_EQ(SysErrno(result), EBADF);
  EXPECT_FALSE(WriteAll(-1, "x", 1));
}

TEST(SyscallsTest, WriteAllErrorSaysWhy) {
  EXPECT_EQ(WriteAllError(-1, "x", 1), EBADF);
  int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(WriteAllError(fd, "report", 6), ENOSPC);
  EXPECT_FALSE(WriteAll(fd, "report", 6));
  close(fd);
}

TEST(SyscallsTest, AddressSpaceLimitIsReadable) {
  struct rlimit limit = {};
  ASSERT_EQ(getrlimit(RLIMIT_AS, &limit), 0);
  u64 expected = limit.rlim_cur == RLIM_INFINITY ? ~u64{0} : limit.rlim_cur;
  EXPECT_EQ(SysAddressSpaceLimit(), expected);
}

TEST(SyscallsTest, WriteAllHandlesPartialWrites) {
  // A pipe holds 64 KiB by default: writing 1 MiB forces many partial writes
  // while a reader drains it.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<char>('a' + i % 26);
  std::string received;
  std::thread reader([&] {
    char chunk[4096];
    for (;;) {
      ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) break;
      received.append(chunk, static_cast<size_t>(n));
    }
  });
  EXPECT_TRUE(WriteAll(fds[1], payload.data(), payload.size()));
  close(fds[1]);
  reader.join();
  close(fds[0]);
  EXPECT_EQ(received.size(), payload.size());
  EXPECT_TRUE(received == payload);
}

TEST(SyscallsTest, OpenMkdirWriteClose) {
  char dir_template[] = "/tmp/racert_syscalls_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string subdir = std::string(dir_template) + "/sub";
  EXPECT_EQ(SysMkdir(subdir.c_str(), 0750), 0);
  EXPECT_EQ(SysMkdir(subdir.c_str(), 0750), -EEXIST);
  std::string file = subdir + "/log.txt";
  mode_t old_umask = umask(022);
  sptr fd = SysOpen(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  umask(old_umask);
  ASSERT_FALSE(SysFailed(fd)) << SysErrno(fd);
  EXPECT_TRUE(WriteAll(static_cast<int>(fd), "line\n", 5));
  EXPECT_EQ(SysClose(static_cast<int>(fd)), 0);
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 5);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(SysOpen((subdir + "/missing/x").c_str(), O_RDONLY, 0), -ENOENT);
  unlink(file.c_str());
  rmdir(subdir.c_str());
  rmdir(dir_template);
}

TEST(SyscallsTest, MmapMadviseMunmap) {
  const uptr size = 3 * 4096;
  sptr result = SysMmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_FALSE(SysFailed(result));
  char* memory = reinterpret_cast<char*>(result);
  memory[0] = 1;
  memory[size - 1] = 2;
  EXPECT_EQ(SysMadvise(memory, size, MADV_DONTNEED), 0);
  EXPECT_EQ(memory[0], 0);
  EXPECT_EQ(SysMunmap(memory, size), 0);
  EXPECT_EQ(SysMmap(nullptr, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
}

// CLOCK_MONOTONIC in nanoseconds, from libc (the test's clock, not the code under test).
u64 MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<u64>(now.tv_sec) * 1000000000ull + static_cast<u64>(now.tv_nsec);
}

TEST(SyscallsTest, SleepLastsAtLeastTheRequestedTime) {
  for (u64 ms : {0ull, 1ull, 30ull, 120ull}) {
    u64 start = MonotonicNanos();
    SleepMilliseconds(ms);
    u64 elapsed = MonotonicNanos() - start;
    EXPECT_GE(elapsed, ms * 1000000ull) << ms << " ms";
  }
}

std::atomic<int> g_signals_seen{0};
void CountSignal(int) { g_signals_seen.fetch_add(1); }

TEST(SyscallsTest, SleepContinuesAfterSignal) {
  struct sigaction action = {};
  action.sa_handler = CountSignal;  // no SA_RESTART: nanosleep returns EINTR
  struct sigaction previous;
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  g_signals_seen = 0;
  pthread_t sleeper = pthread_self();
  std::atomic<bool> done{false};
  std::thread interrupter([&] {
    // Interrupt the sleeping thread a few times during its 200 ms sleep.
    for (int i = 0; i < 4 && !done; i++) {
      usleep(30000);
      pthread_kill(sleeper, SIGUSR1);
    }
  });
  u64 start = MonotonicNanos();
  SleepMilliseconds(200);
  u64 elapsed = MonotonicNanos() - start;
  done = true;
  interrupter.join();
  sigaction(SIGUSR1, &previous, nullptr);
  EXPECT_GE(g_signals_seen.load(), 1);
  EXPECT_GE(elapsed, 200000000ull);
}

TEST(SyscallsTest, FutexWaitReturnsImmediatelyOnMismatchAndWakes) {
  u32 word = 5;
  EXPECT_EQ(SysFutexWait(&word, 6), -EAGAIN);
  EXPECT_EQ(SysFutexWake(&word, 1), 0);  // nobody waiting

  std::atomic<u32> state{0};
  u32* raw = reinterpret_cast<u32*>(&state);
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    while (state.load() == 0) SysFutexWait(raw, 0);
    woke = true;
  });
  usleep(20000);
  EXPECT_FALSE(woke.load());
  state.store(1);
  SysFutexWake(raw, 1);
  waiter.join();
  EXPECT_TRUE(woke.load());
}

TEST(SyscallsTest, SchedYieldSucceeds) { EXPECT_EQ(SysSchedYield(), 0); }

TEST(SyscallsDeathTest, ExitGroupUsesTheCode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(SysExitGroup(37), ::testing::ExitedWithCode(37), "");
}

}  // namespace
}  // namespace racert
