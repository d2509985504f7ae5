#include "shadow/cell_set.h"

#include <atomic>

#include <errno.h>  // EEXIST (constant only)

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/fatal.h"
#include "base/format.h"
#include "base/memory_map.h"
#include "base/spin_mutex.h"
#include "shadow/shadow_map.h"

namespace racert {
namespace {

// All sets live in one reserved (not committed) region, so a handle is a
// 32-bit offset in 16-byte units: 64 GiB of addressable set memory.
constexpr uptr kHandleUnit = kCellSetHandleUnit;
constexpr uptr kMaxArenaSize = uptr{64} << 30;

// Read sets have a class of their own, after the explicit ones: their memory
// is never an explicit set's, so their sequence only ever grows.
constexpr unsigned kReadSetClass = kCellSetClassCount;
constexpr uptr kReadSetBytes = 64;  // one cache line
static_assert(sizeof(CellSet) + sizeof(u64) * kReadSetCells == kReadSetBytes, "a read set fills one cache line");

constexpr uptr BytesForClass(unsigned size_class) {
  if (size_class == kReadSetClass) return kReadSetBytes;
  uptr bytes = sizeof(CellSet) + sizeof(u64) * kCellSetCapacity[size_class];
  return (bytes + kHandleUnit - 1) & ~(kHandleUnit - 1);
}

// Free sets of one size class. A set's memory keeps its class for good (it
// goes back to its own class's list), so a stale handle still addresses a
// set whose count is within its capacity: CellSetFindCovering relies on it.
// The most recent ones are kept as handles in an array, so taking one does
// not read the freed set's memory under the lock (a cache miss when another
// thread freed it: 30% of a pointer-passing pipeline's profile); beyond that
// they are linked through next_free.
constexpr u32 kFreeStackCapacity = 65536;  // 256 KiB per size class, untouched until used
// Also counts the class's sets, so the statistics cost no atomic
// read-modify-write on the allocation path: in use = carved - free. The
// counts are written under the mutex and read without it.
struct FreeList {
  SpinMutex mutex;
  u32 head;  // linked overflow
  u32 stack_count;
  std::atomic<uptr> carved;      // sets ever cut from the arena for this class
  std::atomic<uptr> free_count;  // sets on this list (stack and linked)
  u32 stack[kFreeStackCapacity];
};

struct Arena {
  uptr size;                        // bytes reserved; 0 means kMaxArenaSize
  std::atomic<uptr> mapped;         // bytes from base that are mapped (all of size unless grown on demand)
  SpinMutex init_mutex;
  std::atomic<uptr> bump;           // next unused byte offset (starts at kHandleUnit: handle 0 is invalid)
  FreeList free_lists[kCellSetClassCount + 1];  // and the read sets'
};
constinit Arena arena{};

}  // namespace

namespace cell_set_detail {
constinit std::atomic<uptr> arena_base{0};  // 0 until first use
}  // namespace cell_set_detail

namespace {

using cell_set_detail::arena_base;

uptr ArenaSize() { return arena.size ? arena.size : kMaxArenaSize; }

// Under an address-space limit (SetCellSetArenaSize), reserving the whole
// arena up front would take address space the heap may need (a limit/8
// arena was the one mapping that failed in runs whose sets used a few MiB).
// There the arena starts at a fixed address no other mapping uses (between
// racert's tertiary shadow and the high application range, see
// shadow/shadow_map.h) and grows in place, chunk by chunk, as sets are carved.
constexpr uptr kGrowableArenaBase = uptr{0x400000000000};
constexpr uptr kGrowChunk = uptr{16} << 20;
static_assert(kGrowableArenaBase >= kAppLowEnd + kTertiaryOffset &&
                  kGrowableArenaBase + kMaxArenaSize <= kAppHighBegin,
              "the growable cell-set arena must lie outside application and shadow ranges");

uptr ArenaBase() {
  uptr base = arena_base.load(std::memory_order_acquire);
  if (RACERT_LIKELY(base != 0)) return base;
  SpinMutexLock lock(&arena.init_mutex);
  base = arena_base.load(std::memory_order_relaxed);
  if (base == 0) {
    uptr mapped = ArenaSize();
    int error = EEXIST;
    if (arena.size != 0) {
      mapped = kGrowChunk < ArenaSize() ? kGrowChunk : ArenaSize();
      error = MapFixedNoReplaceError(kGrowableArenaBase, mapped);
      if (error != 0 && error != EEXIST) FatalMappingFailed("map", mapped, "shadow cell sets", error);
    }
    if (error == 0) {
      base = kGrowableArenaBase;
    } else {
      // The fixed range is taken (or no limit): one reservation of the whole arena.
      mapped = ArenaSize();
      base = reinterpret_cast<uptr>(ReserveAnonymousOrDie(mapped, "shadow cell sets"));
    }
    arena.mapped.store(mapped, std::memory_order_relaxed);
    arena.bump.store(kHandleUnit, std::memory_order_relaxed);
    arena_base.store(base, std::memory_order_release);
  }
  return base;
}

// Maps the arena up to at least `needed` bytes (needed <= ArenaSize()).
void GrowArena(uptr needed) {
  SpinMutexLock lock(&arena.init_mutex);
  uptr base = arena_base.load(std::memory_order_relaxed);
  uptr mapped = arena.mapped.load(std::memory_order_relaxed);
  while (mapped < needed) {
    uptr chunk = ArenaSize() - mapped < kGrowChunk ? ArenaSize() - mapped : kGrowChunk;
    if (int error = MapFixedNoReplaceError(base + mapped, chunk)) {
      char what[120];
      Format(what, sizeof(what), "more shadow cell sets (%zu MiB mapped so far, at 0x%zx)", mapped >> 20,
             base + mapped);
      FatalMappingFailed("map", chunk, what, error);
    }
    mapped += chunk;
    arena.mapped.store(mapped, std::memory_order_release);
  }
}

unsigned ClassFor(u32 min_capacity) {
  for (unsigned c = 0; c < kCellSetClassCount; c++) {
    if (kCellSetCapacity[c] >= min_capacity) return c;
  }
  Fatal("a shadow word needs %u cells, more than the supported %u", min_capacity, kCellSetMaxCapacity);
}

}  // namespace

void PlaceLastCellBySlot(u64* cells, u32 count) {
  if (count < 2) return;
  const u64 last = cells[count - 1];
  const Sid sid = Cell(last).sid();
  u32 j = count - 1;
  for (; j > 0 && Cell(cells[j - 1]).sid() > sid; j--) cells[j] = cells[j - 1];
  cells[j] = last;
}

bool AnyPlainCell(const u64* cells, u32 count) {
  for (u32 i = 0; i < count; i++) {
    if (!Cell(cells[i]).is_atomic()) return true;
  }
  return false;
}

u32 LoneWriteOf(const u64* cells, u32 count) {
  u32 found = kNoWriteCell;
  for (u32 i = 0; i < count; i++) {
    if (Cell(cells[i]).write_mask() == 0) continue;
    if (found != kNoWriteCell) return kWriteCellsUnknown;
    found = i;
  }
  return found;
}

void FindSlotRun(const u64* cells, u32 count, Sid sid, u32 hint, u32* begin, u32* end) {
  u32 lo;
  if (hint < count && Cell(cells[hint]).sid() == sid) {
    lo = hint;
    while (lo > 0 && Cell(cells[lo - 1]).sid() == sid) lo--;
  } else {
    // The first cell whose slot is not below sid.
    lo = 0;
    u32 hi = count;
    while (lo < hi) {
      u32 mid = lo + (hi - lo) / 2;
      if (Cell(cells[mid]).sid() < sid) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
  }
  u32 hi = lo;
  while (hi < count && Cell(cells[hi]).sid() == sid) hi++;
  *begin = lo;
  *end = hi;
}

void ReplaceCellRun(u64* cells, u32 count, u32 begin, u32 end, const u64* run, u32 n) {
  RACERT_DCHECK(begin <= end && end <= count);
  const u32 old_n = end - begin;
  if (n != old_n) {
    // Overlapping move of the tail; cells are plain words (the word is locked).
    u64* from = cells + end;
    u64* to = cells + begin + n;
    u32 tail = count - end;
    if (to < from) {
      for (u32 i = 0; i < tail; i++) to[i] = from[i];
    } else {
      for (u32 i = tail; i > 0; i--) to[i - 1] = from[i - 1];
    }
  }
  for (u32 i = 0; i < n; i++) cells[begin + i] = run[i];
}

void SortCellsBySlot(u64* cells, u32 count) {
  // Insertion sort: each longer prefix is sorted but for its last cell.
  for (u32 n = 2; n <= count; n++) PlaceLastCellBySlot(cells, n);
}

namespace {
u32 AllocateOfClass(unsigned size_class);
}  // namespace

u32 ReadSetCells(const CellSet* set, u64* out) {
  RACERT_DCHECK(CellSetIsReadSet(set));
  const EpochSnapshot& snapshot = EpochSnapshotAt(set->next_free);
  const u8 read_mask = ReadSetMask(set);
  u32 count = 0;
  for (u32 w = 0; w < kReadSetSlotWords; w++) {
    for (u64 slots = set->cells[w]; slots != 0; slots &= slots - 1) {
      Sid sid = static_cast<Sid>(w * 64 + static_cast<u32>(__builtin_ctzll(slots)));
      out[count++] = SnapshotReadCell(snapshot, sid, read_mask).raw();
    }
  }
  count += ReadSetExtras(set, out + count);
  RACERT_DCHECK(count == set->count);
  return count;
}

namespace {

// cells[0..count) split into a read set's parts.
struct ReadSetParts {
  u8 read_mask = 0;
  u32 readers = 0;
  u32 extras = 0;
  u64 slots[kReadSetSlotWords] = {};
  u64 extra_cells[kReadSetMaxExtras];
  u64 reader_cells[kSlotCount];
};

// Whether cells[0..count) have a read set's form; fills `parts` if so. The
// read cells are the plain read-only cells of the first one's bytes and
// generation, the first of each slot; at most kReadSetMaxExtras are left.
bool SplitForReadSet(const u64* cells, u32 count, ReadSetParts* parts) {
  if (count > kReadSetMaxCells) return false;
  Generation generation = 0;
  for (u32 i = 0; i < count; i++) {
    const Cell c(cells[i]);
    const bool plain_read = c.write_mask() == 0 && !c.is_atomic();
    if (plain_read && parts->read_mask == 0) {
      parts->read_mask = c.read_mask();
      generation = c.generation();
    }
    u64& word = parts->slots[c.sid() / 64];
    const u64 bit = u64{1} << (c.sid() % 64);
    if (plain_read && c.read_mask() == parts->read_mask && c.generation() == generation && (word & bit) == 0) {
      word |= bit;
      parts->reader_cells[parts->readers++] = c.raw();
    } else if (parts->extras < kReadSetMaxExtras) {
      parts->extra_cells[parts->extras++] = c.raw();
    } else {
      return false;
    }
  }
  // A set of two readers is as small in the explicit form.
  return parts->readers > 2;
}

}  // namespace

u32 ReadSetExtras(const CellSet* set, u64* out) {
  RACERT_DCHECK(CellSetIsReadSet(set));
  u32 count = 0;
  for (u32 i = 0; i < kReadSetMaxExtras; i++) {
    if (u64 extra = set->cells[kReadSetFirstExtra + i]) out[count++] = extra;
  }
  return count;
}

namespace {

// Writes a read set's fields under its sequence lock.
void PublishReadSet(CellSet* set, const u64* slots, u8 read_mask, u32 snapshot, const u64* extras, u32 extra_count,
                    u32 count) {
  u64* sequence = &set->cells[kReadSetSequenceIndex];
  const u64 before = RelaxedLoad(*sequence);
  RACERT_DCHECK((before & kReadSetSequenceStep) == 0);
  RelaxedStore(*sequence, before + kReadSetSequenceStep);
  std::atomic_thread_fence(std::memory_order_release);
  for (u32 w = 0; w < kReadSetSlotWords; w++) RelaxedStore(set->cells[w], slots[w]);
  for (u32 i = 0; i < kReadSetMaxExtras; i++) {
    RelaxedStore(set->cells[kReadSetFirstExtra + i], i < extra_count ? extras[i] : 0);
  }
  RelaxedStore(set->next_free, snapshot);
  set->count = static_cast<u16>(count);
  ReleaseStore(*sequence, ((before & ~kReadSetMaskBits) + 2 * kReadSetSequenceStep) | read_mask);
}

}  // namespace

bool ReadSetMapHasKey(const CellSet* set, u64 key) {
  RACERT_DCHECK(CellSetIsReadSet(set));
  const Cell k(key);
  if (((set->cells[k.sid() / 64] >> (k.sid() % 64)) & 1) == 0) return false;
  return SnapshotReadCell(EpochSnapshotAt(set->next_free), k.sid(), ReadSetMask(set)).key() == key;
}

bool ReadSetReplaceExtras(CellSet* set, const u64* cells, u32 count) {
  RACERT_DCHECK(CellSetIsReadSet(set));
  const u32 snapshot_id = set->next_free;
  const EpochSnapshot& snapshot = EpochSnapshotAt(snapshot_id);
  const Generation generation = snapshot.generation.load(std::memory_order_relaxed);
  const u8 read_mask = ReadSetMask(set);
  u64 slots[kReadSetSlotWords];
  for (u32 w = 0; w < kReadSetSlotWords; w++) slots[w] = set->cells[w];
  u64 extras[kReadSetMaxExtras];
  u32 readers = set->count - ReadSetExtras(set, extras);  // (extras overwritten below)
  u32 extra_count = 0;
  for (u32 i = 0; i < count; i++) {
    const Cell c(cells[i]);
    const bool plain = !c.is_atomic();
    const u64 bit = u64{1} << (c.sid() % 64);
    const bool in_map = (slots[c.sid() / 64] & bit) != 0;
    if (plain && c.generation() == generation) {
      const Epoch entry = snapshot.epochs[c.sid()].load(std::memory_order_relaxed);
      // A cell whose key a map cell has would be a second cell of that key:
      // the general path merges them.
      if (in_map && entry == c.epoch()) return false;
      if (!in_map && c.write_mask() == 0 && c.read_mask() == read_mask &&
          FitsEpochSnapshot(snapshot_id, &cells[i], 1, generation)) {
        slots[c.sid() / 64] |= bit;
        readers++;
        continue;
      }
    }
    if (extra_count == kReadSetMaxExtras) return false;
    extras[extra_count++] = c.raw();
  }
  PublishReadSet(set, slots, read_mask, snapshot_id, extras, extra_count, readers + extra_count);
  return true;
}

u32 StoreAsReadSet(u32 handle, const u64* cells, u32 count) {
  ReadSetParts parts;
  if (!SplitForReadSet(cells, count, &parts)) return 0;
  const Generation generation = Cell(parts.reader_cells[0]).generation();
  CellSet* set = handle ? CellSetFromHandle(handle) : nullptr;
  RACERT_DCHECK(set == nullptr || CellSetIsReadSet(set));
  u32 snapshot = kNoEpochSnapshot;
  const u32 previous = set ? set->next_free : kNoEpochSnapshot;
  if (set && FitsEpochSnapshot(previous, parts.reader_cells, parts.readers, generation)) {
    snapshot = previous;
  } else {
    snapshot = AcquireEpochSnapshotFor(parts.reader_cells, parts.readers, generation,
                                       parts.readers >= kReadSetNewSnapshotReaders);
    if (snapshot == kNoEpochSnapshot) return 0;
  }
  if (snapshot != previous) {
    // A set keeps its snapshot for life (the word's summary names it).
    handle = AllocateOfClass(kReadSetClass);
    set = CellSetFromHandle(handle);
  }
  PublishReadSet(set, parts.slots, parts.read_mask, snapshot, parts.extra_cells, parts.extras, count);
  return handle;
}

namespace {

[[noreturn]] void ArenaExhausted() {
  if (ArenaSize() < kMaxArenaSize) {
    Fatal("shadow cell-set arena exhausted: %zu MiB of sets hold words that need three or more cells, "
          "the most the address-space limit (ulimit -v) leaves for them; raise the limit (ulimit -v "
          "unlimited) for the full %zu GiB",
          ArenaSize() >> 20, kMaxArenaSize >> 30);
  }
  Fatal("shadow cell-set arena exhausted: %zu bytes of sets hold words that need three or more cells; "
        "fewer goroutines touching the same words at once, or freeing such memory, keeps it lower",
        ArenaSize());
}

// Read sets are carved this many at a time, on a cache-line boundary, so that
// each lies in one line (the covering check then reads one line).
constexpr u32 kReadSetsPerCarve = 64;

u32 AllocateOfClass(unsigned size_class) {
  uptr base = ArenaBase();
  uptr bytes = BytesForClass(size_class);
  u32 handle = 0;
  {
    FreeList& list = arena.free_lists[size_class];
    SpinMutexLock lock(&list.mutex);
    if (list.stack_count != 0) {
      handle = list.stack[--list.stack_count];
    } else if (list.head != 0) {
      handle = list.head;
      list.head = CellSetFromHandle(handle)->next_free;
    }
    if (handle != 0) {
      list.free_count.store(list.free_count.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    } else {
      const bool read_sets = size_class == kReadSetClass;
      const uptr sets = read_sets ? kReadSetsPerCarve : 1;
      const uptr slack = read_sets ? kReadSetBytes - kHandleUnit : 0;
      uptr offset = arena.bump.fetch_add(sets * bytes + slack, std::memory_order_relaxed);
      if (read_sets) offset = (offset + kReadSetBytes - 1) & ~(kReadSetBytes - 1);  // the base is page-aligned
      if (offset + sets * bytes > ArenaSize()) ArenaExhausted();
      if (offset + sets * bytes > arena.mapped.load(std::memory_order_acquire)) GrowArena(offset + sets * bytes);
      handle = static_cast<u32>(offset / kHandleUnit);
      // The others go to the free stack (room: a carve comes only when it is empty).
      for (uptr i = 1; i < sets; i++) {
        u32 other = static_cast<u32>((offset + i * bytes) / kHandleUnit);
        reinterpret_cast<CellSet*>(base + uptr{other} * kHandleUnit)->size_class = static_cast<u8>(size_class);
        list.stack[list.stack_count++] = other;
      }
      list.free_count.store(list.free_count.load(std::memory_order_relaxed) + sets - 1, std::memory_order_relaxed);
      list.carved.store(list.carved.load(std::memory_order_relaxed) + sets, std::memory_order_relaxed);
    }
  }
  CellSet* set = reinterpret_cast<CellSet*>(base + uptr{handle} * kHandleUnit);
  // A lock-free reader may still be looking at a stale copy of this set; it
  // re-checks the shadow word before trusting what it read.
  set->count = 0;
  set->size_class = static_cast<u8>(size_class);
  if (size_class == kReadSetClass) {
    set->next_free = 0;
  } else {
    set->lone_write = kWriteCellsUnknown;
  }
  return handle;
}

}  // namespace

u32 CellSetAllocate(u32 min_capacity) { return AllocateOfClass(ClassFor(min_capacity)); }

void CellSetFree(u32 handle) {
  CellSet* set = CellSetFromHandle(handle);
  unsigned size_class = set->size_class;
  if (CellSetIsReadSet(set)) {
    // A lock-free reader may still be checking it: it must see the change.
    u64* sequence = &set->cells[kReadSetSequenceIndex];
    const u64 before = RelaxedLoad(*sequence);
    RelaxedStore(*sequence, before + kReadSetSequenceStep);
    std::atomic_thread_fence(std::memory_order_release);
    const u32 snapshot = set->next_free;
    // Read mask 0: no read set.
    ReleaseStore(*sequence, (before & ~kReadSetMaskBits) + 2 * kReadSetSequenceStep);
    ReleaseEpochSnapshot(snapshot);
  }
  set->count = 0;
  FreeList& list = arena.free_lists[size_class];
  {
    SpinMutexLock lock(&list.mutex);
    if (list.stack_count < kFreeStackCapacity) {
      list.stack[list.stack_count++] = handle;
    } else {
      set->next_free = list.head;
      list.head = handle;
    }
    list.free_count.store(list.free_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
}

uptr CellSetArenaReservation() { return ArenaSize(); }

void SetCellSetArenaSize(uptr bytes) {
  SpinMutexLock lock(&arena.init_mutex);
  RACERT_CHECK(arena_base.load(std::memory_order_relaxed) == 0);
  bytes &= ~((uptr{1} << 20) - 1);
  if (bytes < (uptr{16} << 20)) bytes = uptr{16} << 20;
  arena.size = bytes < kMaxArenaSize ? bytes : kMaxArenaSize;
}

uptr CellSetBytesInUseForTesting() {
  uptr bytes = 0;
  for (unsigned c = 0; c <= kReadSetClass; c++) {
    const FreeList& list = arena.free_lists[c];
    bytes += (list.carved.load(std::memory_order_relaxed) - list.free_count.load(std::memory_order_relaxed)) *
             BytesForClass(c);
  }
  return bytes;
}

uptr CellSetCountForTesting() {
  uptr sets = 0;
  for (const FreeList& list : arena.free_lists) {
    sets += list.carved.load(std::memory_order_relaxed) - list.free_count.load(std::memory_order_relaxed);
  }
  return sets;
}

}  // namespace racert
