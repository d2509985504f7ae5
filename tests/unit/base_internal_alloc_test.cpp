#include "base/internal_alloc.h"

#include <gtest/gtest.h>
#include <string.h>

#include <atomic>
#include <random>
#include <thread>
#include <utility>
#include <vector>

namespace racert {
namespace {

bool AllZero(const void* p, uptr size) {
  const unsigned char* bytes = static_cast<const unsigned char*>(p);
  for (uptr i = 0; i < size; i++) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

TEST(InternalAllocTest, BlockSizesFollowTheClassScheme) {
  EXPECT_EQ(InternalAllocBlockSizeForTesting(0), 16u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(1), 16u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(16), 16u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(17), 32u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(32), 32u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(33), 48u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(48), 48u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(49), 64u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(65), 96u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(97), 128u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(1000), 1024u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(1025), 1536u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(49152), 49152u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(49153), 65536u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(65536), 65536u);
  EXPECT_EQ(InternalAllocBlockSizeForTesting(65537), 65536u + 4096u);
  // Every small size fits its block, and blocks are never more than 1.5x the
  // request (beyond the 16-byte minimum).
  for (uptr size = 1; size <= 65536; size++) {
    uptr block = InternalAllocBlockSizeForTesting(size);
    ASSERT_GE(block, size);
    ASSERT_EQ(block % 16, 0u) << size;
    if (size > 32) {
      ASSERT_LE(block * 2, size * 3 + 2) << size;
    }
  }
}

TEST(InternalAllocTest, ManySizesAreZeroedAlignedAndUsable) {
  std::vector<std::pair<unsigned char*, uptr>> blocks;
  for (uptr size = 0; size < 3000; size += 7) blocks.push_back({nullptr, size});
  for (uptr size : {4096u, 10000u, 49152u, 49153u, 65536u, 65537u, 100000u, 1u << 20}) {
    blocks.push_back({nullptr, size});
  }
  for (auto& [p, size] : blocks) {
    p = static_cast<unsigned char*>(InternalAlloc(size));
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(reinterpret_cast<uptr>(p) % 16, 0u) << size;
    ASSERT_TRUE(AllZero(p, size)) << size;
    memset(p, static_cast<int>(size & 0xff) | 1, size);
  }
  // No two live blocks overlap: every block still holds its own fill pattern.
  for (auto& [p, size] : blocks) {
    for (uptr i = 0; i < size; i++) {
      ASSERT_EQ(p[i], static_cast<unsigned char>(static_cast<int>(size & 0xff) | 1)) << size;
    }
  }
  for (auto& [p, size] : blocks) InternalFree(p, size);
}

TEST(InternalAllocTest, ReusedBlocksAreZeroedAgain) {
  for (uptr size : {1u, 8u, 16u, 40u, 100u, 4000u, 65536u}) {
    std::vector<void*> blocks;
    for (int i = 0; i < 50; i++) {
      void* p = InternalAlloc(size);
      memset(p, 0xee, size);
      blocks.push_back(p);
    }
    for (void* p : blocks) InternalFree(p, size);
    // The free list hands back the same blocks (LIFO) and they must be clean.
    int reused = 0;
    std::vector<void*> again;
    for (int i = 0; i < 50; i++) {
      void* p = InternalAlloc(size);
      for (void* old : blocks) reused += (old == p);
      ASSERT_TRUE(AllZero(p, size)) << "size " << size;
      again.push_back(p);
    }
    EXPECT_EQ(reused, 50) << "size " << size;
    for (void* p : again) InternalFree(p, size);
  }
}

TEST(InternalAllocTest, FreeingNullIsAllowed) {
  InternalFree(nullptr, 0);
  InternalFree(nullptr, 100);
  InternalFree(nullptr, 1 << 20);
}

TEST(InternalAllocTest, StatsTrackBlocksAndMappings) {
  uptr allocated = InternalAllocatedBytesForTesting();
  void* small = InternalAlloc(100);
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated + 128);
  uptr mapped = InternalMappedBytesForTesting();
  void* big = InternalAlloc(200000);
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated + 128 + ((200000u + 4095u) & ~4095u));
  EXPECT_EQ(InternalMappedBytesForTesting(), mapped + ((200000u + 4095u) & ~4095u));
  InternalFree(big, 200000);
  EXPECT_EQ(InternalMappedBytesForTesting(), mapped);
  InternalFree(small, 100);
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated);
}

