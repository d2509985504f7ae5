// Go's race report format, byte for byte (docs/go-race-abi-notes.md §13.1).
#include "tsan_core/report_model.h"

namespace racert {
namespace {

void AppendFrames(TextBuffer* out, const InternalVector<CodeFrame>& frames) {
  if (frames.empty()) {
    out->Append("  [failed to restore the stack]\n");
    return;
  }
  for (uptr i = 0; i < frames.size(); i++) {
    const CodeFrame& f = frames[i];
    out->AppendF("  %s()\n      %s:%zu +0x%zx\n", f.function ? f.function : "??", DisplayFileName(f.file), f.line,
                 f.offset);
  }
}

void AppendWho(TextBuffer* out, const ReportedGoroutine& g) {
  if (!g.known) {
    out->Append("unknown goroutine");
  } else if (g.number == 1) {
    out->Append("main goroutine");
  } else {
    out->AppendF("goroutine %llu", static_cast<unsigned long long>(g.number));
  }
}

void AppendAccess(TextBuffer* out, bool previous, const ReportedAccess& access) {
  const char* kind = previous ? (access.is_write ? "Previous write" : "Previous read")
                              : (access.is_write ? "Write" : "Read");
  out->AppendF("\n%s at 0x%012zx by ", kind, access.shown_addr);
  AppendWho(out, access.goroutine);
  out->Append(":\n");
  AppendFrames(out, access.frames);
}

void AppendCreation(TextBuffer* out, const ReportedGoroutine& g) {
  // The main goroutine (and the init context) have no creation block.
  if (!g.known || g.number <= 1) return;
  out->AppendF("\nGoroutine %llu (%s) created at:\n", static_cast<unsigned long long>(g.number),
               g.finished ? "finished" : "running");
  AppendFrames(out, g.created_at);
}

}  // namespace

void RenderReportText(const RaceReportModel& report, TextBuffer* out) {
  // "WARNING: DATA RACE" has no newline of its own: each block starts with one.
  out->Append("==================\nWARNING: DATA RACE");
  AppendAccess(out, false, report.current);
  AppendAccess(out, true, report.previous);
  AppendCreation(out, report.current.goroutine);
  const ReportedGoroutine& prev = report.previous.goroutine;
  if (!prev.known || prev.number != report.current.goroutine.number) AppendCreation(out, prev);
  for (uptr i = 0; i < report.ancestor_count; i++) AppendCreation(out, report.ancestors[i]);
  out->Append("==================\n");
}

}  // namespace racert
