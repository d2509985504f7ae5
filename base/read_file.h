// Reading small text files (option and suppression files) without libc.
#pragma once

#include "base/format.h"
#include "base/types.h"

namespace racert {

// Appends the whole content of `path` to *out. Returns 0, or the errno of the
// open or read that failed (a directory fails with EISDIR; a file larger
// than `max_bytes` with EFBIG).
int ReadWholeFile(const char* path, TextBuffer* out, uptr max_bytes = uptr{64} << 20);

// A short lower-case description of an errno value for messages
// ("no such file or directory"); "error N" for the ones not listed.
const char* DescribeErrno(int error_number, char* buffer, uptr size);

// The running executable's path (/proc/self/exe), NUL-terminated in
// `buffer`; "" if it cannot be read or does not fit.
void ExecutablePath(char* buffer, uptr size);

}  // namespace racert
