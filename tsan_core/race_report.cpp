// From a detected race to a printed report: identify the earlier access's
// goroutine (slot journal), restore its stack (history), symbolize,
// deduplicate, render, count. Runs synchronously in the racing access, so
// Go's testing package sees the count go up before the access returns.
#include "tsan_core/race_report.h"

#include <atomic>

#include "base/check.h"
#include "base/fatal.h"
#include "base/format.h"
#include "base/hash.h"
#include "base/internal_alloc.h"
#include "base/spin_mutex.h"
#include "base/stack_store.h"
#include "base/suppressions.h"
#include "base/syscalls.h"
#include "tsan_core/goroutine_registry.h"
#include "tsan_core/report_model.h"
#include "tsan_core/report_output.h"
#include "tsan_core/runtime_options.h"
#include "tsan_core/slot_pool.h"

namespace racert {
namespace {

constexpr uptr kMaxPrintedFrames = 4096;
constexpr uptr kMaxInlineFrames = 64;

// Global state holds no objects with destructors: the object runs no static
// constructors or destructors (Go's internal linker drops them).
struct ReportState {
  SpinMutex mutex;          // one report at a time, never interleaved
  std::atomic<u64> count;   // reports printed
  u64* seen_ids;            // stack-pair hashes already reported (suppress_equal_stacks)
  uptr seen_count;
  uptr seen_capacity;
  SuppressionList* suppressions;  // GORACE suppressions; null: none
  bool history_note_printed;      // NoteLostHistoryOnce
  bool untrusted_note_printed;    // DropUntrusted
  std::atomic<u64> untrusted_dropped;  // races DropUntrusted did not report
};
constinit ReportState state{};

// Report lock held.
bool SeenBefore(u64 id) {
  RACERT_DCHECK(state.mutex.IsLocked());
  for (uptr i = 0; i < state.seen_count; i++) {
    if (state.seen_ids[i] == id) return true;
  }
  if (state.seen_count == state.seen_capacity) {
    uptr capacity = state.seen_capacity ? state.seen_capacity * 2 : 64;
    u64* grown = static_cast<u64*>(InternalAlloc(capacity * sizeof(u64)));
    for (uptr i = 0; i < state.seen_count; i++) grown[i] = state.seen_ids[i];
    if (state.seen_ids) InternalFree(state.seen_ids, state.seen_capacity * sizeof(u64));
    state.seen_ids = grown;
    state.seen_capacity = capacity;
  }
  state.seen_ids[state.seen_count++] = id;
  return false;
}

u64 HashString(const char* s, u64 seed) {
  uptr n = 0;
  while (s && s[n]) n++;
  return HashBytes(s ? s : "", n, seed);
}

// Identifies a stack by its source locations (not pcs), so the id survives
// rebuilds that move code around.
u64 HashFrames(const InternalVector<CodeFrame>& frames) {
  u64 h = 0x51a7;
  for (uptr i = 0; i < frames.size(); i++) {
    h = HashString(frames[i].function, h);
    h = HashString(frames[i].file, h);
    h = MixHash64(h ^ frames[i].line);
  }
  return h;
}

u64 HashPcs(const InternalVector<uptr>& pcs) { return HashBytes(pcs.data(), pcs.size() * sizeof(uptr), 0x9c5); }

void SymbolizeCreation(u32 stack_id, ReportedGoroutine* g) {
  if (stack_id == 0) return;
  StackView creation = StackStoreGet(stack_id);
  SymbolizeStack(creation.pcs, creation.count, &g->created_at);
}

struct RestoreRequest {
  const DetectedRace* race;
  ReportedAccess* access;
};

// The one byte both stacks are restored for: a conflicting byte of the kind
// the earlier access is reported as. A cell can merge several accesses of one
// epoch; restoring each side for the first of its own events touching any
// conflicting byte could pair two accesses that share no byte.
u8 RestoredByte(const DetectedRace& race) {
  u8 mask = race.previous_is_write ? (race.previous.write_mask() & race.conflict_mask) : race.conflict_mask;
  if (mask == 0) mask = race.conflict_mask;
  return static_cast<u8>(mask & (~mask + 1));
}

void RestorePrevious(const GoroutineLookup& found, void* arg) {
  RestoreRequest* request = static_cast<RestoreRequest*>(arg);
  const DetectedRace& race = *request->race;
  ReportedAccess* access = request->access;
  access->goroutine.finished = found.finished;
  RestoredAccess restored;
  if (found.history->Restore(race.previous.sid(), race.previous.epoch(), race.word_addr, RestoredByte(race),
                             race.previous_is_write, race.previous.is_atomic(), &restored)) {
    access->stack_known = true;
    access->pcs.Swap(restored.stack);
    access->addr = restored.addr;
    access->size = restored.size;
  }
}

void DescribePrevious(const DetectedRace& race, ReportedAccess* access) {
  access->is_write = race.previous_is_write;
  access->is_atomic = race.previous.is_atomic();
  access->addr = race.word_addr;
  access->size = 8;
  // Finished unless found among the live goroutines below.
  access->goroutine.finished = true;
  SlotOwnerRecord owner;
  if (FindSlotOwner(race.previous.sid(), race.previous.epoch(), race.previous.generation(), &owner)) {
    access->goroutine.known = true;
    access->goroutine.number = owner.goroutine_number;
    RestoreRequest request{&race, access};
    WithGoroutine(owner.goroutine_number, RestorePrevious, &request);
    SymbolizeCreation(owner.creation_stack, &access->goroutine);
  }
  if (access->stack_known) {
    SymbolizeStack(access->pcs.data(), access->pcs.size(), &access->frames);
    access->shown_addr = access->addr > race.word_addr ? access->addr : race.word_addr;
  } else {
    // Not restored: the first byte the earlier access touched, per its cell.
    u8 mask = race.previous_is_write ? race.previous.write_mask() : race.previous.read_mask();
    access->shown_addr = race.word_addr + (mask ? __builtin_ctz(mask) : 0);
  }
}

void DescribeCurrent(GoroutineState* g, const DetectedRace& race, ReportedAccess* access) {
  access->goroutine.known = true;
  access->goroutine.number = g->number;
  access->goroutine.finished = false;
  SymbolizeCreation(g->creation_stack, &access->goroutine);
  access->stack_known = true;
  access->addr = race.addr;
  access->size = race.size;
  RestoredAccess restored;
  Cell made_as(race.current_restored_key);
  if (race.current_restored_key != 0 &&
      g->history.Restore(made_as.sid(), made_as.epoch(), race.word_addr, RestoredByte(race), race.is_write,
                         race.is_atomic, &restored)) {
    access->pcs.Swap(restored.stack);
    access->addr = restored.addr;
    access->size = restored.size;
  } else {
    for (uptr i = 0; i < g->call_stack.size(); i++) access->pcs.push_back(g->call_stack[i]);
    access->pcs.push_back(race.pc);
  }
  SymbolizeStack(access->pcs.data(), access->pcs.size(), &access->frames);
  access->is_write = race.is_write;
  access->is_atomic = race.is_atomic;
  access->shown_addr = access->addr > race.word_addr ? access->addr : race.word_addr;
}

// GORACE suppressions, as the official runtime applies them: the stacks of
// the two accesses (not the creation stacks), current access first; in each,
// every frame from the innermost out against the race entries (function
// name, then file name), then the top frame against the race_top entries.
// The first entry found in that order suppresses the race.
Suppression* MatchingSuppression(const RaceReportModel& report) {
  SuppressionList* list = state.suppressions;
  if (list == nullptr) return nullptr;
  const ReportedAccess* accesses[2] = {&report.current, &report.previous};
  for (const ReportedAccess* access : accesses) {
    if (!access->stack_known || access->frames.empty()) continue;
    for (uptr i = 0; i < access->frames.size(); i++) {
      const CodeFrame& frame = access->frames[i];
      if (Suppression* s = list->Find(SuppressionType::kRace, frame.function)) return s;
      if (Suppression* s = list->Find(SuppressionType::kRace, frame.file)) return s;
    }
    const CodeFrame& top = access->frames[0];
    if (Suppression* s = list->Find(SuppressionType::kRaceTop, top.function)) return s;
    if (Suppression* s = list->Find(SuppressionType::kRaceTop, top.file)) return s;
  }
  return nullptr;
}

struct GoroutineFacts {
  bool found;
  bool finished;
  u64 parent_number;
  u32 creation_stack;
};

void ReadFacts(const GoroutineLookup& found, void* arg) {
  GoroutineFacts* facts = static_cast<GoroutineFacts*>(arg);
  facts->found = true;
  facts->finished = found.finished;
  facts->parent_number = found.parent_number;
  facts->creation_stack = found.creation_stack;
}

GoroutineFacts FactsOf(u64 number) {
  GoroutineFacts facts{};
  WithGoroutine(number, ReadFacts, &facts);
  return facts;
}

// GORACE print_full_thread_history: the starters of the racing goroutines,
// breadth first (each listed goroutine's starter in list order), each once,
// the main goroutine excluded. A starter the registry no longer knows ends
// its branch.
void CollectAncestors(RaceReportModel* report) {
  u64 listed[2 + kMaxReportedAncestors];
  uptr listed_count = 0;
  listed[listed_count++] = report->current.goroutine.number;
  const ReportedGoroutine& previous = report->previous.goroutine;
  if (previous.known && previous.number != report->current.goroutine.number) {
    listed[listed_count++] = previous.number;
  }
  for (uptr next = 0; next < listed_count && report->ancestor_count < kMaxReportedAncestors; next++) {
    u64 parent = FactsOf(listed[next]).parent_number;
    if (parent <= 1) continue;  // the main goroutine (or none) has no creation block
    bool seen = false;
    for (uptr k = 0; k < listed_count; k++) seen |= listed[k] == parent;
    if (seen) continue;
    GoroutineFacts facts = FactsOf(parent);
    if (!facts.found) continue;
    ReportedGoroutine& ancestor = report->ancestors[report->ancestor_count++];
    ancestor.known = true;
    ancestor.number = parent;
    ancestor.finished = facts.finished;
    SymbolizeCreation(facts.creation_stack, &ancestor);
    listed[listed_count++] = parent;
  }
}

// The address both lines print: the first conflicting byte, as Go users know
// it (for a scalar access, its exact address).
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

void SymbolizeStack(const uptr* pcs, uptr count, InternalVector<CodeFrame>* frames) {
  for (uptr i = count; i > 0 && frames->size() < kMaxPrintedFrames; i--) {
    CodeFrame expanded[kMaxInlineFrames];
    uptr n = SymbolizeCode(pcs[i - 1], expanded, kMaxInlineFrames);
    for (uptr k = 0; k < n; k++) frames->push_back(expanded[k]);
  }
  if (frames->size() >= 2) frames->pop_back();
}

const char* DisplayFileName(const char* file) {
  if (!file) return "-";
  const char* prefix = g_options.strip_path_prefix;
  if (!prefix || !*prefix) {
    // The official runtime drops a leading "./" even without a prefix to strip
    // (-trimpath builds name the main package's files "./main.go").
    return file[0] == '.' && file[1] == '/' ? file + 2 : file;
  }
  // The first occurrence anywhere in the path, as the official runtime does.
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

namespace {

// The first report whose earlier stack could not be restored says once why
// and what to do: the history racert keeps is a documented window, and
// reaching it is the one way a report loses detail. Report lock held.
void NoteLostHistoryOnce(TextBuffer* text) {
  RACERT_DCHECK(state.mutex.IsLocked());
  if (state.history_note_printed) return;
  state.history_note_printed = true;
  s64 n = g_options.history_size;
  text->AppendF(
      "racert: note: the earlier access is older than the history kept (GORACE history_size=%lld: %llu MiB per "
      "goroutine, %llu MiB for all goroutines; finished goroutines: the last %u within %llu MiB, up to %u "
      "within %llu MiB); a larger history_size (at most %lld) keeps more\n",
      static_cast<long long>(n), static_cast<unsigned long long>((kHistoryWindowUnit << n) >> 20),
      static_cast<unsigned long long>((kHistoryBudgetUnit << n) >> 20), kRetainedRecent,
      static_cast<unsigned long long>(kRetainedRecentBudget >> 20), kRetainedFinished,
      static_cast<unsigned long long>(kRetainedBudget >> 20), static_cast<long long>(kMaxHistorySize));
}

// A race found in a generation that became current again while goroutines
// still carried it (GenerationIsTrusted) may be false: it is not reported.
// The first one says once why.
void DropUntrusted() {
  state.untrusted_dropped.fetch_add(1, std::memory_order_relaxed);
  SpinMutexLock lock(&state.mutex);
  if (state.untrusted_note_printed) return;
  state.untrusted_note_printed = true;
  constexpr char kNote[] =
      "racert: note: a conflict was not reported: goroutines that have not synchronized across many epoch "
      "resets held every reset generation, so one was reused while still held, and conflicts in it may be "
      "false; they are not reported until no goroutine holds it any more\n";
  WriteReportText(kNote, sizeof(kNote) - 1);
}

}  // namespace

ReportOutcome ReportRace(GoroutineState* g, const DetectedRace& race) {
  if (!g_options.report_bugs) return ReportOutcome::kSuppressed;
  // The access and the cell are of one generation (a cell of another is
  // dead to the access).
  if (RACERT_UNLIKELY(!GenerationIsTrusted(race.previous.generation()))) {
    DropUntrusted();
    return ReportOutcome::kSuppressed;
  }
  RaceReportModel report{};
  report.addr = ReportedAddress(race);
  DescribeCurrent(g, race, &report.current);
  DescribePrevious(race, &report.previous);
  u64 current_id = HashFrames(report.current.frames);
  u64 previous_id = report.previous.stack_known ? HashFrames(report.previous.frames)
                                                 : MixHash64(report.previous.goroutine.number + 0x9e37);
  // Order-independent: the same two stacks in either role are the same race.
  report.stable_id = MixHash64(current_id ^ previous_id) ^ (current_id + previous_id);
  // Duplicates are judged on raw pcs, as the official runtime does: two
  // variables assigned on one source line are two races (different
  // instructions), and each is the first race on its own word.
  u64 current_pcs = HashPcs(report.current.pcs);
  u64 previous_pcs = report.previous.stack_known ? HashPcs(report.previous.pcs)
                                                 : MixHash64(report.previous.goroutine.number + 0x9e37);
  u64 pair = MixHash64(current_pcs ^ previous_pcs) ^ (current_pcs + previous_pcs);

  SpinMutexLock lock(&state.mutex);
  if (g_options.suppress_equal_stacks && SeenBefore(pair)) return ReportOutcome::kDuplicate;
  if (Suppression* suppression = MatchingSuppression(report)) {
    // Suppressed: printed nowhere and counted nowhere (not in the report
    // count Go's testing package reads, not in the exit status).
    suppression->hits++;
    return ReportOutcome::kSuppressed;
  }
  if (g_options.print_full_thread_history) CollectAncestors(&report);
  report.sequence = state.count.load(std::memory_order_relaxed) + 1;
  TextBuffer text;
  RenderReportText(report, &text);
  if (!report.previous.stack_known) NoteLostHistoryOnce(&text);
  WriteReportText(text.data(), text.length());
  if (JsonFd() >= 0) {
    TextBuffer json;
    RenderReportJson(report, &json);
    WriteJsonLine(json.data(), json.length());
  }
  state.count.fetch_add(1, std::memory_order_release);
  if (g_options.halt_on_error) ExitForError(static_cast<int>(g_options.exitcode));
  return ReportOutcome::kPrinted;
}

u64 ReportCount() { return state.count.load(std::memory_order_acquire); }

u64 UntrustedRacesDroppedForTesting() { return state.untrusted_dropped.load(std::memory_order_relaxed); }

u64 PrintRaceSummary() {
  SpinMutexLock lock(&state.mutex);
  u64 races = state.count.load(std::memory_order_relaxed);
  if (races > 0) {
    char line[64];
    uptr n = Format(line, sizeof(line), "Found %llu data race(s)\n", static_cast<unsigned long long>(races));
    WriteReportText(line, n);
  }
  return races;
}

void SetRaceSuppressions(SuppressionList* list) {
  SpinMutexLock lock(&state.mutex);
  state.suppressions = list;
}

void PrintMatchedSuppressions() {
  SpinMutexLock lock(&state.mutex);
  SuppressionList* list = state.suppressions;
  if (list == nullptr) return;
  u64 total = 0;
  for (uptr i = 0; i < list->size(); i++) total += (*list)[i].hits;
  if (total == 0) return;
  TextBuffer text;
  text.AppendF("racert: Matched %llu suppressions (pid=%d):\n", static_cast<unsigned long long>(total),
               static_cast<int>(SysGetpid()));
  for (uptr i = 0; i < list->size(); i++) {
    const Suppression& s = (*list)[i];
    if (s.hits == 0) continue;
    text.AppendF("%llu %s:%s\n", static_cast<unsigned long long>(s.hits), SuppressionTypeName(s.type), s.pattern);
  }
  WriteReportText(text.data(), text.length());
}

}  // namespace racert
