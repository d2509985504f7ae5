// printf-style formatting without libc, and a growable text buffer.
//
// FormatV implements this subset of printf, with output identical to glibc's
// snprintf for it (the unit tests compare the two):
//   flags      '-' (left-align), '0' (zero pad), '+', ' ', '#'
//   width      digits or '*'        precision  '.' digits or '.*'
//   length     hh h l ll z j t
//   conversion d i u x X o c s p %
// Deliberate differences from glibc:
//   * %s of a NULL pointer prints "<null>" (glibc: "(null)", or nothing when
//     the precision is below 6). Precision and width apply to "<null>" as to
//     any other string.
//   * An unsupported conversion (e.g. %f, %n) is copied to the output
//     literally, from the '%' to the conversion character, and consumes no
//     argument.
// %p prints "0x" and lower-case hex like glibc, including "(nil)" for NULL.
#pragma once

#include <stdarg.h>

#include "base/types.h"

namespace racert {

// Writes at most `size` bytes including the terminating NUL (always written
// when size > 0). Returns the length the complete output would have, not
// counting the NUL: the output was truncated iff the result is >= size.
uptr FormatV(char* buf, uptr size, const char* format, va_list args);
uptr Format(char* buf, uptr size, const char* format, ...) __attribute__((format(printf, 3, 4)));

// A growable, always NUL-terminated string whose memory comes from
// InternalAlloc. A zero-initialized TextBuffer is a valid empty buffer, so it
// may live in zeroed memory without construction. It owns its memory and frees
// it in the destructor; do not put one in a global (the destructor would make
// the compiler register an atexit handler), use locals or heap objects.
class TextBuffer {
 public:
  constexpr TextBuffer() = default;
  ~TextBuffer() { Reset(); }
  TextBuffer(const TextBuffer&) = delete;
  TextBuffer& operator=(const TextBuffer&) = delete;

  void Append(const char* s);
  void Append(const char* s, uptr n);
  void AppendF(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void AppendChar(char c);

  // Always NUL-terminated; "" when nothing has been appended.
  const char* data() const { return data_ != nullptr ? data_ : ""; }
  uptr length() const { return length_; }
  uptr capacity() const { return capacity_; }

  // Empties the buffer but keeps its memory for reuse.
  void Clear();
  // Empties the buffer and frees its memory.
  void Reset();

 private:
  // Makes room for `extra` more characters plus the NUL.
  void Reserve(uptr extra);

  char* data_ = nullptr;
  uptr length_ = 0;
  uptr capacity_ = 0;  // bytes allocated at data_, including room for the NUL
};

}  // namespace racert
