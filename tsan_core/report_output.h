// Where reports go: one file descriptor for the text reports (stderr unless
// GORACE log_path says otherwise) and an optional one for JSON lines.
// Writes are whole-report at a time under the report lock, so reports from
// concurrent goroutines never interleave.
#pragma once

#include "base/types.h"

namespace racert {

void SetReportFd(int fd);
// The file behind the report fd, named in the warning if writing to it fails
// (copied; truncated to 255 bytes).
void SetReportFileName(const char* name);
void SetJsonFileName(const char* name);
int ReportFd();
void SetJsonFd(int fd);  // -1: no JSON
int JsonFd();

// A report that cannot be written to a log_path file (a full disk, an I/O
// error) is never lost: one warning on stderr names the file and the error,
// and that report and every later one go to stderr. JSON lines that cannot be
// written are dropped after one such warning (stderr would mix them with the
// text reports).
void WriteReportText(const char* text, uptr length);
void WriteJsonLine(const char* text, uptr length);

}  // namespace racert
