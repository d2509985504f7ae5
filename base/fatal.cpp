#include "base/fatal.h"

#include <stdarg.h>

#include "base/check.h"
#include "base/format.h"
#include "base/syscalls.h"

namespace racert {
namespace {

// Constant-initialized: usable before any runtime initialization.
int g_fatal_exit_code = kDefaultExitCode;
bool g_abort_on_error = false;

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

void SetFatalExitCode(int code) { __atomic_store_n(&g_fatal_exit_code, code, __ATOMIC_RELAXED); }

int FatalExitCode() { return __atomic_load_n(&g_fatal_exit_code, __ATOMIC_RELAXED); }

void SetAbortOnError(bool abort) { __atomic_store_n(&g_abort_on_error, abort, __ATOMIC_RELAXED); }

bool AbortOnError() { return __atomic_load_n(&g_abort_on_error, __ATOMIC_RELAXED); }

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
