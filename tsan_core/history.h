// Per-goroutine access history: what a goroutine did, recorded compactly so
// that the stack of an earlier access can be rebuilt for a race report.
//
// Only accesses that change the shadow are recorded (a repeated access in the
// same epoch adds nothing), and calls are recorded lazily: func_enter/exit
// only move the shadow call stack; the trace learns about the stack when an
// access is recorded, as "pop to depth d, push these pcs". Calls that return
// without a recorded access inside leave no trace at all, so deep or hot call
// trees between two recorded accesses cost nothing here.
//
// An access event whose pc is that of the chunk's previous access event (a
// loop, a run of accesses from one line) says so with a bit instead of
// repeating the pc: one word instead of two.
//
// A plain 1-byte access (how Go reports every scalar access) is recorded as
// its word and a byte mask. When the next one is by the same pc to the same
// word, in the same epoch and with the same call stack, its byte is OR-ed into
// that event instead of adding a new one: a loop filling a buffer byte by byte
// records one event per word, with each byte still attributed exactly.
//
// Storage is a chain of chunks that grow from 256 bytes to 64 KiB; at most
// the window is kept per goroutine, less when all goroutines together exceed
// the global budget, and the oldest chunk is recycled first. Each chunk
// starts with a snapshot of the traced call stack, so replay can begin at any
// retained chunk.
//
// Concurrency: the owning goroutine appends; a race report on another thread
// may replay the history at the same time. Appends publish their words with a
// release store of the chunk's `used` count; chunk creation and recycling
// (the only changes to the chain) happen under `chain_mutex_`, which Restore
// also holds.
#pragma once

#include <atomic>

#include "base/atomic_ref.h"
#include "base/internal_vector.h"
#include "base/spin_mutex.h"
#include "base/types.h"
#include "shadow/access_identity.h"
#include "shadow/shadow_map.h"

namespace racert {

struct HistoryChunk;

// What Restore found: the stack of the access (outermost first, access pc
// last) and the exact access.
struct RestoredAccess {
  InternalVector<uptr> stack;
  uptr addr;
  uptr size;
  bool is_write;
  bool is_atomic;
};

// GORACE history_size n (0..kMaxHistorySize) keeps 2^n x kHistoryWindowUnit
// bytes of history per goroutine and 2^n x kHistoryBudgetUnit for all
// goroutines together (History::Configure).
constexpr s64 kMaxHistorySize = 7;
constexpr uptr kHistoryWindowUnit = uptr{1} << 20;
constexpr uptr kHistoryBudgetUnit = uptr{64} << 20;

class History {
 public:
  // Sets the window and the budget for GORACE history_size (clamped to
  // 0..kMaxHistorySize).
  static void Configure(s64 history_size);
  // Sets how many 8-byte words of history one goroutine keeps at most.
  static void SetWindowWords(uptr words);
  // Caps the history of all goroutines together (see history.cpp).
  static void SetGlobalBudgetBytes(uptr bytes);
  // For tests only (no runtime code calls it): the window SetWindowWords set.
  static uptr WindowWordsForTesting();

  // Records an access. `call_stack` is the goroutine's shadow stack (outermost
  // first); `stable_depth` is how many of its bottom frames are unchanged
  // since the last recorded event (maintained by the goroutine on exit).
  // With `innermost_in_event`, the stack's innermost frame (not empty) goes
  // into the event instead of the trace: a frame pushed around one access
  // (an atomic operation's caller frame), which would otherwise be pushed and
  // popped in the trace for every such access.
  void AddAccess(const InternalVector<uptr>& call_stack, uptr* stable_depth, uptr addr, uptr size,
                 bool is_write, bool is_atomic, uptr pc, bool innermost_in_event);
  // Records a plain 1-byte access if the call stack (depth `depth`, of which
  // `stable_depth` bottom frames are unchanged since the last record) is
  // exactly the one the trace last recorded, so no call events are needed.
  // Returns false when the general AddAccess is needed (the stack changed, no
  // room in the chunk, or no chunk yet). Inline: it is part of the access
  // path for byte loops over fresh memory.
  RACERT_ALWAYS_INLINE bool TryAddByteAccessOnSameStack(uptr depth, uptr stable_depth, uptr addr, bool is_write,
                                                        uptr pc);
  // Records that the goroutine now runs as (sid, epoch).
  void AddEpoch(Sid sid, Epoch epoch);
  // The newest epoch of the current slot under which an access was recorded
  // here, 0 if none since the goroutine attached to that slot. Every access
  // that changes the shadow is recorded before it is published, so no cell
  // of this goroutine names a later epoch of the slot (slot_pool.cpp relies
  // on it to reuse a slot without hiding accesses).
  Epoch LastAccessEpoch() const { return last_access_epoch_; }