TEST(InternalAllocTest, BigBlocksAreUnmappedOnFree) {
  uptr mapped = InternalMappedBytesForTesting();
  for (int i = 0; i < 100; i++) {
    uptr size = (uptr{1} << 20) + static_cast<uptr>(i) * 4099;
    char* p = static_cast<char*>(InternalAlloc(size));
    ASSERT_TRUE(p[0] == 0 && p[size - 1] == 0);
    p[size - 1] = 1;
    InternalFree(p, size);
  }
  EXPECT_EQ(InternalMappedBytesForTesting(), mapped);
}

TEST(InternalAllocTest, ConcurrentAllocFree) {
  constexpr int kThreads = 4;
  uptr allocated_before = InternalAllocatedBytesForTesting();
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t, &failures, &ready] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      std::mt19937 rng(1234 + t);
      std::vector<std::pair<unsigned char*, uptr>> live;
      for (int i = 0; i < 30000; i++) {
        if (live.empty() || rng() % 3 != 0) {
          // Mostly small blocks; now and then one of the big classes or a
          // directly mapped block.
          uptr size = rng() % 40 == 0 ? rng() % 100000 : rng() % 512;
          unsigned char* p = static_cast<unsigned char*>(InternalAlloc(size));
          if (!AllZero(p, size)) failures.fetch_add(1);
          // Stamp the block with the owner so cross-thread reuse of a live
          // block would be detected.
          memset(p, t + 1, size);
          live.push_back({p, size});
        } else {
          uptr index = rng() % live.size();
          auto [p, size] = live[index];
          for (uptr k = 0; k < size; k++) {
            if (p[k] != t + 1) {
              failures.fetch_add(1);
              break;
            }
          }
          InternalFree(p, size);
          live[index] = live.back();
          live.pop_back();
        }
      }
      for (auto [p, size] : live) InternalFree(p, size);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated_before);
}

TEST(InternalAllocTest, ConcurrentChurnInOneSizeClass) {
  // Maximum contention on a single free list: a block handed to two threads
  // at once, or lost from the list, shows up as a foreign stamp or as a
  // mismatch in the statistics.
  constexpr int kThreads = 4;
  constexpr uptr kSize = 40;  // the 48-byte class
  uptr allocated_before = InternalAllocatedBytesForTesting();
  std::atomic<int> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t, &failures, &ready] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      std::vector<unsigned char*> held;
      for (int i = 0; i < 200000; i++) {
        unsigned char* p = static_cast<unsigned char*>(InternalAlloc(kSize));
        if (!AllZero(p, kSize)) failures.fetch_add(1);
        memset(p, t + 1, kSize);
        held.push_back(p);
        if (held.size() == 4 || i % 7 == 0) {
          for (unsigned char* q : held) {
            for (uptr k = 0; k < kSize; k++) {
              if (q[k] != t + 1) {
                failures.fetch_add(1);
                break;
              }
            }
            InternalFree(q, kSize);
          }
          held.clear();
        }
      }
      for (unsigned char* q : held) InternalFree(q, kSize);
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated_before);
  // After the churn the free list must hold the blocks again: allocating a
  // few must not map a new slab.
  uptr mapped = InternalMappedBytesForTesting();
  std::vector<void*> again;
  for (int i = 0; i < 16; i++) again.push_back(InternalAlloc(kSize));
  EXPECT_EQ(InternalMappedBytesForTesting(), mapped);
  for (void* p : again) InternalFree(p, kSize);
}

struct Tracked {
  explicit Tracked(int* destroyed_counter, int v) : destroyed(destroyed_counter), value(v) {}
  ~Tracked() { ++*destroyed; }
  int* destroyed;
  int value;
  char padding[100];
};

TEST(InternalAllocTest, NewAndDelete) {
  int destroyed = 0;
  Tracked* object = InternalNew<Tracked>(&destroyed, 42);
  EXPECT_EQ(object->value, 42);
  EXPECT_TRUE(AllZero(object->padding, sizeof(object->padding)));
  InternalDelete(object);
  EXPECT_EQ(destroyed, 1);
  InternalDelete<Tracked>(nullptr);
  EXPECT_EQ(destroyed, 1);
}

TEST(InternalAllocDeathTest, OutOfMemoryIsFatal) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(InternalAlloc(uptr{1} << 62), ::testing::ExitedWithCode(66),
              "racert: FATAL: InternalAlloc: out of memory allocating 4611686018427387904 bytes");
}

}  // namespace
}  // namespace racert
