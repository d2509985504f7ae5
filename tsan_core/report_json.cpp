// One JSON object per report (GORACE json_path): a clean channel for CI and
// tools, separate from the text that interleaves with program output.
// The schema is documented in README.md ("Machine-readable reports").
#include "tsan_core/report_model.h"

namespace racert {
namespace {

void AppendJsonString(TextBuffer* out, const char* s) {
  out->AppendChar('"');
  for (const char* p = s ? s : ""; *p; p++) {
    unsigned char c = static_cast<unsigned char>(*p);
    switch (c) {
      case '"': out->Append("\\\""); break;
      case '\\': out->Append("\\\\"); break;
      case '\n': out->Append("\\n"); break;
      case '\r': out->Append("\\r"); break;
      case '\t': out->Append("\\t"); break;
      default:
        if (c < 0x20) out->AppendF("\\u%04x", c); else out->AppendChar(static_cast<char>(c));
    }
  }
  out->AppendChar('"');
}

void AppendFrames(TextBuffer* out, const InternalVector<CodeFrame>& frames) {
  out->AppendChar('[');
  for (uptr i = 0; i < frames.size(); i++) {
    const CodeFrame& f = frames[i];
    if (i) out->AppendChar(',');
    out->Append("{\"function\":");
    AppendJsonString(out, f.function ? f.function : "??");
    out->Append(",\"file\":");
    AppendJsonString(out, DisplayFileName(f.file));
    out->AppendF(",\"line\":%zu,\"offset\":%zu}", f.line, f.offset);
  }
  out->AppendChar(']');
}

void AppendGoroutine(TextBuffer* out, const ReportedGoroutine& g) {
  if (!g.known) {
    out->Append("{\"id\":null,\"main\":false,\"state\":\"unknown\",\"created_at\":[]}");
    return;
  }
  out->AppendF("{\"id\":%llu,\"main\":%s,\"state\":\"%s\",\"created_at\":", static_cast<unsigned long long>(g.number),
               g.number == 1 ? "true" : "false", g.finished ? "finished" : "running");
  AppendFrames(out, g.created_at);
  out->AppendChar('}');
}

void AppendAccess(TextBuffer* out, const ReportedAccess& a) {
  out->AppendF("{\"kind\":\"%s\",\"atomic\":%s,\"address\":\"0x%012zx\",\"size\":%zu,\"stack_restored\":%s,",
               a.is_write ? "write" : "read", a.is_atomic ? "true" : "false", a.addr, a.size,
               a.stack_known ? "true" : "false");
  out->Append("\"pcs\":[");
  for (uptr i = a.pcs.size(); i > 0; i--) out->AppendF(i == a.pcs.size() ? "%zu" : ",%zu", a.pcs[i - 1]);
  out->Append("],\"frames\":");
  AppendFrames(out, a.frames);
  out->Append(",\"goroutine\":");
  AppendGoroutine(out, a.goroutine);
  out->AppendChar('}');
}

}  // namespace

void RenderReportJson(const RaceReportModel& report, TextBuffer* out) {
  out->AppendF("{\"schema\":\"racert.race/1\",\"id\":\"%016llx\",\"sequence\":%llu,\"address\":\"0x%012zx\",",
               static_cast<unsigned long long>(report.stable_id), static_cast<unsigned long long>(report.sequence),
               report.addr);
  out->Append("\"current\":");
  AppendAccess(out, report.current);
  out->Append(",\"previous\":");
  AppendAccess(out, report.previous);
  out->Append("}\n");
}

}  // namespace racert
