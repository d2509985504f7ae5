#include "base/memory_map.h"

#include <gtest/gtest.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>

namespace racert {
namespace {

TEST(MemoryMapTest, Rounding) {
  EXPECT_EQ(RoundUp(0, 4096), 0u);
  EXPECT_EQ(RoundUp(1, 4096), 4096u);
  EXPECT_EQ(RoundUp(4096, 4096), 4096u);
  EXPECT_EQ(RoundUp(4097, 4096), 8192u);
  EXPECT_EQ(RoundDown(4097, 4096), 4096u);
  EXPECT_EQ(RoundDown(4095, 4096), 0u);
  EXPECT_EQ(RoundUp(17, 16), 32u);
  EXPECT_EQ(RoundDown(31, 16), 16u);
  EXPECT_TRUE(IsAligned(8192, 4096));
  EXPECT_FALSE(IsAligned(8193, 4096));
  EXPECT_EQ(kPageSize, 4096u);
}

TEST(MemoryMapTest, AnonymousMappingIsZeroedAndWritable) {
  const uptr size = 5 * kPageSize + 100;
  char* memory = static_cast<char*>(MapAnonymousOrDie(size, "test"));
  ASSERT_NE(memory, nullptr);
  EXPECT_TRUE(IsAligned(reinterpret_cast<uptr>(memory), kPageSize));
  for (uptr i = 0; i < size; i += 512) ASSERT_EQ(memory[i], 0);
  memset(memory, 0xab, size);
  UnmapOrDie(memory, size);

  void* other = MapAnonymousOrNull(kPageSize);
  ASSERT_NE(other, nullptr);
  UnmapOrDie(other, kPageSize);
}

TEST(MemoryMapTest, MapOrNullFailsForImpossibleSize) {
  EXPECT_EQ(MapAnonymousOrNull(~uptr{0} - kPageSize * 4), nullptr);
}

TEST(MemoryMapDeathTest, MapOrDieNamesWhatSizeAndErrno) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(MapAnonymousOrDie(uptr{1} << 62, "the shadow"), ::testing::ExitedWithCode(66),
              "racert: FATAL: cannot map 4611686018427387904 bytes \\(4398046511104 MiB\\) for the shadow: .*ENOMEM");
}

TEST(MemoryMapDeathTest, ReserveUnderAddressSpaceLimitNamesTheLimitAndTheRemedy) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto reserve_under_limit = [] {
    struct rlimit limit = {uptr{8} << 30, RLIM_INFINITY};
    setrlimit(RLIMIT_AS, &limit);
    ReserveAnonymousOrDie(uptr{64} << 30, "the cell sets");
  };
  EXPECT_EXIT(reserve_under_limit(), ::testing::ExitedWithCode(66),
              "racert: FATAL: cannot reserve 68719476736 bytes \\(65536 MiB\\) for the cell sets: out of address "
              "space \\(ENOMEM\\) under the address-space limit \\(ulimit -v\\) of 8388608 KiB; .*raise the limit "
              "\\(ulimit -v unlimited\\)");
}

TEST(MemoryMapTest, MapFixedNoReplaceErrorSaysWhy) {
  const uptr size = 4 * kPageSize;
  void* probe = MapAnonymousOrDie(size, "probe");
  uptr address = reinterpret_cast<uptr>(probe);
  EXPECT_EQ(MapFixedNoReplaceError(address, size), EEXIST);
  UnmapOrDie(probe, size);
  EXPECT_EQ(MapFixedNoReplaceError(address, size), 0);
  UnmapOrDie(probe, size);
}

TEST(MemoryMapTest, MapFixedNoReplaceMapsExactlyThereOnce) {
  // Find a free range by mapping and unmapping it.
  const uptr size = 16 * kPageSize;
  void* probe = MapAnonymousOrDie(size, "probe");
  uptr address = reinterpret_cast<uptr>(probe);
  UnmapOrDie(probe, size);

  ASSERT_EQ(MapFixedNoReplaceError(address, size), 0);
  char* memory = reinterpret_cast<char*>(address);
  memory[0] = 7;
  memory[size - 1] = 9;
  // The whole range, a sub-range and a range overlapping one end are all
  // occupied now.
  EXPECT_EQ(MapFixedNoReplaceError(address, size), EEXIST);
  EXPECT_EQ(MapFixedNoReplaceError(address + 4 * kPageSize, kPageSize), EEXIST);
  EXPECT_EQ(MapFixedNoReplaceError(address - kPageSize, 2 * kPageSize), EEXIST);
  // And the failed attempts did not disturb the existing contents.
  EXPECT_EQ(memory[0], 7);
  EXPECT_EQ(memory[size - 1], 9);
  UnmapOrDie(memory, size);
}

