#include "base/internal_alloc.h"

#include <atomic>

#include "base/check.h"
#include "base/fatal.h"
#include "base/memory_map.h"
#include "base/spin_mutex.h"
#include "base/syscalls.h"

namespace racert {
namespace {

constexpr uptr kMinBlockSize = 16;
constexpr uptr kMaxSmallSize = 64 * 1024;
constexpr uptr kMinSlabSize = 64 * 1024;
// Slabs hold at least this many blocks so the big classes do not map one
// slab per block.
constexpr uptr kMinBlocksPerSlab = 4;
constexpr uptr kClassCount = 24;  // 16, 32, then 48..65536 in two steps per power of two

// Block size of size class `index`.
constexpr uptr ClassBlockSize(uptr index) {
  if (index == 0) return 16;
  if (index == 1) return 32;
  // From index 2 on, pairs (1.5 * 2^k, 2^(k+1)) for k = 5, 6, ...
  uptr k = 5 + (index - 2) / 2;
  return (index % 2 == 0) ? (uptr{3} << (k - 1)) : (uptr{1} << (k + 1));
}

static_assert(ClassBlockSize(kClassCount - 1) == kMaxSmallSize, "last class must be 64 KiB");
static_assert(ClassBlockSize(2) == 48 && ClassBlockSize(3) == 64 && ClassBlockSize(4) == 96);

// Smallest class whose blocks hold `size` bytes; size <= kMaxSmallSize.
uptr ClassIndex(uptr size) {
  if (size <= 16) return 0;
  if (size <= 32) return 1;
  uptr k = 63 - static_cast<uptr>(__builtin_clzll(size - 1));  // 2^k < size <= 2^(k+1)
  uptr halfway = uptr{3} << (k - 1);
  return 2 + (k - 5) * 2 + (size <= halfway ? 0 : 1);
}

struct FreeBlock {
  FreeBlock* next;
};

// One per size class. Blocks are handed out from the free list first, then
// carved from the untouched tail of the newest slab (which is still zero).
struct SizeClass {
  SpinMutex mutex;
  FreeBlock* free_list = nullptr;
  char* fresh_begin = nullptr;
  char* fresh_end = nullptr;
  // Bytes of this class's blocks in use. Counted under the mutex the
  // allocation holds anyway: a process-wide atomic counter here was the
  // hottest line of goroutine churn on two cores (every goroutine start and
  // end allocates and frees).
  uptr allocated_bytes = 0;
};

constinit SizeClass g_classes[kClassCount];
constinit std::atomic<uptr> g_large_allocated_bytes{0};  // whole mappings above kMaxSmallSize
constinit std::atomic<uptr> g_mapped_bytes{0};

void AddStat(std::atomic<uptr>* stat, uptr delta) { stat->fetch_add(delta, std::memory_order_relaxed); }
void SubStat(std::atomic<uptr>* stat, uptr delta) { stat->fetch_sub(delta, std::memory_order_relaxed); }

[[noreturn]] void OutOfMemory(uptr size, uptr mapping_size) {
  Fatal("InternalAlloc: out of memory allocating %zu bytes (mapping %zu bytes failed)", size,
        mapping_size);
}

void* AllocateSmall(uptr size) {
  uptr index = ClassIndex(size);
  uptr block_size = ClassBlockSize(index);
  SizeClass& size_class = g_classes[index];
  void* block;
  bool recycled;
  {
    SpinMutexLock lock(&size_class.mutex);
    if (size_class.free_list != nullptr) {
      block = size_class.free_list;
      size_class.free_list = size_class.free_list->next;
      recycled = true;
    } else {
      if (static_cast<uptr>(size_class.fresh_end - size_class.fresh_begin) < block_size) {
        // The old slab's leftover (smaller than a block) is abandoned.
        uptr slab_size = RoundUp(block_size * kMinBlocksPerSlab, kMinSlabSize);
        void* slab = MapAnonymousOrNull(slab_size);
        if (slab == nullptr) OutOfMemory(size, slab_size);
        AddStat(&g_mapped_bytes, slab_size);
        size_class.fresh_begin = static_cast<char*>(slab);
        size_class.fresh_end = size_class.fresh_begin + slab_size;
      }
      block = size_class.fresh_begin;
      size_class.fresh_begin += block_size;
      recycled = false;
    }
    size_class.allocated_bytes += block_size;
  }
  // Fresh slab memory is still zero from the kernel; recycled blocks hold old
  // data (and the free-list link). Only the requested bytes are visible.
  if (recycled) __builtin_memset(block, 0, size < sizeof(FreeBlock) ? sizeof(FreeBlock) : size);
  return block;
}

void FreeSmall(void* p, uptr size) {
  uptr index = ClassIndex(size);
  SizeClass& size_class = g_classes[index];
  FreeBlock* block = static_cast<FreeBlock*>(p);
  {
    SpinMutexLock lock(&size_class.mutex);
    block->next = size_class.free_list;
    size_class.free_list = block;
    size_class.allocated_bytes -= ClassBlockSize(index);
  }
}

}  // namespace

uptr InternalAllocBlockSizeForTesting(uptr size) {
  return size <= kMaxSmallSize ? ClassBlockSize(ClassIndex(size)) : RoundUp(size, kPageSize);
}

void* InternalAlloc(uptr size) {
  if (size <= kMaxSmallSize) return AllocateSmall(size);
  uptr mapping_size = RoundUp(size, kPageSize);
  if (mapping_size < size) OutOfMemory(size, size);  // size near 2^64 wrapped around
  void* block = MapAnonymousOrNull(mapping_size);
  if (block == nullptr) OutOfMemory(size, mapping_size);
  AddStat(&g_mapped_bytes, mapping_size);
  AddStat(&g_large_allocated_bytes, mapping_size);
  return block;
}

void InternalFree(void* p, uptr size) {
  if (p == nullptr) return;
  RACERT_DCHECK(IsAligned(reinterpret_cast<uptr>(p), kMinBlockSize));
  if (size <= kMaxSmallSize) {
    FreeSmall(p, size);
    return;
  }
  uptr mapping_size = RoundUp(size, kPageSize);
  UnmapOrDie(p, mapping_size);
  SubStat(&g_mapped_bytes, mapping_size);
  SubStat(&g_large_allocated_bytes, mapping_size);
}

uptr InternalAllocatedBytesForTesting() {
  uptr total = g_large_allocated_bytes.load(std::memory_order_relaxed);
  for (SizeClass& size_class : g_classes) {
    SpinMutexLock lock(&size_class.mutex);
    total += size_class.allocated_bytes;
  }
  return total;
}

uptr InternalMappedBytesForTesting() { return g_mapped_bytes.load(std::memory_order_relaxed); }

}  // namespace racert
