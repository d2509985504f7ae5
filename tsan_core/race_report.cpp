#include "tsan_core/race_report.h"

#include <atomic>

#include "base/format.h"
#include "base/hash.h"
#include "base/internal_alloc.h"
#include "base/internal_vector.h"
#include "base/spin_mutex.h"
#include "base/stack_store.h"
#include "base/syscalls.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"
#include "tsan_core/symbolizer.h"

namespace racert {
namespace {

constexpr uptr kMaxPrintedFrames = 4096;
constexpr uptr kMaxInlineFrames = 64;

// Global state holds no objects with destructors: the object runs no static
// constructors or destructors (Go's internal linker drops them).
struct ReportState {
  SpinMutex mutex;          // one report at a time, never interleaved
  std::atomic<u64> count;   // reports printed
  u64* seen_pairs;          // hashes of reported stack pairs (suppress_equal_stacks)
  uptr seen_count;
  uptr seen_capacity;
};
constinit ReportState state{};

// Everything known about one side of the race.
struct AccessSide {
  bool known_goroutine;
  u64 goroutine_number;
  u32 creation_stack;
  bool finished;
  bool has_stack;
  InternalVector<uptr> stack;  // outermost first, access pc last
  bool is_write;
  bool is_atomic;
};

u64 HashStack(const InternalVector<uptr>& stack) { return HashBytes(stack.data(), stack.size() * sizeof(uptr), 0x5eed); }

// Report lock held.
bool SeenBefore(u64 pair_hash) {
  for (uptr i = 0; i < state.seen_count; i++) {
    if (state.seen_pairs[i] == pair_hash) return true;
  }
  if (state.seen_count == state.seen_capacity) {
    uptr capacity = state.seen_capacity ? state.seen_capacity * 2 : 64;
    u64* grown = static_cast<u64*>(InternalAlloc(capacity * sizeof(u64)));
    for (uptr i = 0; i < state.seen_count; i++) grown[i] = state.seen_pairs[i];
    if (state.seen_pairs) InternalFree(state.seen_pairs, state.seen_capacity * sizeof(u64));
    state.seen_pairs = grown;
    state.seen_capacity = capacity;
  }
  state.seen_pairs[state.seen_count++] = pair_hash;
  return false;
}

const char* StripPrefix(const char* file) {
  const char* prefix = g_options.strip_path_prefix;
  if (!prefix || !*prefix || !file) return file;
  // Substring match, as Go users know it from the official runtime.
  uptr plen = 0;
  while (prefix[plen]) plen++;
  for (const char* p = file; *p; p++) {
    uptr i = 0;
    while (i < plen && p[i] == prefix[i]) i++;
    if (i == plen) {
      const char* rest = p + plen;
      if (rest[0] == '.' && rest[1] == '/') rest += 2;
      return rest;
    }
  }
  return file;
}

// Appends the frames of `stack` (outermost first), innermost first, dropping
// the outermost symbolized frame when there are at least two: in Go it is
// always runtime glue (goexit, runtime.main).
void AppendStack(TextBuffer* out, const uptr* pcs, uptr count) {
  InternalVector<CodeFrame> frames;
  for (uptr i = count; i > 0 && frames.size() < kMaxPrintedFrames; i--) {
    CodeFrame expanded[kMaxInlineFrames];
    uptr n = SymbolizeCode(pcs[i - 1], expanded, kMaxInlineFrames);
    for (uptr k = 0; k < n; k++) frames.push_back(expanded[k]);
  }
  uptr printed = frames.size() >= 2 ? frames.size() - 1 : frames.size();
  if (printed == 0) {
    out->Append("  [failed to restore the stack]\n");
    return;
  }
  for (uptr k = 0; k < printed; k++) {
    const CodeFrame& f = frames[k];
    out->AppendF("  %s()\n      %s:%zu +0x%zx\n", f.function ? f.function : "??", StripPrefix(f.file ? f.file : "-"),
                 f.line, f.offset);
  }
}

void AppendWho(TextBuffer* out, const AccessSide& side) {
  if (!side.known_goroutine) {
    out->Append("unknown goroutine");
  } else if (side.goroutine_number == 1) {
    out->Append("main goroutine");
  } else {
    out->AppendF("goroutine %llu", static_cast<unsigned long long>(side.goroutine_number));
  }
}

void AppendAccess(TextBuffer* out, const char* kind_prefix, const AccessSide& side, uptr addr) {
  const char* kind = side.is_write ? (kind_prefix[0] ? "write" : "Write") : (kind_prefix[0] ? "read" : "Read");
  out->AppendF("\n%s%s at 0x%012zx by ", kind_prefix, kind, addr);
  AppendWho(out, side);
  out->Append(":\n");
  if (side.has_stack) {
    AppendStack(out, side.stack.data(), side.stack.size());
  } else {
    out->Append("  [failed to restore the stack]\n");
  }
}

void AppendCreation(TextBuffer* out, const AccessSide& side) {
  if (!side.known_goroutine || side.goroutine_number <= 1) return;
  out->AppendF("\nGoroutine %llu (%s) created at:\n", static_cast<unsigned long long>(side.goroutine_number),
               side.finished ? "finished" : "running");
  StackView creation = StackStoreGet(side.creation_stack);
  if (side.creation_stack == 0 || creation.count == 0) {
    out->Append("  [failed to restore the stack]\n");
    return;
  }
  AppendStack(out, creation.pcs, creation.count);
}

struct RestoreRequest {
  const DetectedRace* race;
  AccessSide* side;
};

void RestorePrevious(const GoroutineLookup& found, void* arg) {
  RestoreRequest* request = static_cast<RestoreRequest*>(arg);
  const DetectedRace& race = *request->race;
  AccessSide* side = request->side;
  side->finished = found.finished;
  RestoredAccess restored;
  u8 mask = race.previous_is_write ? (race.previous.write_mask() & race.conflict_mask) : race.conflict_mask;
  if (found.state->history.Restore(race.previous.sid(), race.previous.epoch(), race.word_addr, mask,
                                    race.previous_is_write, &restored)) {
    side->has_stack = true;
    side->stack.Swap(restored.stack);
  }
}

void DescribePrevious(const DetectedRace& race, AccessSide* side) {
  side->is_write = race.previous_is_write;
  side->is_atomic = race.previous.is_atomic();
  side->finished = true;  // unless found among the live goroutines
  SlotOwnerRecord owner;
  if (!FindSlotOwner(race.previous.sid(), race.previous.epoch(), &owner)) return;
  side->known_goroutine = true;
  side->goroutine_number = owner.goroutine_number;
  side->creation_stack = owner.creation_stack;
  RestoreRequest request{&race, side};
  WithGoroutine(owner.goroutine_number, RestorePrevious, &request);
}

void DescribeCurrent(GoroutineState* g, const DetectedRace& race, AccessSide* side) {
  side->known_goroutine = true;
  side->goroutine_number = g->number;
  side->creation_stack = g->creation_stack;
  side->finished = false;
  side->has_stack = true;
  for (uptr i = 0; i < g->call_stack.size(); i++) side->stack.push_back(g->call_stack[i]);
  side->stack.push_back(race.pc);
  side->is_write = race.is_write;
  side->is_atomic = race.is_atomic;
}

// The address Go users expect: the first conflicting byte.
uptr ReportedAddress(const DetectedRace& race) {
  for (unsigned b = 0; b < 8; b++) {
    if (race.conflict_mask >> b & 1) {
      uptr byte = race.word_addr + b;
      return byte < race.addr ? race.addr : byte;
    }
  }
  return race.addr;
}

}  // namespace

void ReportRace(GoroutineState* g, const DetectedRace& race) {
  AccessSide current{};
  AccessSide previous{};
  DescribeCurrent(g, race, &current);
  DescribePrevious(race, &previous);

  SpinMutexLock lock(&state.mutex);
  if (g_options.suppress_equal_stacks) {
    u64 a = HashStack(current.stack);
    u64 b = previous.has_stack ? HashStack(previous.stack) : MixHash64(previous.goroutine_number);
    // Order-independent: the same two stacks in either role are one race.
    if (SeenBefore(MixHash64(a ^ b) + (a + b))) return;
  }
  uptr addr = ReportedAddress(race);
  TextBuffer out;
  out.Append("==================\nWARNING: DATA RACE");
  AppendAccess(&out, "", current, addr);
  AppendAccess(&out, "Previous ", previous, addr);
  AppendCreation(&out, current);
  if (!previous.known_goroutine || previous.goroutine_number != current.goroutine_number) AppendCreation(&out, previous);
  out.Append("==================\n");
  WriteReportText(out.data(), out.length());
  state.count.fetch_add(1, std::memory_order_release);
  if (g_options.halt_on_error) SysExitGroup(static_cast<int>(g_options.exitcode));
}

u64 ReportCount() { return state.count.load(std::memory_order_acquire); }

}  // namespace racert
