// A race report as data: everything known about both accesses, symbolized
// once, then rendered as Go's text format (report_text.cpp) and optionally
// as a JSON line (report_json.cpp).
#pragma once

#include "base/format.h"
#include "base/internal_vector.h"
#include "base/types.h"
#include "tsan_core/symbolizer.h"

namespace racert {

struct ReportedGoroutine {
  bool known;           // false: the slot journal no longer knows who it was
  u64 number;           // report number; 1 is the main goroutine
  bool finished;
  InternalVector<CodeFrame> created_at;  // innermost first; empty if unknown
};

struct ReportedAccess {
  ReportedGoroutine goroutine;
  bool is_write;
  bool is_atomic;
  uptr addr;            // start of the access (or of the cell, when not restored)
  uptr size;
  // The address its report line prints: where the access starts within the
  // racing 8-byte word, as the official runtime prints it.
  uptr shown_addr;
  bool stack_known;
  InternalVector<uptr> pcs;              // raw, outermost first, access pc last
  InternalVector<CodeFrame> frames;      // innermost first, as printed
};

// GORACE print_full_thread_history: at most this many ancestors are shown.
constexpr uptr kMaxReportedAncestors = 64;

struct RaceReportModel {
  u64 sequence;         // 1 for the first report of the run
  uptr addr;            // the first conflicting byte
  ReportedAccess current;
  ReportedAccess previous;
  u64 stable_id;        // same race (same source locations) -> same id, across runs
  // GORACE print_full_thread_history: the goroutines that started the two
  // racing goroutines, their starters and so on up to (not including) the
  // main goroutine, nearest first, each once.
  uptr ancestor_count;
  ReportedGoroutine ancestors[kMaxReportedAncestors];
};

// Symbolizes pcs (outermost first) into frames innermost first, dropping the
// outermost frame when there are at least two (in Go it is runtime glue).
void SymbolizeStack(const uptr* pcs, uptr count, InternalVector<CodeFrame>* frames);

// File name as printed: GORACE strip_path_prefix applied.
const char* DisplayFileName(const char* file);

void RenderReportText(const RaceReportModel& report, TextBuffer* out);
void RenderReportJson(const RaceReportModel& report, TextBuffer* out);

}  // namespace racert
