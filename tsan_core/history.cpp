#include "tsan_core/history.h"

#include <atomic>

#include "base/atomic_ref.h"
#include "base/check.h"
#include "base/internal_alloc.h"

namespace racert {

struct HistoryChunk {
  HistoryChunk* next;
  u32 capacity;                 // words
  std::atomic<u32> used;        // words published to readers
  // The traced call stack when the chunk began (outermost first), owned by
  // the chunk so that recycling the chunk frees it: history stays bounded
  // even for deep, ever-changing stacks.
  uptr* start_stack;
  uptr start_depth;
  Sid start_sid;
  Epoch start_epoch;
  u64 words[];
};

namespace {

// Event words. The low 3 bits are the type (kByteAccessEvent, 5, is declared
// in the header for the inline path).
enum EventType : u64 { kPush = 1, kPopTo = 2, kAccess = 3, kEpoch = 4 };
static_assert(kByteAccessEvent > kEpoch && kByteAccessEvent <= kHistoryTypeMask, "event types must differ");
constexpr u64 kTypeMask = kHistoryTypeMask;
// Access flags (bits 3..7: kHistorySamePcBit is bit 7), address from bit 8,
// and bit 63: the event carries the pc of a call site above the traced
// stack, in the word after the access's pc (AddAccess, innermost_in_event).
// Words: header, pc (unless kHistorySamePcBit), call site (if kCallSiteBit),
// size (if the size code is 3).
constexpr u64 kWriteBit = kHistoryWriteBit;
constexpr u64 kAtomicBit = 1 << 4;
constexpr unsigned kSizeCodeShift = 5;  // 2 bits: 0 -> 1 byte, 1 -> 4, 2 -> 8, 3 -> explicit word
constexpr unsigned kAddrShift = 8;
constexpr u64 kCallSiteBit = u64{1} << 63;
static_assert((kAppHighEnd >> (63 - kAddrShift)) == 0, "addresses in access events stay below the call-site bit");
static_assert((kHistorySamePcBit & (kWriteBit | kAtomicBit | (u64{3} << kSizeCodeShift) | kTypeMask)) == 0 &&
                  kHistorySamePcBit < (u64{1} << kAddrShift) && kHistorySamePcBit < (u64{1} << kByteEventMaskShift),
              "the same-pc bit is free in both access event headers");

constexpr u32 kFirstChunkWords = 32;
constexpr u32 kMaxChunkWords = 8192;  // 64 KiB

// Per-goroutine window: 1 MiB by default (GORACE history_size scales it).
// Only shadow-changing accesses are recorded and calls lazily, so this spans
// far more execution than the same bytes of a record-everything trace.
uptr window_words = kHistoryWindowUnit / sizeof(u64);
// All goroutines together: past this many bytes, a goroutine that needs a new
// chunk recycles its own oldest one instead of allocating (if it has two).
// Keeps programs with thousands of busy goroutines from paying a full window
// each, while a goroutine that works alone still gets its whole window.
uptr global_budget_bytes = kHistoryBudgetUnit;
std::atomic<uptr> global_history_bytes;

uptr ChunkBytes(u32 capacity) { return sizeof(HistoryChunk) + sizeof(u64) * capacity; }

// Frees a chunk's stack snapshot; returns the bytes freed.
uptr FreeSnapshot(HistoryChunk* chunk) {
  uptr bytes = chunk->start_depth * sizeof(uptr);
  if (chunk->start_stack) InternalFree(chunk->start_stack, bytes);
  chunk->start_stack = nullptr;
  chunk->start_depth = 0;
  return bytes;
}

u64 SizeCode(uptr size) {
  switch (size) {
    case 1: return 0;
    case 4: return 1;
    case 8: return 2;
    default: return 3;
  }
}

}  // namespace

void History::Configure(s64 history_size) {
  s64 n = history_size < 0 ? 0 : history_size > kMaxHistorySize ? kMaxHistorySize : history_size;
  SetWindowWords((kHistoryWindowUnit / sizeof(u64)) << n);
  SetGlobalBudgetBytes(kHistoryBudgetUnit << n);
}

void History::SetWindowWords(uptr words) { window_words = words < 2 * kFirstChunkWords ? 2 * kFirstChunkWords : words; }
uptr History::WindowWordsForTesting() { return window_words; }
void History::SetGlobalBudgetBytes(uptr bytes) { global_budget_bytes = bytes; }

void History::StartChunk(const InternalVector<uptr>& call_stack, uptr depth, uptr stable_depth,
                         uptr words_if_stable) {
  SpinMutexLock lock(&chain_mutex_);
  HistoryChunk* chunk = nullptr;
  bool over_budget = global_history_bytes.load(std::memory_order_relaxed) > global_budget_bytes;
  // Chunks double in size while memory is plentiful.
  u32 capacity = newest_ ? newest_->capacity * (over_budget ? 1 : 2) : kFirstChunkWords;
  if (capacity > kMaxChunkWords) capacity = kMaxChunkWords;
  if (oldest_ && oldest_ != newest_ && (total_words_ + capacity > window_words || over_budget)) {
    // Recycle the oldest chunk: the window is full.
    chunk = oldest_;
    oldest_ = chunk->next;
    total_words_ -= chunk->capacity;
    memory_bytes_ -= FreeSnapshot(chunk);
  } else {
    chunk = static_cast<HistoryChunk*>(InternalAlloc(ChunkBytes(capacity)));
    memory_bytes_ += ChunkBytes(capacity);
    chunk->capacity = capacity;
    global_history_bytes.fetch_add(ChunkBytes(capacity), std::memory_order_relaxed);
  }
  // The events after the snapshot must fit in the chunk: if pushing the new
  // frames would not, the snapshot takes the whole current stack instead
  // (then only the access itself follows, which always fits).
  uptr snapshot_depth = words_if_stable <= chunk->capacity ? stable_depth : depth;
  chunk->next = nullptr;
  chunk->used.store(0, std::memory_order_relaxed);
  if (snapshot_depth > 0) {
    chunk->start_stack = static_cast<uptr*>(InternalAlloc(snapshot_depth * sizeof(uptr)));
    memory_bytes_ += snapshot_depth * sizeof(uptr);
    for (uptr i = 0; i < snapshot_depth; i++) chunk->start_stack[i] = call_stack[i];
  }
  chunk->start_depth = snapshot_depth;
  chunk->start_sid = current_sid_;
  chunk->start_epoch = current_epoch_;
  if (newest_) newest_->next = chunk; else oldest_ = chunk;
  newest_ = chunk;
  total_words_ += chunk->capacity;
  pos_ = chunk->words;
  end_ = chunk->words + chunk->capacity;
  newest_used_ = &chunk->used;
  newest_words_ = chunk->words;
  extendable_byte_event_ = nullptr;
  last_access_pc_ = 0;  // replay starts each chunk afresh
  traced_stack_.resize(snapshot_depth);
  for (uptr i = 0; i < snapshot_depth; i++) traced_stack_[i] = call_stack[i];
}

// Words an access event takes at most: address word, pc (unless the same as
// the previous access event's), a call site, and an explicit size unless the
// size is 1, 4 or 8.
constexpr uptr kMaxAccessWords = 4;

void History::AddAccess(const InternalVector<uptr>& call_stack, uptr* stable_depth, uptr addr, uptr size,
                        bool is_write, bool is_atomic, uptr pc, bool innermost_in_event) {
  RACERT_DCHECK(!innermost_in_event || call_stack.size() > 0);
  const uptr depth = call_stack.size() - (innermost_in_event ? 1 : 0);
  // Frames below stable_depth are unchanged since the last record; above it,
  // frames equal to the recorded ones (same call sites again) need no events.
  uptr common = *stable_depth < depth ? *stable_depth : depth;
  if (common > traced_stack_.size()) common = traced_stack_.size();
  while (common < depth && common < traced_stack_.size() && call_stack[common] == traced_stack_[common]) common++;
  uptr needed = 1 + (depth - common) + kMaxAccessWords;
  if (RACERT_UNLIKELY(pos_ == nullptr || pos_ + needed > end_)) {
    StartChunk(call_stack, depth, common, needed);
    common = traced_stack_.size();  // the snapshot depth
  }
  u64* out = pos_;
  if (traced_stack_.size() != common) {
    *out++ = (u64{common} << 3) | kPopTo;
    traced_stack_.resize(common);
  }
  for (uptr i = common; i < depth; i++) {
    *out++ = (u64{call_stack[i]} << 3) | kPush;
    traced_stack_.push_back(call_stack[i]);
  }
  *stable_depth = depth;
  if (size == 1 && !is_atomic && !innermost_in_event) {
    pos_ = out;
    extendable_byte_event_ = nullptr;
    // The stack now matches the trace, and room was reserved above.
    bool added = TryAddByteAccessOnSameStack(depth, depth, addr, is_write, pc);
    RACERT_DCHECK(added);
    (void)added;
    return;
  }
  u64 code = SizeCode(size);
  const bool same_pc = pc == last_access_pc_;
  *out++ = (u64{addr} << kAddrShift) | (code << kSizeCodeShift) | (is_atomic ? kAtomicBit : 0) |
           (is_write ? kWriteBit : 0) | (same_pc ? kHistorySamePcBit : 0) |
           (innermost_in_event ? kCallSiteBit : 0) | kAccess;
  if (!same_pc) *out++ = pc;
  last_access_pc_ = pc;
  if (innermost_in_event) *out++ = call_stack[depth];
  if (code == 3) *out++ = size;
  pos_ = out;
  extendable_byte_event_ = nullptr;
  last_access_epoch_ = current_epoch_;
  PublishUsed();
}

void History::AddEpoch(Sid sid, Epoch epoch) {
  if (sid != current_sid_) last_access_epoch_ = 0;
  current_sid_ = sid;
  current_epoch_ = epoch;
  if (pos_ == nullptr) return;  // the first chunk will start with this state
  extendable_byte_event_ = nullptr;
  if (pos_ + 1 > end_) return;  // the next chunk's header records it
  *pos_++ = (u64{epoch} << 32) | (u64{sid} << 8) | kEpoch;
  PublishUsed();
}

namespace {

// What Restore looks for: an access under (sid, epoch) of the given kind that
// touched a byte of `mask` in the word at word_addr. The kind includes
// atomicity: a plain and an atomic access of the same bytes in one epoch are
// two cells, and each must get its own access's stack.
struct RestoreQuery {
  Sid sid;
  Epoch epoch;
  uptr word_addr;
  u8 mask;
  bool is_write;
  bool is_atomic;
};

enum class Replay { kFound, kNotHere, kUnreadable };

// The pc of the access event whose header is words[*i]: the chunk's previous
// access event's (*last_pc) if the header says so, else the next word
// (advancing *i to it). Updates *last_pc. False if the word is not published.
bool ReadEventPc(const u64* words, u32 used, u32* i, u64 header, uptr* last_pc) {
  if (header & kHistorySamePcBit) return true;
  if (*i + 1 >= used) return false;
  *last_pc = static_cast<uptr>(words[++*i]);
  return true;
}

// The general access event at words[*i] (header, pc unless the same as the
// previous access event's, maybe an explicit size), advancing *i to its last
// word. Whether it is the one `q` looks for.
Replay MatchAccessEvent(const u64* words, u32 used, u32* i, const RestoreQuery& q, bool in_query_epoch,
                        uptr* last_pc, InternalVector<uptr>* stack, RestoredAccess* out) {
  u64 word = words[*i];
  if (!ReadEventPc(words, used, i, word, last_pc)) return Replay::kUnreadable;
  uptr addr = static_cast<uptr>((word & ~kCallSiteBit) >> kAddrShift);
  uptr pc = *last_pc;
  uptr call_site = 0;
  if (word & kCallSiteBit) {
    if (*i + 1 >= used) return Replay::kUnreadable;
    call_site = static_cast<uptr>(words[++*i]);
  }
  u64 code = (word >> kSizeCodeShift) & 3;
  uptr size = code == 0 ? 1 : code == 1 ? 4 : code == 2 ? 8 : 0;
  if (code == 3) {
    if (*i + 1 >= used) return Replay::kUnreadable;
    size = static_cast<uptr>(words[++*i]);
  }
  bool is_write = (word & kWriteBit) != 0;
  bool is_atomic = (word & kAtomicBit) != 0;
  if (!in_query_epoch || is_write != q.is_write || is_atomic != q.is_atomic) return Replay::kNotHere;
  for (unsigned b = 0; b < 8; b++) {
    uptr byte = q.word_addr + b;
    if ((q.mask >> b & 1) && byte >= addr && byte - addr < size) {
      if (word & kCallSiteBit) stack->push_back(call_site);
      stack->push_back(pc);
      out->addr = addr;
      out->size = size;
      out->is_write = is_write;
      out->is_atomic = is_atomic;
      return Replay::kFound;
    }
  }
  return Replay::kNotHere;
}

// The byte-access event at words[*i] (header, pc unless the same as the
// previous access event's), advancing *i to its last word. The header may
// still be OR-ed into by its goroutine (mask bits only): read atomically.
Replay MatchByteAccessEvent(const u64* words, u32 used, u32* i, const RestoreQuery& q, bool in_query_epoch,
                            uptr* last_pc, InternalVector<uptr>* stack, RestoredAccess* out) {
  u64 header = RelaxedLoad(words[*i]);
  if (!ReadEventPc(words, used, i, header, last_pc)) return Replay::kUnreadable;
  uptr pc = *last_pc;
  bool is_write = (header & kWriteBit) != 0;
  // Byte events are plain accesses only.
  if (!in_query_epoch || is_write != q.is_write || q.is_atomic) return Replay::kNotHere;
  if (static_cast<uptr>(header >> kByteEventWordShift) << 3 != q.word_addr) return Replay::kNotHere;
  u8 bytes = static_cast<u8>(header >> kByteEventMaskShift) & q.mask;
  if (bytes == 0) return Replay::kNotHere;
  stack->push_back(pc);
  out->addr = q.word_addr + static_cast<unsigned>(__builtin_ctz(bytes));
  out->size = 1;
  out->is_write = is_write;
  out->is_atomic = false;
  return Replay::kFound;
}

// Replays one chunk from its stack snapshot, looking for `q`'s access; on
// kFound, out->stack is that access's stack.
Replay ReplayChunk(const HistoryChunk& chunk, const RestoreQuery& q, RestoredAccess* out) {
  InternalVector<uptr>& stack = out->stack;
  stack.clear();
  for (uptr i = 0; i < chunk.start_depth; i++) stack.push_back(chunk.start_stack[i]);
  Sid cur_sid = chunk.start_sid;
  Epoch cur_epoch = chunk.start_epoch;
  uptr last_pc = 0;  // as History::StartChunk sets last_access_pc_
  u32 used = chunk.used.load(std::memory_order_acquire);
  if (used > chunk.capacity) used = chunk.capacity;
  for (u32 i = 0; i < used; i++) {
    u64 word = chunk.words[i];
    bool in_query_epoch = cur_sid == q.sid && cur_epoch == q.epoch;
    Replay found = Replay::kNotHere;
    switch (word & kTypeMask) {
      case kPush:
        stack.push_back(static_cast<uptr>(word >> 3));
        break;
      case kPopTo:
        if (static_cast<uptr>(word >> 3) < stack.size()) stack.resize(static_cast<uptr>(word >> 3));
        break;
      case kEpoch:
        cur_sid = static_cast<Sid>(word >> 8);
        cur_epoch = static_cast<Epoch>(word >> 32);
        break;
      case kAccess:
        found = MatchAccessEvent(chunk.words, used, &i, q, in_query_epoch, &last_pc, &stack, out);
        break;
      case kByteAccessEvent:
        found = MatchByteAccessEvent(chunk.words, used, &i, q, in_query_epoch, &last_pc, &stack, out);
        break;
      default:
        return Replay::kUnreadable;  // corrupt or torn: give up rather than invent a stack
    }
    if (found != Replay::kNotHere) return found;
  }
  return Replay::kNotHere;
}

}  // namespace

bool History::Restore(Sid sid, Epoch epoch, uptr word_addr, u8 mask, bool is_write, bool is_atomic,
                      RestoredAccess* out) const {
  SpinMutexLock lock(&chain_mutex_);
  RestoreQuery query{sid, epoch, word_addr, mask, is_write, is_atomic};
  for (const HistoryChunk* chunk = oldest_; chunk; chunk = chunk->next) {
    Replay replay = ReplayChunk(*chunk, query, out);
    if (replay != Replay::kNotHere) return replay == Replay::kFound;
  }
  return false;
}

void History::Clear() {
  SpinMutexLock lock(&chain_mutex_);
  HistoryChunk* chunk = oldest_;
  while (chunk) {
    HistoryChunk* next = chunk->next;
    FreeSnapshot(chunk);
    global_history_bytes.fetch_sub(ChunkBytes(chunk->capacity), std::memory_order_relaxed);
    InternalFree(chunk, ChunkBytes(chunk->capacity));
    chunk = next;
  }
  oldest_ = newest_ = nullptr;
  pos_ = end_ = nullptr;
  newest_used_ = nullptr;
  newest_words_ = nullptr;
  extendable_byte_event_ = nullptr;
  total_words_ = 0;
  memory_bytes_ = 0;
  traced_stack_.Reset();
}

void History::TakeEventsOf(History* other) {
  RACERT_DCHECK(oldest_ == nullptr);
  oldest_ = other->oldest_;
  newest_ = other->newest_;
  total_words_ = other->total_words_;
  memory_bytes_ = other->memory_bytes_;
  current_sid_ = other->current_sid_;
  current_epoch_ = other->current_epoch_;
  last_access_epoch_ = other->last_access_epoch_;
  // Closed for appends: the newest chunk reads as full.
  pos_ = end_ = nullptr;
  newest_used_ = nullptr;
  newest_words_ = nullptr;
  extendable_byte_event_ = nullptr;
  other->oldest_ = other->newest_ = nullptr;
  other->pos_ = other->end_ = nullptr;
  other->newest_used_ = nullptr;
  other->newest_words_ = nullptr;
  other->extendable_byte_event_ = nullptr;
  other->total_words_ = 0;
  other->memory_bytes_ = 0;
  other->traced_stack_.Reset();
}

uptr History::MemoryBytes() const {
  SpinMutexLock lock(&chain_mutex_);
#if defined(RACERT_DEBUG)
  uptr bytes = 0;
  for (const HistoryChunk* chunk = oldest_; chunk; chunk = chunk->next) {
    bytes += ChunkBytes(chunk->capacity) + chunk->start_depth * sizeof(uptr);
  }
  RACERT_CHECK(bytes == memory_bytes_);
#endif
  return memory_bytes_;
}

}  // namespace racert