TEST(MemoryMapTest, MapFixedNoReplaceRejectsUnalignedAddress) {
  void* probe = MapAnonymousOrDie(4 * kPageSize, "probe");
  uptr address = reinterpret_cast<uptr>(probe);
  UnmapOrDie(probe, 4 * kPageSize);
  EXPECT_NE(MapFixedNoReplaceError(address + 8, kPageSize), 0);
}

TEST(MemoryMapTest, ReleaseMemoryToOSZeroesWholePagesOnly) {
  const uptr size = 8 * kPageSize;
  char* memory = static_cast<char*>(MapAnonymousOrDie(size, "release"));
  memset(memory, 0x5a, size);
  uptr begin = reinterpret_cast<uptr>(memory) + kPageSize + 100;   // inside page 1
  uptr end = reinterpret_cast<uptr>(memory) + 6 * kPageSize + 50;  // inside page 6
  ReleaseMemoryToOS(begin, end);
  for (uptr i = 0; i < size; i++) {
    bool released = i >= 2 * kPageSize && i < 6 * kPageSize;  // the whole pages in between
    ASSERT_EQ(memory[i], released ? 0 : 0x5a) << "offset " << i;
  }
  // Still mapped and usable.
  memory[3 * kPageSize] = 1;
  EXPECT_EQ(memory[3 * kPageSize], 1);
  // A range without a whole page in it is a no-op.
  ReleaseMemoryToOS(reinterpret_cast<uptr>(memory) + 10, reinterpret_cast<uptr>(memory) + 4000);
  EXPECT_EQ(memory[10], 0x5a);
  UnmapOrDie(memory, size);
}

struct Runs {
  uptr begin[16];
  uptr end[16];
  int count = 0;
};

void RecordRun(uptr begin, uptr end, void* context) {
  auto* runs = static_cast<Runs*>(context);
  ASSERT_LT(runs->count, 16);
  runs->begin[runs->count] = begin;
  runs->end[runs->count] = end;
  runs->count++;
}

TEST(MemoryMapTest, PopulatedPageRunsAreTheWrittenPages) {
  // 1100 pages: more than one read of the page map.
  const uptr pages = 1100;
  char* memory = static_cast<char*>(ReserveAnonymousOrDie(pages * kPageSize, "populated runs"));
  uptr base = reinterpret_cast<uptr>(memory);
  memory[3 * kPageSize] = 1;
  for (uptr p = 510; p < 515; p++) memory[p * kPageSize + 9] = 2;  // across the first batch's end
  memory[(pages - 1) * kPageSize] = 3;
  Runs runs;
  ForEachPopulatedPageRun(base, base + pages * kPageSize, RecordRun, &runs);
  ASSERT_EQ(runs.count, 3);
  EXPECT_EQ(runs.begin[0], base + 3 * kPageSize);
  EXPECT_EQ(runs.end[0], base + 4 * kPageSize);
  EXPECT_EQ(runs.begin[1], base + 510 * kPageSize);
  EXPECT_EQ(runs.end[1], base + 515 * kPageSize);
  EXPECT_EQ(runs.begin[2], base + (pages - 1) * kPageSize);
  EXPECT_EQ(runs.end[2], base + pages * kPageSize);

  // Released pages read as zero again and are no longer reported.
  ReleaseMemoryToOS(base + 510 * kPageSize, base + 515 * kPageSize);
  Runs after;
  ForEachPopulatedPageRun(base, base + pages * kPageSize, RecordRun, &after);
  ASSERT_EQ(after.count, 2);
  EXPECT_EQ(after.begin[1], base + (pages - 1) * kPageSize);

  // An untouched range has no run; an empty range none either.
  Runs none;
  ForEachPopulatedPageRun(base + 4 * kPageSize, base + 500 * kPageSize, RecordRun, &none);
  ForEachPopulatedPageRun(base, base, RecordRun, &none);
  EXPECT_EQ(none.count, 0);
  UnmapOrDie(memory, pages * kPageSize);
}

TEST(MemoryMapTest, AddressSpaceInUseCountsReservations) {
  uptr before = AddressSpaceInUse();
  ASSERT_GT(before, 0u);
  const uptr size = uptr{1} << 30;
  void* reserved = ReserveAnonymousOrDie(size, "counted");
  uptr during = AddressSpaceInUse();
  UnmapOrDie(reserved, size);
  // Other threads of the test process may map or unmap a little meanwhile.
  EXPECT_GT(during, before + size - (uptr{64} << 20));
  EXPECT_LT(during, before + size + (uptr{64} << 20));
}

}  // namespace
}  // namespace racert
