// The checks MapShadow makes in per-arena mode (under an address-space limit)
// against what the client said its runtime needs (ClientAddressSpace in
// shadow/shadow_map.h): they use only the client's figures and texts, and do
// nothing without a client description. Each test lowers RLIMIT_AS, so each
// runs in a fresh process (a "threadsafe" death test re-executes the binary
// for the statement) that ends with exit status 0 when every check held.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>

#include "base/memory_map.h"
#include "shadow/shadow_map.h"

namespace racert {
namespace {

constexpr uptr kMiB = uptr{1} << 20;
// "Data and bss" the test registers: outside any heap window (the child names
// none), its shadow far from anything the test binary maps.
constexpr uptr kData = uptr{0x00a000000000};
constexpr uptr kDataSize = kMiB;

constexpr ClientAddressSpace kTestClient{.runtime_reserve = 0,
                                         .start_minimum = 512 * kMiB,
                                         .start_warning = 1024 * kMiB,
                                         .heap_warning = 1024 * kMiB,
                                         .runtime_name = "the test runtime",
                                         .start_parts = "test parts",
                                         .start_estimate = "about a test",
                                         .failure_messages = "\"test failure\""};

// Lowers the soft RLIMIT_AS so that about `left` bytes remain after the data
// range's shadow (3 bytes per byte) is mapped.
void LeaveAfterDataShadow(uptr left) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0) _exit(10);
  limit.rlim_cur = AddressSpaceInUse() + 3 * kDataSize + left;
  if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(11);
}

// Sends fd 2 to a fresh temporary file; returns that file's descriptor.
int CaptureStderr() {
  char path[] = "/tmp/racert_client_address_space_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || unlink(path) != 0 || dup2(fd, 2) != 2) _exit(12);
  return fd;
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t got;
  for (off_t offset = 0; (got = pread(fd, buffer, sizeof(buffer), offset)) > 0; offset += got) {
    text.append(buffer, static_cast<size_t>(got));
  }
  return text;
}

TEST(ClientAddressSpaceDeathTest, TooLittleLeftForTheClientToStartIsFatalWithItsFigureAndTexts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    SetClientAddressSpace(kTestClient);
    UseShadowPerArena();
    LeaveAfterDataShadow(256 * kMiB);
    MapShadow(kData, kDataSize);
    _exit(2);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(66),
              "racert: FATAL: the address-space limit \\(ulimit -v\\) of [0-9]+ KiB leaves 2[0-9][0-9] MiB after the "
              "program's data and bss \\[0xa000000000, 0xa000100000\\) \\(1 MiB\\) and their shadow \\(3 bytes per "
              "byte, 3 MiB\\): the test runtime reserves at least 512 MiB more to start \\(test parts\\); raise the "
              "limit above [0-9]+ KiB");
}

TEST(ClientAddressSpaceDeathTest, LittleLeftGetsOneWarningWithTheClientsTexts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    SetClientAddressSpace(kTestClient);
    UseShadowPerArena();
    LeaveAfterDataShadow(768 * kMiB);  // above the start minimum, below the warning
    int captured = CaptureStderr();
    MapShadow(kData, kDataSize);
    MapShadow(kData + 4 * kDataSize, kDataSize);  // less still, but warned already
    const std::string text = ReadAll(captured);
    const std::string tail =
        "; under racert a byte of heap takes 4 bytes of address space (itself and 3 of shadow), and the test "
        "runtime reserves about a test more to start; if the program then stops in the test runtime (\"test "
        "failure\"), the limit is the cause: raise it (ulimit -v unlimited)\n";
    if (text.rfind("racert: warning: ", 0) != 0) _exit(3);
    if (text.find("are left after mapping shadow for [0xa000000000, 0xa000100000) (1 MiB)") == std::string::npos) {
      _exit(4);
    }
    if (text.size() < tail.size() || text.compare(text.size() - tail.size(), tail.size(), tail) != 0) _exit(5);
    _exit(text.find('\n') == text.size() - 1 ? 0 : 6);  // one line
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

TEST(ClientAddressSpaceDeathTest, WithoutAClientDescriptionNothingIsCheckedOrSaid) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto run = [] {
    UseShadowPerArena();
    LeaveAfterDataShadow(64 * kMiB);
    int captured = CaptureStderr();
    MapShadow(kData, kDataSize);
    _exit(ReadAll(captured).empty() ? 0 : 3);
  };
  EXPECT_EXIT(run(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace racert
