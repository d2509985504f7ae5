#include "base/read_file.h"

#include <errno.h>  // E* constants only
#include <fcntl.h>  // O_* constants only

#include "base/syscalls.h"

namespace racert {

int ReadWholeFile(const char* path, TextBuffer* out, uptr max_bytes) {
  sptr fd = SysOpen(path, O_RDONLY | O_CLOEXEC, 0);
  if (SysFailed(fd)) return SysErrno(fd);
  char chunk[4096];
  uptr total = 0;
  int error_number = 0;
  for (;;) {
    sptr n = SysRead(static_cast<int>(fd), chunk, sizeof(chunk));
    if (n == -EINTR) continue;
    if (SysFailed(n)) {
      error_number = SysErrno(n);
      break;
    }
    if (n == 0) break;
    total += static_cast<uptr>(n);
    if (total > max_bytes) {
      error_number = EFBIG;
      break;
    }
    out->Append(chunk, static_cast<uptr>(n));
  }
  SysClose(static_cast<int>(fd));
  return error_number;
}

const char* DescribeErrno(int error_number, char* buffer, uptr size) {
  switch (error_number) {
    case ENOENT: return "no such file or directory";
    case EACCES: return "permission denied";
    case EISDIR: return "is a directory";
    case ENOTDIR: return "a component of the path is not a directory";
    case ELOOP: return "too many levels of symbolic links";
    case ENAMETOOLONG: return "file name too long";
    case EFBIG: return "file too large";
    case EMFILE: return "too many open files";
    case EIO: return "input/output error";
    default:
      Format(buffer, size, "error %d", error_number);
      return buffer;
  }
}

void ExecutablePath(char* buffer, uptr size) {
  if (size == 0) return;
  sptr n = SysReadlink("/proc/self/exe", buffer, size - 1);
  if (SysFailed(n) || static_cast<uptr>(n) >= size - 1) {
    buffer[0] = '\0';
    return;
  }
  buffer[n] = '\0';
}

}  // namespace racert
