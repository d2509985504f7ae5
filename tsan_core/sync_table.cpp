#include "tsan_core/sync_table.h"

#include <atomic>

#include "base/hash.h"
#include "base/internal_alloc.h"
#include "base/spin_mutex.h"
#include "base/memory_map.h"
#include "shadow/shadow_map.h"

namespace racert {
namespace {

constexpr uptr kBucketCount = uptr{1} << 20;

struct Bucket {
  SpinMutex mutex;
  SyncVar* head;
};

// A count of SyncVars per 4 KiB page of application memory lets
// RemoveSyncVars, which the GC sweeper calls for every freed object, skip
// every page that holds no sync object: most frees, and most pages of the
// others (with 64 KiB regions, a server's freed buffers shared regions with
// live mutexes, and each freed word cost a bucket lookup under its lock).
// At most 512 sync objects fit in a page, so 16 bits count them.
constexpr unsigned kRegionShift = 12;
// Counted for the low application range (8 GiB reserved, committed only
// where touched); addresses elsewhere (PIE data) are always probed.
constexpr uptr kRegionCount = kAppLowEnd >> kRegionShift;
using RegionCounter = std::atomic<u16>;
static_assert((uptr{1} << kRegionShift) / 8 <= 0xffff, "a region's sync objects must fit its counter");

struct Table {
  SpinMutex init_mutex;
  std::atomic<Bucket*> buckets;
  RegionCounter* region_counts;
  std::atomic<uptr> count;
};
constinit Table table{};

Bucket* Buckets() {
  Bucket* buckets = table.buckets.load(std::memory_order_acquire);
  if (RACERT_LIKELY(buckets)) return buckets;
  SpinMutexLock lock(&table.init_mutex);
  buckets = table.buckets.load(std::memory_order_relaxed);
  if (!buckets) {
    table.region_counts =
        static_cast<RegionCounter*>(ReserveAnonymousOrDie(kRegionCount * sizeof(RegionCounter), "sync object counts"));
    buckets = static_cast<Bucket*>(ReserveAnonymousOrDie(kBucketCount * sizeof(Bucket), "the sync object table"));
    table.buckets.store(buckets, std::memory_order_release);
  }
  return buckets;
}

Bucket& BucketFor(uptr addr) { return Buckets()[MixHash64(addr) & (kBucketCount - 1)]; }

RegionCounter& RegionCount(uptr addr) { return table.region_counts[addr >> kRegionShift]; }

}  // namespace

void WithSyncVar(uptr addr, bool create, void (*fn)(SyncVar*, void*), void* arg) {
  Bucket& bucket = BucketFor(addr);
  SpinMutexLock lock(&bucket.mutex);
  SyncVar* var = bucket.head;
  while (var && var->addr != addr) var = var->next;
  if (!var && create) {
    var = InternalNew<SyncVar>();
    var->addr = addr;
    var->next = bucket.head;
    bucket.head = var;
    if (addr < kAppLowEnd) RegionCount(addr).fetch_add(1, std::memory_order_relaxed);
    table.count.fetch_add(1, std::memory_order_relaxed);
  }
  fn(var, arg);
}

void RemoveSyncVars(uptr begin, uptr end) {
  if (end <= begin || !table.buckets.load(std::memory_order_acquire)) return;
  uptr first_region = begin >> kRegionShift;
  uptr last_region = (end - 1) >> kRegionShift;
  bool any = false;
  for (uptr r = first_region; r <= last_region && r < kRegionCount; r++) {
    if (table.region_counts[r].load(std::memory_order_relaxed) != 0) {
      any = true;
      break;
    }
  }
  if (!any && end <= kAppLowEnd) return;
  for (uptr addr = begin & ~uptr{7}; addr < end; addr += 8) {
    if (addr < kAppLowEnd && RegionCount(addr).load(std::memory_order_relaxed) == 0) {
      // Skip to the next region.
      uptr next = ((addr >> kRegionShift) + 1) << kRegionShift;
      addr = next - 8;
      continue;
    }
    Bucket& bucket = BucketFor(addr);
    SpinMutexLock lock(&bucket.mutex);
    SyncVar** link = &bucket.head;
    while (*link && (*link)->addr != addr) link = &(*link)->next;
    if (SyncVar* var = *link) {
      *link = var->next;
      if (addr < kAppLowEnd) RegionCount(addr).fetch_sub(1, std::memory_order_relaxed);
      table.count.fetch_sub(1, std::memory_order_relaxed);
      InternalDelete(var);
    }
  }
}

void ResetAllSyncClocks() {
  Bucket* buckets = table.buckets.load(std::memory_order_acquire);
  if (!buckets) return;
  // Walks the whole table: resets are rare (epoch overflow).
  for (uptr i = 0; i < kBucketCount; i++) {
    Bucket& bucket = buckets[i];
    if (!__atomic_load_n(&bucket.head, __ATOMIC_RELAXED)) continue;
    SpinMutexLock lock(&bucket.mutex);
    for (SyncVar* var = bucket.head; var; var = var->next) var->ResetClock();
  }
}

uptr SyncTableReservation() { return kRegionCount * sizeof(RegionCounter) + kBucketCount * sizeof(Bucket); }

uptr SyncVarCount() { return table.count.load(std::memory_order_relaxed); }

}  // namespace racert
