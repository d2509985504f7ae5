#include "base/hash.h"

#include <gtest/gtest.h>
#include <string.h>

#include <random>
#include <unordered_set>
#include <vector>

namespace racert {
namespace {

// For each (input bit, output bit) pair, the probability that flipping the
// input bit flips the output bit should be close to 1/2.
template <typename HashFn>
void ExpectAvalanche(HashFn hash, uptr input_bits, const char* what) {
  constexpr int kSamples = 4000;
  std::mt19937_64 rng(99);
  std::vector<int> flips(input_bits * 64, 0);
  for (int s = 0; s < kSamples; s++) {
    std::vector<unsigned char> input((input_bits + 7) / 8);
    for (auto& byte : input) byte = static_cast<unsigned char>(rng());
    u64 base = hash(input.data(), input.size());
    for (uptr bit = 0; bit < input_bits; bit++) {
      input[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
      u64 changed = base ^ hash(input.data(), input.size());
      input[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
      for (int out = 0; out < 64; out++) flips[bit * 64 + out] += (changed >> out) & 1;
    }
  }
  double worst = 0;
  for (int count : flips) {
    double deviation = static_cast<double>(count) / kSamples - 0.5;
    if (deviation < 0) deviation = -deviation;
    if (deviation > worst) worst = deviation;
  }
  // 4000 samples: one standard deviation is ~0.008; 0.05 is >6 sigma.
  EXPECT_LT(worst, 0.05) << what;
}

TEST(HashTest, MixHash64Avalanche) {
  ExpectAvalanche(
      [](const unsigned char* p, uptr) {
        u64 x;
        memcpy(&x, p, 8);
        return MixHash64(x);
      },
      64, "MixHash64");
}

TEST(HashTest, HashBytesAvalanche) {
  auto hash = [](const unsigned char* p, uptr n) { return HashBytes(p, n); };
  ExpectAvalanche(hash, 8 * 24, "24 bytes");
  ExpectAvalanche(hash, 8 * 13, "13 bytes (with a tail)");
  ExpectAvalanche(hash, 8 * 3, "3 bytes (tail only)");
}

TEST(HashTest, MixHash64HasNoCollisionsOnSequentialInputs) {
  std::unordered_set<u64> seen;
  for (u64 i = 0; i < 300000; i++) ASSERT_TRUE(seen.insert(MixHash64(i)).second) << i;
  EXPECT_NE(MixHash64(0), MixHash64(1));
}

TEST(HashTest, HashBytesIsDeterministicAndSeeded) {
  const char data[] = "some stack of program counters";
  EXPECT_EQ(HashBytes(data, sizeof(data)), HashBytes(data, sizeof(data)));
  EXPECT_NE(HashBytes(data, sizeof(data), 1), HashBytes(data, sizeof(data), 2));
  // Unaligned input gives the same hash as aligned input with equal bytes.
  alignas(8) char buffer[64];
  memcpy(buffer + 3, data, sizeof(data));
  EXPECT_EQ(HashBytes(buffer + 3, sizeof(data)), HashBytes(data, sizeof(data)));
}

TEST(HashTest, LengthMatters) {
  // Inputs that differ only by trailing zero bytes must hash differently.
  const unsigned char zeros[64] = {};
  std::unordered_set<u64> seen;
  for (uptr n = 0; n <= 64; n++) EXPECT_TRUE(seen.insert(HashBytes(zeros, n)).second) << n;
}

TEST(HashTest, FewCollisionsOnPcLikeSequences) {
  // Many short arrays of nearby "program counters", like real stacks.
  std::unordered_set<u64> seen;
  int collisions = 0;
  for (u64 a = 0; a < 300; a++) {
    for (u64 b = 0; b < 300; b++) {
      u64 pcs[3] = {0x401000 + a * 4, 0x402000 + b, 0x403000};
      collisions += !seen.insert(HashBytes(pcs, sizeof(pcs))).second;
    }
  }
  EXPECT_EQ(collisions, 0);
}

}  // namespace
}  // namespace racert
