#include "tsan_core/sync_table.h"

#include <atomic>

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/hash.h"
#include "base/internal_alloc.h"
#include "base/spin_mutex.h"
#include "base/memory_map.h"
#include "shadow/shadow_map.h"

namespace racert {
namespace {

constexpr uptr kBucketCount = uptr{1} << 20;

// Lock-free readers (PeekReleaseStamp) walk a bucket's chain while a removal
// may unlink and free one of its SyncVars, and lock-free atomic loads read a
// variable that an atomic write under the lock may change. `version` is odd
// while a removal or such a write is in progress and advances by two with
// each; a reader that finds it unchanged after reading a link, a field or
// the variable read nothing written meanwhile, and one that finds it changed
// gives up. A reader may still load from a
// SyncVar freed meanwhile: InternalAlloc never unmaps small blocks
// (base/internal_alloc.h), so such a load reads stale bytes, which the
// version check then discards, and never faults. Insertions need no version:
// a new SyncVar is complete before the release store of the head publishes it.
struct Bucket {
  SpinMutex mutex;
  std::atomic<u32> version;
  SyncVar* head;  // written under mutex; loaded atomically by readers without it
};
static_assert(sizeof(Bucket) == 16, "four buckets per cache line");
static_assert(sizeof(SyncVar) <= 64, "SyncVars are small blocks, never unmapped (PeekReleaseStamp relies on it)");

// A count of SyncVars per 4 KiB page of application memory lets
// RemoveSyncVars, which the GC sweeper calls for every freed object, skip
// every page that holds no sync object: most frees, and most pages of the
// others (with 64 KiB regions, a server's freed buffers shared regions with
// live mutexes, and each freed word cost a bucket lookup under its lock).
// At most 512 sync objects fit in a page, so 16 bits count them.
constexpr unsigned kRegionShift = 12;
// Counted for the low application range (8 GiB reserved, committed only
// where touched), or only for the client's heap window (64 MiB for Go's)
// under an address-space limit (SyncCountOnlyHeapWindow); addresses
// elsewhere (PIE data) are always probed.
using RegionCounter = std::atomic<u16>;
static_assert((uptr{1} << kRegionShift) / 8 <= 0xffff, "a region's sync objects must fit its counter");

// One bit per bucket, set while the bucket holds a SyncVar (changed with the
// bucket locked). RemoveSyncVars asks it for each word of a freed object
// whose page holds sync objects (a page of channels or timers holds many):
// its 128 KiB stay in the cache, where a probe of the buckets' 16 MiB was a
// miss per word.
using OccupiedWord = std::atomic<u64>;
constexpr uptr kOccupiedWords = kBucketCount / 64;

struct Table {
  SpinMutex init_mutex;
  std::atomic<Bucket*> buckets;
  OccupiedWord* occupied;  // kOccupiedWords, reserved before buckets is published
  RegionCounter* region_counts;
  std::atomic<uptr> count;
  uptr counted_begin;  // counted application range: [counted_begin, counted_begin + counted_size)
  uptr counted_size;   // 0 until Buckets() runs: kAppLowEnd unless SyncCountOnlyHeapWindow
  bool heap_window_only;
};
constinit Table table{};

// The application range whose sync objects are counted per page: the
// client's heap window under an address-space limit (if it named one,
// shadow/shadow_map.h), else the whole low range.
void CountedRange(uptr* begin, uptr* end) {
  const HeapLayout& heap = CurrentHeapLayout();
  if (table.heap_window_only && heap.has_window()) {
    *begin = heap.window_begin;
    *end = heap.window_end;
  } else {
    *begin = 0;
    *end = kAppLowEnd;
  }
}

Bucket* Buckets() {
  Bucket* buckets = table.buckets.load(std::memory_order_acquire);
  if (RACERT_LIKELY(buckets)) return buckets;
  SpinMutexLock lock(&table.init_mutex);
  buckets = table.buckets.load(std::memory_order_relaxed);
  if (!buckets) {
    uptr counted_end;
    CountedRange(&table.counted_begin, &counted_end);
    table.region_counts = static_cast<RegionCounter*>(ReserveAnonymousOrDie(
        ((counted_end - table.counted_begin) >> kRegionShift) * sizeof(RegionCounter), "sync object counts"));
    table.counted_size = counted_end - table.counted_begin;
    table.occupied = static_cast<OccupiedWord*>(
        ReserveAnonymousOrDie(kOccupiedWords * sizeof(OccupiedWord), "the sync object table's occupancy bits"));
    buckets = static_cast<Bucket*>(ReserveAnonymousOrDie(kBucketCount * sizeof(Bucket), "the sync object table"));
    table.buckets.store(buckets, std::memory_order_release);
  }
  return buckets;
}

uptr BucketIndex(uptr addr) { return MixHash64(addr) & (kBucketCount - 1); }

// With the bucket of `index` locked, after its head changed to or from null.
void SetOccupied(uptr index, bool occupied) {
  const u64 bit = u64{1} << (index % 64);
  if (occupied) {
    table.occupied[index / 64].fetch_or(bit, std::memory_order_relaxed);
  } else {
    table.occupied[index / 64].fetch_and(~bit, std::memory_order_relaxed);
  }
}
// Whether the bucket of `index` may hold a SyncVar. A SyncVar for memory
// being freed was created before the free, so its bucket's bit is seen set.
bool MayBeOccupied(uptr index) {
  return (table.occupied[index / 64].load(std::memory_order_relaxed) >> (index % 64)) & 1;
}

// Brackets a change that lock-free readers must notice (a removal, an
// atomic write), its bucket locked.
void BeginChange(Bucket& bucket) {
  bucket.version.store(bucket.version.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}
void EndChange(Bucket& bucket) {
  bucket.version.store(bucket.version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

bool Counted(uptr addr) { return addr - table.counted_begin < table.counted_size; }
RegionCounter& RegionCount(uptr addr) { return table.region_counts[(addr - table.counted_begin) >> kRegionShift]; }

}  // namespace

void WithSyncVar(uptr addr, bool create, void (*fn)(SyncVar*, void*), void* arg, bool writes_memory) {
  const uptr index = BucketIndex(addr);
  Bucket& bucket = Buckets()[index];
  SpinMutexLock lock(&bucket.mutex);
  SyncVar* var = bucket.head;
  while (var && var->addr != addr) var = var->next;
  if (!var && create) {
    var = InternalNew<SyncVar>();
    var->addr = addr;
    var->next = bucket.head;
    if (!bucket.head) SetOccupied(index, true);
    ReleaseStore(bucket.head, var);
    if (Counted(addr)) RegionCount(addr).fetch_add(1, std::memory_order_relaxed);
    table.count.fetch_add(1, std::memory_order_relaxed);
  }
  if (!writes_memory) {
    fn(var, arg);
    return;
  }
  BeginChange(bucket);
  fn(var, arg);
  EndChange(bucket);
}

StampPeek PeekReleaseStamp(uptr addr, ReleaseStamp* out, bool (*load)(void*), void* load_arg, bool* loaded) {
  Bucket* buckets = table.buckets.load(std::memory_order_acquire);
  // Nothing was ever released; but with a load, the first release (creating
  // the table) might be writing the value right now: no version to tell.
  if (!buckets) return load ? StampPeek::kBusy : StampPeek::kNone;
  Bucket& bucket = buckets[BucketIndex(addr)];
  u32 version = bucket.version.load(std::memory_order_acquire);
  if (version & 1) return StampPeek::kBusy;
  SyncVar* var = AcquireLoad(bucket.head);
  while (var) {
    uptr var_addr = RelaxedLoad(var->addr);
    SyncVar* next = RelaxedLoad(var->next);
    u64 stamp = 0;
    if (var_addr == addr) {
      stamp = var->packed_stamp.load(std::memory_order_relaxed);
      // A value written under the lock was written after the version went
      // odd (and the load synchronizes with that write): seen below.
      if (load) *loaded = load(load_arg);
    }
    // Nothing read above may come from a change (or a freed block): checked
    // before `next` is followed and before the stamp is trusted.
    std::atomic_thread_fence(std::memory_order_acquire);
    if (bucket.version.load(std::memory_order_relaxed) != version) return StampPeek::kBusy;
    if (var_addr == addr) {
      *out = ReleaseStamp::Unpack(stamp);
      return StampPeek::kFound;
    }
    var = next;
  }
  if (load) {
    *loaded = load(load_arg);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (bucket.version.load(std::memory_order_relaxed) != version) return StampPeek::kBusy;
  }
  return StampPeek::kNone;
}

void RemoveSyncVars(uptr begin, uptr end) {
  if (end <= begin || !table.buckets.load(std::memory_order_acquire)) return;
  // Freed memory wholly inside the counted range with no sync object in any
  // of its regions (most frees) needs no lookup at all.
  if (Counted(begin) && Counted(end - 1)) {
    uptr first_region = (begin - table.counted_begin) >> kRegionShift;
    uptr last_region = (end - 1 - table.counted_begin) >> kRegionShift;
    bool any = false;
    for (uptr r = first_region; r <= last_region; r++) {
      if (table.region_counts[r].load(std::memory_order_relaxed) != 0) {
        any = true;
        break;
      }
    }
    if (!any) return;
  }
  for (uptr addr = begin & ~uptr{7}; addr < end; addr += 8) {
    if (Counted(addr) && RegionCount(addr).load(std::memory_order_relaxed) == 0) {
      // Skip to the next region.
      uptr next = ((addr >> kRegionShift) + 1) << kRegionShift;
      addr = next - 8;
      continue;
    }
    const uptr index = BucketIndex(addr);
    if (!MayBeOccupied(index)) continue;  // most words of a freed object
    Bucket& bucket = Buckets()[index];
    SpinMutexLock lock(&bucket.mutex);
    SyncVar** link = &bucket.head;
    while (*link && (*link)->addr != addr) link = &(*link)->next;
    if (SyncVar* var = *link) {
      BeginChange(bucket);
      RelaxedStore(*link, var->next);
      InternalDelete(var);
      EndChange(bucket);
      if (!bucket.head) SetOccupied(index, false);
      if (Counted(addr)) RegionCount(addr).fetch_sub(1, std::memory_order_relaxed);
      table.count.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void ResetAllSyncClocks() {
  Bucket* buckets = table.buckets.load(std::memory_order_acquire);
  if (!buckets) return;
  // Walks the whole table: resets are rare (epoch overflow).
  for (uptr i = 0; i < kBucketCount; i++) {
    Bucket& bucket = buckets[i];
    if (!RelaxedLoad(bucket.head)) continue;
    SpinMutexLock lock(&bucket.mutex);
    for (SyncVar* var = bucket.head; var; var = var->next) var->ResetClock();
  }
}

uptr SyncTableReservation() {
  uptr counted_begin, counted_end;
  CountedRange(&counted_begin, &counted_end);
  return ((counted_end - counted_begin) >> kRegionShift) * sizeof(RegionCounter) + kBucketCount * sizeof(Bucket);
}

void SyncCountOnlyHeapWindow() {
  SpinMutexLock lock(&table.init_mutex);
  RACERT_CHECK(table.buckets.load(std::memory_order_relaxed) == nullptr);
  table.heap_window_only = true;
}

uptr SyncVarCountForTesting() { return table.count.load(std::memory_order_relaxed); }

uptr SyncBucketIndexForTesting(uptr addr) { return BucketIndex(addr); }

}  // namespace racert
