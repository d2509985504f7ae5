#include "base/internal_vector.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/internal_alloc.h"

namespace racert {
namespace {

struct Pair {
  u64 a;
  u32 b;
};

TEST(InternalVectorTest, ZeroInitializedIsEmpty) {
  alignas(InternalVector<int>) static unsigned char zeroed[sizeof(InternalVector<int>)];
  auto* vector = reinterpret_cast<InternalVector<int>*>(zeroed);
  EXPECT_TRUE(vector->empty());
  EXPECT_EQ(vector->size(), 0u);
  EXPECT_EQ(vector->begin(), vector->end());
  vector->push_back(3);
  EXPECT_EQ((*vector)[0], 3);
  vector->Reset();
}

TEST(InternalVectorTest, PushPopBackIndex) {
  InternalVector<u64> vector;
  std::vector<u64> reference;
  for (u64 i = 0; i < 10000; i++) {
    vector.push_back(i * 3);
    reference.push_back(i * 3);
    if (i % 5 == 4) {
      vector.pop_back();
      reference.pop_back();
    }
    ASSERT_EQ(vector.back(), reference.back());
  }
  ASSERT_EQ(vector.size(), reference.size());
  for (uptr i = 0; i < vector.size(); i++) ASSERT_EQ(vector[i], reference[i]);
  uptr index = 0;
  for (u64 value : vector) ASSERT_EQ(value, reference[index++]);
  EXPECT_EQ(index, reference.size());
  EXPECT_EQ(vector.data(), vector.begin());
}

TEST(InternalVectorTest, GrowthDoubles) {
  InternalVector<u32> vector;
  vector.push_back(1);
  uptr capacity = vector.capacity();
  EXPECT_GE(capacity, 1u);
  while (vector.size() < capacity) vector.push_back(2);
  EXPECT_EQ(vector.capacity(), capacity);
  vector.push_back(3);
  EXPECT_EQ(vector.capacity(), capacity * 2);
}

TEST(InternalVectorTest, PushBackOfOwnElementSurvivesGrowth) {
  InternalVector<Pair> vector;
  vector.push_back({7, 8});
  for (int i = 0; i < 100; i++) vector.push_back(vector[0]);
  for (const Pair& p : vector) {
    ASSERT_EQ(p.a, 7u);
    ASSERT_EQ(p.b, 8u);
  }
}

TEST(InternalVectorTest, ClearKeepsCapacityResizeZeroFills) {
  InternalVector<int> vector;
  for (int i = 1; i <= 100; i++) vector.push_back(i);
  uptr capacity = vector.capacity();
  vector.clear();
  EXPECT_TRUE(vector.empty());
  EXPECT_EQ(vector.capacity(), capacity);
  // The old elements are still in memory; resize must zero them, not expose them.
  vector.resize(50);
  for (int value : vector) ASSERT_EQ(value, 0);
  vector[10] = 5;
  vector.resize(5);
  EXPECT_EQ(vector.size(), 5u);
  vector.resize(20);
  EXPECT_EQ(vector[10], 0);
  vector.resize(1000);
  EXPECT_EQ(vector.size(), 1000u);
  for (int value : vector) ASSERT_EQ(value, 0);
}

TEST(InternalVectorTest, ReserveDoesNotChangeSize) {
  InternalVector<int> vector;
  vector.push_back(1);
  vector.reserve(500);
  EXPECT_GE(vector.capacity(), 500u);
  EXPECT_EQ(vector.size(), 1u);
  EXPECT_EQ(vector[0], 1);
  const int* data = vector.data();
  for (int i = 0; i < 499; i++) vector.push_back(i);
  EXPECT_EQ(vector.data(), data);  // no reallocation within the reservation
  vector.reserve(10);              // never shrinks
  EXPECT_GE(vector.capacity(), 500u);
}

TEST(InternalVectorTest, Swap) {
  InternalVector<int> a;
  InternalVector<int> b;
  a.push_back(1);
  a.push_back(2);
  b.push_back(9);
  a.Swap(b);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0], 9);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1], 2);
}

TEST(InternalVectorTest, DestructorAndResetFreeMemory) {
  uptr before = InternalAllocatedBytesForTesting();
  {
    InternalVector<u64> vector;
    for (int i = 0; i < 5000; i++) vector.push_back(static_cast<u64>(i));
    EXPECT_GT(InternalAllocatedBytesForTesting(), before);
    InternalVector<u64> other;
    other.resize(10);
    other.Reset();
    EXPECT_EQ(other.capacity(), 0u);
  }
  EXPECT_EQ(InternalAllocatedBytesForTesting(), before);
}

}  // namespace
}  // namespace racert
