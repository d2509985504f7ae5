#include "tsan_core/report_output.h"

#include "base/syscalls.h"

namespace racert {
namespace {
// Stored as fd + 1 so that zero-initialized memory means "stderr"/"none".
int report_fd_plus_one;
int json_fd_plus_one;
}  // namespace

void SetReportFd(int fd) { report_fd_plus_one = fd + 1; }
int ReportFd() { return report_fd_plus_one ? report_fd_plus_one - 1 : 2; }
void SetJsonFd(int fd) { json_fd_plus_one = fd + 1; }
int JsonFd() { return json_fd_plus_one ? json_fd_plus_one - 1 : -1; }

void WriteReportText(const char* text, uptr length) { WriteAll(ReportFd(), text, length); }

void WriteJsonLine(const char* text, uptr length) {
  int fd = JsonFd();
  if (fd >= 0) WriteAll(fd, text, length);
}

}  // namespace racert
