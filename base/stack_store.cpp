#include "base/stack_store.h"

#include <atomic>

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/fatal.h"
#include "base/hash.h"
#include "base/memory_map.h"
#include "base/spin_mutex.h"

namespace racert {
namespace {

// Layout of one stored stack; the pcs follow the header directly.
struct StoredStack {
  u64 hash;
  u32 next_in_bucket;  // id of the next stack in this hash chain, 0 at the end
  u32 count;

  const uptr* pcs() const { return reinterpret_cast<const uptr*>(this + 1); }
  uptr* pcs() { return reinterpret_cast<uptr*>(this + 1); }
};
static_assert(sizeof(StoredStack) == 16, "pcs must start 8-byte aligned");

// Hash table: a fixed array of chain heads (ids). Chains only grow at the
// head and records never change once published, so readers walk them without
// locks. 2^18 heads keep chains short up to about a million stacks.
constexpr uptr kBucketBits = 18;
constexpr uptr kBucketCount = uptr{1} << kBucketBits;
// Inserts into one bucket are serialized by one of these (bucket % count).
constexpr uptr kInsertLockCount = 64;

// Id table: id -> record, two levels so it can grow without moving.
constexpr uptr kIdsPerBlockBits = 16;
constexpr uptr kIdsPerBlock = uptr{1} << kIdsPerBlockBits;
// 2^28 ids: far more stacks than fit in memory (each takes >= 16 bytes plus
// its id slot), while the top level stays a small 32 KiB array.
constexpr uptr kMaxIdBits = 28;
constexpr uptr kIdBlockCount = uptr{1} << (kMaxIdBits - kIdsPerBlockBits);
constexpr u32 kMaxId = (u32{1} << kMaxIdBits) - 1;

// Records are bump-allocated from chunks of this size; a record bigger than
// kDedicatedThreshold gets its own mapping so it does not waste a chunk.
constexpr uptr kChunkSize = uptr{1} << 20;
constexpr uptr kDedicatedThreshold = kChunkSize / 8;

constinit std::atomic<u32*> g_buckets{nullptr};
constinit SpinMutex g_insert_locks[kInsertLockCount];
// Each set once under g_storage_mutex, which also reads them plainly;
// LookupRecord loads them without the mutex.
constinit StoredStack** g_id_blocks[kIdBlockCount] = {};

// Guards the allocation state below (ids, id blocks, chunk bump pointer).
constinit SpinMutex g_storage_mutex;
constinit u32 g_last_id = 0;
constinit char* g_chunk_cursor = nullptr;
constinit char* g_chunk_end = nullptr;

constinit std::atomic<uptr> g_mapped_bytes{0};

void* MapForStore(uptr size, const char* what) {
  void* memory = MapAnonymousOrDie(size, what);
  g_mapped_bytes.fetch_add(size, std::memory_order_relaxed);
  return memory;
}

u32* Buckets() {
  u32* buckets = g_buckets.load(std::memory_order_acquire);
  if (RACERT_LIKELY(buckets != nullptr)) return buckets;
  void* fresh = MapAnonymousOrDie(kBucketCount * sizeof(u32), "stack store hash table");
  u32* expected = nullptr;
  if (g_buckets.compare_exchange_strong(expected, static_cast<u32*>(fresh), std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
    g_mapped_bytes.fetch_add(kBucketCount * sizeof(u32), std::memory_order_relaxed);
    return static_cast<u32*>(fresh);
  }
  UnmapOrDie(fresh, kBucketCount * sizeof(u32));  // another thread won the race
  return expected;
}

const StoredStack* LookupRecord(u32 id) {
  StoredStack** block = AcquireLoad(g_id_blocks[id >> kIdsPerBlockBits]);
  if (block == nullptr) return nullptr;
  return AcquireLoad(block[id & (kIdsPerBlock - 1)]);
}

u32 FindInChain(u32 id, u64 hash, const uptr* pcs, uptr count) {
  while (id != 0) {
    const StoredStack* record = LookupRecord(id);
    RACERT_CHECK(record != nullptr);
    if (record->hash == hash && record->count == count &&
        (count == 0 || __builtin_memcmp(record->pcs(), pcs, count * sizeof(uptr)) == 0)) {
      return id;
    }
    id = record->next_in_bucket;
  }
  return 0;
}

// Reserves memory and an id for a record with `count` pcs. The record is not
// visible to anyone until PublishRecord.
StoredStack* AllocateRecord(uptr count, u32* id_out) {
  uptr size = sizeof(StoredStack) + count * sizeof(uptr);
  SpinMutexLock lock(&g_storage_mutex);
  if (g_last_id == kMaxId) Fatal("stack store is full (%u stacks)", g_last_id);
  u32 id = g_last_id + 1;
  RelaxedStore(g_last_id, id);  // StackStoreSizeForTesting reads it unlocked
  uptr block_index = id >> kIdsPerBlockBits;
  if (g_id_blocks[block_index] == nullptr) {
    void* block = MapForStore(kIdsPerBlock * sizeof(StoredStack*), "stack store id table");
    ReleaseStore(g_id_blocks[block_index], static_cast<StoredStack**>(block));
  }
  char* memory;
  if (size > kDedicatedThreshold) {
    memory = static_cast<char*>(MapForStore(RoundUp(size, kPageSize), "a large stored stack"));
  } else {
    if (static_cast<uptr>(g_chunk_end - g_chunk_cursor) < size) {
      g_chunk_cursor = static_cast<char*>(MapForStore(kChunkSize, "stack store storage"));
      g_chunk_end = g_chunk_cursor + kChunkSize;
    }
    memory = g_chunk_cursor;
    g_chunk_cursor += size;  // sizes are multiples of 8, so records stay aligned
  }
  *id_out = id;
  return reinterpret_cast<StoredStack*>(memory);
}

void PublishRecord(u32 id, StoredStack* record) {
  StoredStack** block = g_id_blocks[id >> kIdsPerBlockBits];  // set before the id was handed out
  ReleaseStore(block[id & (kIdsPerBlock - 1)], record);
}

}  // namespace

u32 StackStorePut(const uptr* pcs, uptr count) {
  RACERT_CHECK_MSG(count <= ~u32{0}, "stack of %zu frames is too deep to store", count);
  u64 hash = HashBytes(pcs, count * sizeof(uptr), count);
  uptr bucket = hash >> (64 - kBucketBits);
  u32* head = &Buckets()[bucket];

  // Fast path: already stored (the common case for a busy program).
  if (u32 id = FindInChain(AcquireLoad(*head), hash, pcs, count)) return id;

  SpinMutexLock lock(&g_insert_locks[bucket % kInsertLockCount]);
  // Someone may have inserted it since we looked.
  u32 first = AcquireLoad(*head);
  if (u32 id = FindInChain(first, hash, pcs, count)) return id;

  u32 id;
  StoredStack* record = AllocateRecord(count, &id);
  record->hash = hash;
  record->next_in_bucket = first;
  record->count = static_cast<u32>(count);
  if (count > 0) __builtin_memcpy(record->pcs(), pcs, count * sizeof(uptr));
  // Publish the record in the id table before its id becomes reachable
  // through the bucket, so every reader that finds the id finds the record.
  PublishRecord(id, record);
  ReleaseStore(*head, id);
  return id;
}

StackView StackStoreGet(u32 id) {
  if (id == 0 || id > kMaxId) return {nullptr, 0};
  const StoredStack* record = LookupRecord(id);
  if (record == nullptr) return {nullptr, 0};
  return {record->pcs(), record->count};
}

uptr StackStoreMemoryBytesForTesting() { return g_mapped_bytes.load(std::memory_order_relaxed); }

uptr StackStoreSizeForTesting() { return RelaxedLoad(g_last_id); }

}  // namespace racert
