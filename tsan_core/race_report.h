// Turning a detected race into a report: restoring both stacks, symbolizing,
// deduplicating, printing in Go's format, counting.
#pragma once

#include "base/types.h"
#include "shadow/shadow_cell.h"
#include "tsan_core/goroutine.h"

namespace racert {
class SuppressionList;
}

namespace racert {

// What the race check found.
struct DetectedRace {
  uptr word_addr;        // the 8-byte word both accesses touched
  u8 conflict_mask;      // bytes of the word that conflict
  // The current access.
  uptr addr;
  uptr size;
  bool is_write;
  bool is_atomic;
  uptr pc;
  // The earlier access, as recorded in the shadow.
  Cell previous;
  bool previous_is_write;
  // 0: the current access is happening now (its stack is the goroutine's
  // call stack and pc). Otherwise the goroutine made it earlier under this
  // cell key, and its stack is restored from the goroutine's history
  // (accumulated bytes checked when published: tsan_core/byte_accumulator.h).
  u64 current_restored_key = 0;
};

// What became of a detected race.
enum class ReportOutcome {
  kPrinted,     // printed and counted
  kDuplicate,   // the same pair of stacks was reported before (suppress_equal_stacks)
  kSuppressed,  // matched a GORACE suppression, reports are off (report_bugs=0), or the
                // race may be false (an untrusted generation: tsan_core/slot_pool.h)
};

// Reports the race (unless it duplicates an earlier report or is suppressed)
// synchronously: when this returns kPrinted the report is printed and counted.
ReportOutcome ReportRace(GoroutineState* g, const DetectedRace& race);

// Number of reports printed so far (Go's testing package polls it).
u64 ReportCount();
// For tests: races not reported because their generation was not trusted
// (GenerationIsTrusted in tsan_core/slot_pool.h).
u64 UntrustedRacesDroppedForTesting();
// At exit: under the report lock (so a report being written by another
// goroutine is finished and counted first), prints "Found N data race(s)"
// when N > 0, and returns N.
u64 PrintRaceSummary();

// GORACE suppressions: races matching a race or race_top entry of `list`
// (see MatchingSuppression in race_report.cpp) are counted on that entry and
// otherwise dropped. The list must outlive the runtime; null removes it.
void SetRaceSuppressions(SuppressionList* list);

// GORACE print_suppressions: "racert: Matched N suppressions (pid=P):" and
// one "<hits> <type>:<pattern>" line per entry that matched, in file order,
// to the report destination; nothing if no entry matched.
void PrintMatchedSuppressions();

}  // namespace racert
