#include "base/stack_store.h"

#include <gtest/gtest.h>
#include <string.h>

#include <atomic>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

namespace racert {
namespace {

// Test stacks carry a "salt" no earlier test (nor an earlier repetition of the
// same test) in this process used, so no test depends on what the
// process-wide store already holds.
u64 FreshSalts(u64 count) {
  static std::atomic<u64> next{1};
  return next.fetch_add(count);
}

std::vector<uptr> MakeStack(u64 salt, u64 index, uptr depth) {
  std::vector<uptr> pcs(depth);
  for (uptr i = 0; i < depth; i++) pcs[i] = 0x400000 + salt * 0x1000000 + index * 64 + i * 4;
  return pcs;
}

void ExpectStored(u32 id, const std::vector<uptr>& pcs) {
  StackView view = StackStoreGet(id);
  ASSERT_NE(view.pcs, nullptr) << "id " << id;
  ASSERT_EQ(view.count, pcs.size()) << "id " << id;
  for (uptr i = 0; i < pcs.size(); i++) ASSERT_EQ(view.pcs[i], pcs[i]) << "id " << id << " frame " << i;
}

TEST(StackStoreTest, PutAndGetRoundTripInGivenOrder) {
  std::vector<uptr> pcs = {0x1111, 0x2222, 0x3333, 0x4444};
  u32 id = StackStorePut(pcs.data(), pcs.size());
  EXPECT_NE(id, 0u);
  ExpectStored(id, pcs);
  std::vector<uptr> reversed(pcs.rbegin(), pcs.rend());
  u32 reversed_id = StackStorePut(reversed.data(), reversed.size());
  EXPECT_NE(reversed_id, id);
  ExpectStored(reversed_id, reversed);
}

TEST(StackStoreTest, SameSequenceSameId) {
  std::vector<uptr> pcs = MakeStack(FreshSalts(1), 0, 12);
  u32 id = StackStorePut(pcs.data(), pcs.size());
  std::vector<uptr> copy = pcs;  // different memory, same contents
  EXPECT_EQ(StackStorePut(copy.data(), copy.size()), id);
  // Prefixes and single-frame changes are different stacks.
  EXPECT_NE(StackStorePut(pcs.data(), pcs.size() - 1), id);
  copy[5]++;
  EXPECT_NE(StackStorePut(copy.data(), copy.size()), id);
  // The stored copy is independent of the caller's buffer.
  pcs[0] = 0;
  EXPECT_NE(StackStoreGet(id).pcs[0], 0u);
}

TEST(StackStoreTest, EmptyStackHasAValidNonZeroId) {
  u32 id = StackStorePut(nullptr, 0);
  EXPECT_NE(id, 0u);
  StackView view = StackStoreGet(id);
  EXPECT_NE(view.pcs, nullptr);
  EXPECT_EQ(view.count, 0u);
  uptr dummy = 5;
  EXPECT_EQ(StackStorePut(&dummy, 0), id);
}

TEST(StackStoreTest, InvalidIdsGiveNullView) {
  EXPECT_EQ(StackStoreGet(0).pcs, nullptr);
  EXPECT_EQ(StackStoreGet(0).count, 0u);
  EXPECT_EQ(StackStoreGet(0xffffffffu).pcs, nullptr);
  u32 last = static_cast<u32>(StackStoreSizeForTesting());
  EXPECT_EQ(StackStoreGet(last + 1000).pcs, nullptr);
}

TEST(StackStoreTest, DeepStacksIncludingDedicatedMappings) {
  const u64 salt = FreshSalts(1);
  for (uptr depth : {1u, 100u, 1000u, 20000u, 200000u}) {
    std::vector<uptr> pcs = MakeStack(salt, depth, depth);
    u32 id = StackStorePut(pcs.data(), pcs.size());
    ExpectStored(id, pcs);
    EXPECT_EQ(StackStorePut(pcs.data(), pcs.size()), id);
  }
}

TEST(StackStoreTest, HundredThousandStacks) {
  constexpr u64 kStacks = 100000;
  const u64 salt = FreshSalts(1);
  uptr size_before = StackStoreSizeForTesting();
  uptr memory_before = StackStoreMemoryBytesForTesting();
  std::vector<u32> ids(kStacks);
  for (u64 i = 0; i < kStacks; i++) {
    std::vector<uptr> pcs = MakeStack(salt, i, 1 + i % 24);
    ids[i] = StackStorePut(pcs.data(), pcs.size());
    ASSERT_NE(ids[i], 0u);
  }
  EXPECT_EQ(StackStoreSizeForTesting(), size_before + kStacks);
  std::unordered_map<u32, u64> seen;
  for (u64 i = 0; i < kStacks; i++) {
    ASSERT_TRUE(seen.emplace(ids[i], i).second) << "id reused for stacks " << seen[ids[i]] << " and " << i;
    std::vector<uptr> pcs = MakeStack(salt, i, 1 + i % 24);
    ExpectStored(ids[i], pcs);
    ASSERT_EQ(StackStorePut(pcs.data(), pcs.size()), ids[i]);
  }
  EXPECT_EQ(StackStoreSizeForTesting(), size_before + kStacks);
  // Roughly 16 + 8 * 12.5 bytes per stack plus tables: a few MiB, not more.
  uptr grown = StackStoreMemoryBytesForTesting() - memory_before;
  EXPECT_GT(grown, kStacks * 100);
  EXPECT_LT(grown, uptr{32} << 20);
}

TEST(StackStoreTest, ConcurrentPutsOfTheSameStacksAgreeOnIds) {
  constexpr int kThreads = 4;
  constexpr u64 kStacks = 50000;
  const u64 salt = FreshSalts(1);
  uptr size_before = StackStoreSizeForTesting();
  std::vector<std::vector<u32>> ids(kThreads, std::vector<u32>(kStacks));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t, salt, &ids, &ready] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      // All threads walk the same stacks in the same order, so they keep
      // trying to insert the same new stack at the same moment.
      for (u64 i = 0; i < kStacks; i++) {
        uptr pcs[12];  // MakeStack(salt, i, depth) without an allocation per put
        uptr depth = 3 + i % 9;
        for (uptr f = 0; f < depth; f++) pcs[f] = 0x400000 + salt * 0x1000000 + i * 64 + f * 4;
        ids[t][i] = StackStorePut(pcs, depth);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (u64 i = 0; i < kStacks; i++) {
    for (int t = 1; t < kThreads; t++) ASSERT_EQ(ids[t][i], ids[0][i]) << "stack " << i;
    ExpectStored(ids[0][i], MakeStack(salt, i, 3 + i % 9));
  }
  EXPECT_EQ(StackStoreSizeForTesting(), size_before + kStacks);  // no duplicates at all
}

TEST(StackStoreTest, ConcurrentPutsOfDifferentStacksAndReads) {
  constexpr int kThreads = 4;
  constexpr u64 kStacksPerThread = 20000;
  const u64 first_salt = FreshSalts(kThreads);  // one per thread
  std::vector<std::vector<u32>> ids(kThreads, std::vector<u32>(kStacksPerThread));
  std::atomic<int> bad_reads{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t, first_salt, &ids, &bad_reads, &ready] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      std::mt19937 rng(t);
      for (u64 i = 0; i < kStacksPerThread; i++) {
        std::vector<uptr> pcs = MakeStack(first_salt + t, i, 1 + i % 30);
        ids[t][i] = StackStorePut(pcs.data(), pcs.size());
        // Read back a random earlier stack of our own while others insert.
        u64 j = rng() % (i + 1);
        std::vector<uptr> expected = MakeStack(first_salt + t, j, 1 + j % 30);
        StackView view = StackStoreGet(ids[t][j]);
        if (view.count != expected.size() ||
            memcmp(view.pcs, expected.data(), expected.size() * sizeof(uptr)) != 0) {
          bad_reads.fetch_add(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(bad_reads.load(), 0);
  std::unordered_map<u32, int> owners;
  for (int t = 0; t < kThreads; t++) {
    for (u64 i = 0; i < kStacksPerThread; i++) {
      ASSERT_TRUE(owners.emplace(ids[t][i], t).second);
      ExpectStored(ids[t][i], MakeStack(first_salt + t, i, 1 + i % 30));
    }
  }
}

}  // namespace
}  // namespace racert
