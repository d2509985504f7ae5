#include "shadow/shadow_word.h"

#include "base/syscalls.h"
#include "shadow/shadow_map.h"

namespace racert {

u64 LoadUnlocked(const std::atomic<u64>* primary, u64 observed) {
  for (u32 spins = 1; Cell(observed).is_locked(); spins++) {
    if (spins % 128 == 0) SysSchedYield(); else __builtin_ia32_pause();
    observed = primary->load(std::memory_order_relaxed);
  }
  return observed;
}

void ClearShadowWords(uptr addr, uptr size) {
  if (size == 0) return;
  uptr end = addr + size;
  for (uptr word_addr = addr & ~uptr{7}; word_addr < end; word_addr += 8) {
    std::atomic<u64>* word = ShadowWordFor(word_addr);
    // Read first: most fresh memory has no shadow yet, and writing zeros
    // would commit shadow pages for nothing. A plain store suffices: nothing
    // can reference memory that is being (re)allocated, so nobody else is
    // updating its shadow.
    u64 old = word->load(std::memory_order_relaxed);
    if (old == 0) continue;
    word->store(0, std::memory_order_relaxed);
    // A word that refers to a set is not locked by anyone: the set is ours.
    Cell cell(old);
    if (cell.is_handle()) CellSetFree(cell.handle());
  }
}

}  // namespace racert
