#include "tsan_core/slot_pool.h"

#include "base/check.h"
#include "shadow/shadow_map.h"
#include "tsan_core/sync_table.h"

namespace racert {

std::atomic<u32> g_slot_high_water;

namespace {

// Owners remembered per slot: each attach (start, re-attach after a steal) is
// an entry, and an access older than the slot's last kJournalSize owners is
// reported as by an unknown goroutine.
constexpr unsigned kJournalSize = 128;

struct JournalEntry {
  Epoch first_epoch;  // the owner's first epoch on this slot
  SlotOwnerRecord owner;
};

struct Slot {
  SpinMutex mutex;
  GoroutineState* owner;  // guarded by mutex
  // Last epoch issued. Written only under mutex (IssueEpoch); AcquireAllSlots
  // reads it without: epochs only grow within a generation, and any value
  // read was issued before the read.
  std::atomic<Epoch> epoch;
  // The current owner's first epoch; written under mutex, read without it.
  std::atomic<Epoch> owner_first_epoch;
  u32 journal_count;      // total entries ever written (ring index = count % size)
  JournalEntry journal[kJournalSize];
};

struct SlotPool {
  SpinMutex mutex;                       // guards the free ring and the steal hand
  u32 free_ring[kSlotCount];
  u32 free_head;                         // next to take
  u32 free_count;
  u32 steal_hand;
  u32 never_used;                        // slots [never_used, kSlotCount) were never handed out
  Slot slots[kSlotCount];
  std::atomic<u8> generation;            // 0 until the first attach sets it to 1
  std::atomic<bool> reset_requested;
  std::atomic<u64> reset_count;
  Epoch max_epoch;                       // 0 means the default
};
constinit SlotPool pool{};

constexpr Epoch kDefaultMaxEpoch = 0xfffffff0u;

Epoch MaxEpoch() { return pool.max_epoch ? pool.max_epoch : kDefaultMaxEpoch; }

Generation LoadGeneration() {
  u8 gen = pool.generation.load(std::memory_order_acquire);
  if (RACERT_UNLIKELY(gen == 0)) {
    u8 expected = 0;
    pool.generation.compare_exchange_strong(expected, 1, std::memory_order_acq_rel);
    gen = pool.generation.load(std::memory_order_acquire);
  }
  return gen;
}

// The slot's next epoch. Slot mutex held.
Epoch IssueEpoch(Slot& slot) {
  Epoch next = slot.epoch.load(std::memory_order_relaxed) + 1;
  slot.epoch.store(next, std::memory_order_relaxed);
  return next;
}

void RecordOwner(Slot& slot, GoroutineState* g) {
  JournalEntry& entry = slot.journal[slot.journal_count % kJournalSize];
  entry.first_epoch = slot.epoch.load(std::memory_order_relaxed);
  entry.owner = SlotOwnerRecord{g->number, g->creation_stack};
  slot.journal_count++;
}

// Picks a slot for g and returns it locked, owned by g. Pool mutex held.
u32 TakeSlotLocked(GoroutineState* g) {
  // Never-used slots first, then freed ones, oldest first: the longer a slot
  // rests before reuse, the less a new owner can hide races with its earlier
  // owners from goroutines that synchronize with it (see the header).
  u32 sid;
  if (pool.never_used < kSlotCount) {
    sid = pool.never_used++;
    if (g_slot_high_water.load(std::memory_order_relaxed) < pool.never_used) {
      g_slot_high_water.store(pool.never_used, std::memory_order_relaxed);
    }
  } else if (pool.free_count > 0) {
    sid = pool.free_ring[pool.free_head];
    pool.free_head = (pool.free_head + 1) % kSlotCount;
    pool.free_count--;
  } else {
    // Every slot is owned: take one from its owner. The victim notices at its
    // next sync operation (its slot's owner is no longer itself).
    sid = pool.steal_hand;
    pool.steal_hand = (pool.steal_hand + 1) % kSlotCount;
  }
  Slot& slot = pool.slots[sid];
  slot.mutex.Lock();
  slot.owner = g;
  return sid;
}

void AttachLocked(GoroutineState* g, u32 sid) {
  Slot& slot = pool.slots[sid];
  // A slot is held, so no reset can run now: the generation is stable.
  Generation gen = LoadGeneration();
  if (g->clock_generation != gen) {
    g->clock.Reset();
    g->clock_generation = gen;
  }
  Epoch first = IssueEpoch(slot);
  g->sid = sid;
  g->epoch = first;
  g->slot_first_epoch = first;
  slot.owner_first_epoch.store(first, std::memory_order_relaxed);
  g->slot_inherited_epoch = g->clock.Get(static_cast<Sid>(sid));
  g->clock.Set(static_cast<Sid>(sid), first);
  RecordOwner(slot, g);
  RefreshKeys(g);
  g->history.AddEpoch(static_cast<Sid>(sid), first);
  if (first >= MaxEpoch()) pool.reset_requested.store(true, std::memory_order_relaxed);
}

}  // namespace

Generation CurrentGeneration() { return LoadGeneration(); }

void RefreshKeys(GoroutineState* g) {
  Generation gen = LoadGeneration();
  Sid sid = static_cast<Sid>(g->sid);
  g->plain_key = CellKey(sid, g->epoch, gen, /*is_atomic=*/false);
  g->atomic_key = CellKey(sid, g->epoch, gen, /*is_atomic=*/true);
  g->clock_data = g->clock.data();
}

void LockOwnSlot(GoroutineState* g) {
  if (RACERT_LIKELY(g->sid != kNoSid)) {
    Slot& slot = pool.slots[g->sid];
    slot.mutex.Lock();
    if (RACERT_LIKELY(slot.owner == g)) return;
    slot.mutex.Unlock();
  }
  u32 sid;
  {
    SpinMutexLock lock(&pool.mutex);
    sid = TakeSlotLocked(g);
  }
  AttachLocked(g, sid);
}

void UnlockOwnSlot(GoroutineState* g) { pool.slots[g->sid].mutex.Unlock(); }

void AdvanceEpoch(GoroutineState* g) {
  Slot& slot = pool.slots[g->sid];
  g->epoch = IssueEpoch(slot);
  g->clock.Set(static_cast<Sid>(g->sid), g->epoch);
  RefreshKeys(g);
  g->history.AddEpoch(static_cast<Sid>(g->sid), g->epoch);
  if (RACERT_UNLIKELY(g->epoch >= MaxEpoch())) pool.reset_requested.store(true, std::memory_order_relaxed);
}

void DetachSlot(GoroutineState* g) {
  if (g->sid == kNoSid) return;
  SpinMutexLock pool_lock(&pool.mutex);
  Slot& slot = pool.slots[g->sid];
  SpinMutexLock slot_lock(&slot.mutex);
  if (slot.owner != g) return;  // already taken by someone else
  slot.owner = nullptr;
  // Freed slots are reused in FIFO order: the longer a slot rests, the less
  // likely its previous owner's accesses are still being raced with.
  pool.free_ring[(pool.free_head + pool.free_count) % kSlotCount] = g->sid;
  pool.free_count++;
  g->sid = kNoSid;
}

void AcquireAllSlots(GoroutineState* g) {
  unsigned n = g_slot_high_water.load(std::memory_order_relaxed);
  for (unsigned s = 0; s < n; s++) {
    // Reading other slots' epochs without their locks is fine: epochs only
    // grow, and any value read was issued before this point.
    Epoch e = pool.slots[s].epoch.load(std::memory_order_relaxed);
    if (s == g->sid) {
      // Everything before now, including the slot's earlier owners.
      if (g->slot_inherited_epoch < e) g->slot_inherited_epoch = e;
      continue;
    }
    if (g->clock.Get(static_cast<Sid>(s)) < e) g->clock.Set(static_cast<Sid>(s), e);
  }
}

Epoch SlotOwnerFirstEpoch(Sid sid) { return pool.slots[sid].owner_first_epoch.load(std::memory_order_relaxed); }

bool FindSlotOwner(Sid sid, Epoch epoch, SlotOwnerRecord* out) {
  Slot& slot = pool.slots[sid];
  SpinMutexLock lock(&slot.mutex);
  u32 count = slot.journal_count;
  u32 oldest = count > kJournalSize ? count - kJournalSize : 0;
  // Newest first: the owner is the latest one that started at or before epoch.
  for (u32 i = count; i > oldest; i--) {
    const JournalEntry& entry = slot.journal[(i - 1) % kJournalSize];
    if (entry.first_epoch <= epoch) {
      *out = entry.owner;
      return true;
    }
  }
  return false;
}

void ResetIfRequested() {
  if (RACERT_LIKELY(!pool.reset_requested.load(std::memory_order_relaxed))) return;
  SpinMutexLock pool_lock(&pool.mutex);
  if (!pool.reset_requested.load(std::memory_order_relaxed)) return;
  for (unsigned s = 0; s < kSlotCount; s++) pool.slots[s].mutex.Lock();
  // A new generation makes every existing cell read as empty. When the
  // 6-bit generation wraps, cells from 63 resets ago would look current
  // again, so the shadow is cleared outright.
  u8 gen = LoadGeneration();
  if (gen >= kGenerationMask) {
    gen = 1;
    ClearAllShadow();
  } else {
    gen++;
  }
  pool.generation.store(gen, std::memory_order_release);
  // Goroutine clocks are dropped lazily (see GoroutineState::clock_generation);
  // sync clocks can be cleared now: every sync operation holds a slot.
  ResetAllSyncClocks();
  pool.free_head = 0;
  pool.free_count = 0;
  for (unsigned s = 0; s < kSlotCount; s++) {
    Slot& slot = pool.slots[s];
    slot.owner = nullptr;  // owners re-attach (and refresh keys) at their next sync
    slot.epoch.store(0, std::memory_order_relaxed);
    slot.owner_first_epoch.store(0, std::memory_order_relaxed);
    slot.journal_count = 0;
    if (s < pool.never_used) pool.free_ring[pool.free_count++] = s;
  }
  pool.reset_requested.store(false, std::memory_order_relaxed);
  pool.reset_count.fetch_add(1, std::memory_order_relaxed);
  for (unsigned s = kSlotCount; s > 0; s--) pool.slots[s - 1].mutex.Unlock();
}

void SetMaxEpochForTesting(Epoch max_epoch) { pool.max_epoch = max_epoch; }
u64 ResetCountForTesting() { return pool.reset_count.load(std::memory_order_relaxed); }

}  // namespace racert
