#include "tsan_core/report_output.h"

#include "base/fatal.h"
#include "base/format.h"
#include "base/syscalls.h"

namespace racert {
namespace {
// Stored as fd + 1 so that zero-initialized memory means "stderr"/"none".
int report_fd_plus_one;
int json_fd_plus_one;
char report_file_name[256];
char json_file_name[256];

void CopyName(char* to, const char* name) {
  uptr i = 0;
  for (; name && name[i] && i + 1 < 256; i++) to[i] = name[i];
  to[i] = '\0';
}

const char* ErrorName(int error) {
  switch (error) {
    case 28: return "ENOSPC: no space left on the device";
    case 122: return "EDQUOT: disk quota exceeded";
    case 27: return "EFBIG: file too large";
    case 5: return "EIO: input/output error";
    case 32: return "EPIPE: the reader has gone";
    default: return "write failed";
  }
}

void WarnWriteFailed(const char* option, const char* file, int fd, int error, const char* then) {
  char line[700];
  uptr n = Format(line, sizeof(line), "racert: warning: cannot write to GORACE %s file %s (fd %d): %s (errno %d); %s\n",
                  option, file[0] ? file : "?", fd, ErrorName(error), error, then);
  WriteToStderr(line, n < sizeof(line) ? n : sizeof(line) - 1);
}
}  // namespace

void SetReportFd(int fd) { report_fd_plus_one = fd + 1; }
void SetReportFileName(const char* name) { CopyName(report_file_name, name); }
void SetJsonFileName(const char* name) { CopyName(json_file_name, name); }
int ReportFd() { return report_fd_plus_one ? report_fd_plus_one - 1 : 2; }
void SetJsonFd(int fd) { json_fd_plus_one = fd + 1; }
int JsonFd() { return json_fd_plus_one ? json_fd_plus_one - 1 : -1; }

// Callers hold the report lock, so the switch to stderr needs no more.
void WriteReportText(const char* text, uptr length) {
  int fd = ReportFd();
  int error = WriteAllError(fd, text, length);
  if (error == 0 || fd == 2) return;
  WarnWriteFailed("log_path", report_file_name, fd, error, "this report and later ones go to stderr instead");
  SetReportFd(2);
  WriteAll(2, text, length);
}

void WriteJsonLine(const char* text, uptr length) {
  int fd = JsonFd();
  if (fd < 0) return;
  int error = WriteAllError(fd, text, length);
  if (error == 0) return;
  WarnWriteFailed("json_path", json_file_name, fd, error, "no more JSON lines are written (the text reports are)");
  SetJsonFd(-1);
}

}  // namespace racert
