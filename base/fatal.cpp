#include "base/fatal.h"

#include <stdarg.h>

#include <atomic>

#include "base/check.h"
#include "base/format.h"
#include "base/syscalls.h"

namespace racert {
namespace {

// Constant-initialized: usable before any runtime initialization.
constinit std::atomic<int> g_fatal_exit_code{kDefaultExitCode};
constinit std::atomic<bool> g_abort_on_error{false};

constexpr uptr kFatalBufferSize = 1024;
constexpr char kFatalPrefix[] = "racert: FATAL: ";

[[noreturn]] void WriteFatalLineAndExit(char* line, uptr length) {
  // Format reports the untruncated length; clamp to what is in the buffer and
  // make sure the line ends with a newline even when truncated.
  if (length > kFatalBufferSize - 2) length = kFatalBufferSize - 2;
  line[length++] = '\n';
  WriteToStderr(line, length);
  ExitForError(FatalExitCode());
}

uptr FormatPrefix(char* line) {
  uptr prefix_length = sizeof(kFatalPrefix) - 1;
  __builtin_memcpy(line, kFatalPrefix, prefix_length);
  return prefix_length;
}

}  // namespace

void SetFatalExitCode(int code) { g_fatal_exit_code.store(code, std::memory_order_relaxed); }

int FatalExitCode() { return g_fatal_exit_code.load(std::memory_order_relaxed); }

void SetAbortOnError(bool abort) { g_abort_on_error.store(abort, std::memory_order_relaxed); }

bool AbortOnError() { return g_abort_on_error.load(std::memory_order_relaxed); }

void ExitForError(int code) {
  if (AbortOnError()) SysAbortProcess();
  SysExitGroup(code);
}

void WriteToStderr(const char* data, uptr size) { WriteAll(2, data, size); }

void Fatal(const char* format, ...) {
  char line[kFatalBufferSize];
  uptr length = FormatPrefix(line);
  va_list args;
  va_start(args, format);
  length += FormatV(line + length, kFatalBufferSize - 1 - length, format, args);
  va_end(args);
  WriteFatalLineAndExit(line, length);
}

void CheckFailed(const char* file, int line_number, const char* expression) {
  Fatal("%s:%d: CHECK failed: %s", file, line_number, expression);
}

void CheckFailedMsg(const char* file, int line_number, const char* expression, const char* format,
                    ...) {
  char line[kFatalBufferSize];
  uptr length = FormatPrefix(line);
  length += Format(line + length, kFatalBufferSize - 1 - length, "%s:%d: CHECK failed: %s: ", file,
                   line_number, expression);
  if (length < kFatalBufferSize - 1) {
    va_list args;
    va_start(args, format);
    length += FormatV(line + length, kFatalBufferSize - 1 - length, format, args);
    va_end(args);
  }
  WriteFatalLineAndExit(line, length);
}

}  // namespace racert
