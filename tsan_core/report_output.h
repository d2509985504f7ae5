// Where reports go: one file descriptor for the text reports (stderr unless
// GORACE log_path says otherwise) and an optional one for JSON lines.
// Writes are whole-report at a time under the report lock, so reports from
// concurrent goroutines never interleave.
#pragma once

#include "base/types.h"

namespace racert {

void SetReportFd(int fd);
int ReportFd();
void SetJsonFd(int fd);  // -1: no JSON
int JsonFd();

void WriteReportText(const char* text, uptr length);
void WriteJsonLine(const char* text, uptr length);

}  // namespace racert