  // Finds the access recorded under (sid, epoch) that touched one of the
  // bytes in `mask` of the word at `word_addr` with the given kind (write or
  // read, atomic or plain).
  bool Restore(Sid sid, Epoch epoch, uptr word_addr, u8 mask, bool is_write, bool is_atomic,
               RestoredAccess* out) const;

  // Takes over `other`'s recorded events (for Restore only: no more events
  // are added here) and leaves `other` empty. This history must be empty, and
  // no Restore of either may run meanwhile.
  void TakeEventsOf(History* other);

  // Releases all chunks.
  void Clear();
  uptr MemoryBytes() const;

 private:
  // Starts a chunk for an event recorded against call_stack[0..depth).
  void StartChunk(const InternalVector<uptr>& call_stack, uptr depth, uptr stable_depth, uptr words_if_stable);
  // Publishes the words written up to pos_ to readers (release).
  RACERT_ALWAYS_INLINE void PublishUsed() {
    newest_used_->store(static_cast<u32>(pos_ - newest_words_), std::memory_order_release);
  }

  mutable SpinMutex chain_mutex_;
  HistoryChunk* oldest_;
  HistoryChunk* newest_;
  u64* pos_;
  u64* end_;
  // The newest chunk's published word count and first word (pos_ and end_
  // point into it): kept here so the inline byte path needs no chunk layout.
  std::atomic<u32>* newest_used_;
  u64* newest_words_;
  uptr total_words_;
  // Chunks and their stack snapshots, in bytes (kept as it changes: the
  // registry asks for it when a goroutine finishes and is retired).
  uptr memory_bytes_;
  // The call stack as a replay of the trace would have it now. An access
  // re-records only the frames above its common prefix with the current
  // stack, so a loop calling the same function from the same place records
  // no call events at all.
  InternalVector<uptr> traced_stack_;
  Sid current_sid_;
  Epoch current_epoch_;
  Epoch last_access_epoch_;  // see LastAccessEpoch
  // The last event if it is a byte-access event that a following byte access
  // may extend (same word, kind, pc, stack and epoch); null otherwise.
  u64* extendable_byte_event_;
  // The pc of the newest chunk's last access event (0 before its first): an
  // access event with the same pc sets kHistorySamePcBit and omits it.
  uptr last_access_pc_;
};

// Byte-access events: the header, then the pc unless the header has
// kHistorySamePcBit. Header layout:
//   bits  0..2   event type (kByteAccessEvent)
//   bit   3      write
//   bit   7      same pc as the chunk's previous access event (no pc word)
//   bits  8..15  bytes of the word accessed
//   bits 16..63  word address >> 3
constexpr u64 kByteAccessEvent = 5;
constexpr u64 kHistoryTypeMask = 7;
constexpr u64 kHistoryWriteBit = u64{1} << 3;
constexpr u64 kHistorySamePcBit = u64{1} << 7;
constexpr unsigned kByteEventMaskShift = 8;
constexpr unsigned kByteEventWordShift = 16;
constexpr u64 kByteEventMaskBits = u64{0xff} << kByteEventMaskShift;
static_assert((kAppHighEnd >> 3) <= (~u64{0} >> kByteEventWordShift),
              "byte events must be able to hold every shadowed word address");

RACERT_ALWAYS_INLINE u64 ByteEventHeader(uptr addr, bool is_write) {
  return (u64{addr >> 3} << kByteEventWordShift) | (u64{1} << (kByteEventMaskShift + (addr & 7))) |
         (is_write ? kHistoryWriteBit : 0) | kByteAccessEvent;
}

RACERT_ALWAYS_INLINE bool History::TryAddByteAccessOnSameStack(uptr depth, uptr stable_depth, uptr addr,
                                                               bool is_write, uptr pc) {
  // Frames above stable_depth may have been replaced; the trace may still
  // hold frames the goroutine has returned from.
  if (stable_depth != depth || traced_stack_.size() != depth) return false;
  u64 header = ByteEventHeader(addr, is_write);
  const bool same_pc = pc == last_access_pc_;
  if (u64* last = extendable_byte_event_) {
    // The last event is the newest access event: its pc is last_access_pc_.
    u64 previous = RelaxedLoad(*last);
    if (((previous ^ header) & ~(kByteEventMaskBits | kHistorySamePcBit)) == 0 && same_pc) {
      // A concurrent Restore may read the header: a single atomic store.
      RelaxedStore(*last, previous | header);
      return true;
    }
  }
  if (end_ - pos_ < 2) return false;
  u64* event = pos_;
  if (same_pc) {
    event[0] = header | kHistorySamePcBit;
    pos_ = event + 1;
  } else {
    event[0] = header;
    event[1] = pc;
    pos_ = event + 2;
    last_access_pc_ = pc;
  }
  extendable_byte_event_ = event;
  last_access_epoch_ = current_epoch_;
  PublishUsed();
  return true;
}

}  // namespace racert
