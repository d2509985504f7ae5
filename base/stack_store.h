// A process-wide, deduplicating store of call stacks.
//
// A stack is a sequence of program counters stored exactly in the order given
// (the store does not care whether the innermost frame comes first or last;
// its users must agree on one order). Each distinct sequence is stored once
// and gets a 32-bit id, so reports and histories can refer to stacks cheaply.
//
// Guarantees:
//   * Ids are never 0 (callers can use 0 for "no stack"). The empty stack
//     (count 0) is an ordinary stack with its own non-zero id.
//   * Putting the same sequence again returns the same id, also when threads
//     race to put it (inserts into one hash bucket are serialized).
//   * Stored stacks are immutable and never move or get freed, so
//     StackStoreGet is lock-free and its result stays valid forever.
//   * Thread-safe; lookups of already-stored stacks take no lock.
#pragma once

#include "base/types.h"

namespace racert {

struct StackView {
  const uptr* pcs;  // `count` entries; never null for a valid id
  uptr count;
};

u32 StackStorePut(const uptr* pcs, uptr count);

// The stack stored under `id`. For 0 or any id StackStorePut never returned:
// {nullptr, 0} (distinguishable from the empty stack, whose pcs is non-null).
StackView StackStoreGet(u32 id);

// For tests only (no runtime code calls them):
// Memory the store has mapped (hash table, id table, stack storage).
uptr StackStoreMemoryBytesForTesting();
// Number of distinct stacks stored so far.
uptr StackStoreSizeForTesting();

}  // namespace racert
