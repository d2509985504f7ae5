#include "base/format.h"

#include "base/internal_alloc.h"

namespace racert {
namespace {

// Collects output into a caller buffer, counting everything that would have
// been written so the caller learns the untruncated length.
class Sink {
 public:
  Sink(char* buf, uptr size) : buf_(buf), size_(size) {}

  void Put(char c) {
    if (written_ + 1 < size_) buf_[written_] = c;
    written_++;
  }
  void Put(const char* s, uptr n) {
    for (uptr i = 0; i < n; i++) Put(s[i]);
  }
  void Repeat(char c, sptr n) {
    for (sptr i = 0; i < n; i++) Put(c);
  }
  // Writes the NUL and returns the full length.
  uptr Finish() {
    if (size_ > 0) buf_[written_ < size_ ? written_ : size_ - 1] = '\0';
    return written_;
  }

 private:
  char* buf_;
  uptr size_;
  uptr written_ = 0;
};

struct ConversionSpec {
  // The flag characters '-', '0', '+', ' ' and '#', in that order.
  bool left_align = false, zero_pad = false, plus_sign = false, space_sign = false, alternate = false;
  sptr width = 0;
  sptr precision = -1;  // -1: none given
};

enum class Length { kDefault, kChar, kShort, kLong, kLongLong, kSize, kMax, kPtrdiff };

uptr BoundedLength(const char* s, sptr max) {
  uptr n = 0;
  while ((max < 0 || static_cast<sptr>(n) < max) && s[n] != '\0') n++;
  return n;
}

void EmitPadded(Sink& sink, const ConversionSpec& spec, const char* s, uptr n) {
  sptr padding = spec.width - static_cast<sptr>(n);
  if (!spec.left_align) sink.Repeat(' ', padding);
  sink.Put(s, n);
  if (spec.left_align) sink.Repeat(' ', padding);
}

// Lays out [sign][prefix][zeros][digits] within the field width the way glibc
// does: a precision sets the minimum digit count and disables the '0' flag.
void EmitInteger(Sink& sink, const ConversionSpec& spec, u64 magnitude, char sign, unsigned base,
                 bool upper_case, const char* prefix) {
  const char* digit_chars = upper_case ? "0123456789ABCDEF" : "0123456789abcdef";
  char digits[24];
  uptr digit_count = 0;
  // "%.0d" of zero prints no digits at all.
  if (magnitude != 0 || spec.precision != 0) {
    do {
      digits[digit_count++] = digit_chars[magnitude % base];
      magnitude /= base;
    } while (magnitude != 0);
  }
  sptr zeros = spec.precision > static_cast<sptr>(digit_count)
                   ? spec.precision - static_cast<sptr>(digit_count)
                   : 0;
  // '#' with octal guarantees a leading zero digit.
  if (base == 8 && spec.alternate && zeros == 0 &&
      (digit_count == 0 || digits[digit_count - 1] != '0')) {
    zeros = 1;
  }
  uptr prefix_length = BoundedLength(prefix, -1);
  sptr used = (sign != 0 ? 1 : 0) + static_cast<sptr>(prefix_length) + zeros +
              static_cast<sptr>(digit_count);
  sptr padding = spec.width > used ? spec.width - used : 0;
  bool pad_with_zeros = spec.zero_pad && !spec.left_align && spec.precision < 0;
  if (!spec.left_align && !pad_with_zeros) sink.Repeat(' ', padding);
  if (sign != 0) sink.Put(sign);
  sink.Put(prefix, prefix_length);
  if (pad_with_zeros) sink.Repeat('0', padding);
  sink.Repeat('0', zeros);
  while (digit_count > 0) sink.Put(digits[--digit_count]);
  if (spec.left_align) sink.Repeat(' ', padding);
}

s64 NextSigned(va_list& args, Length length) {
  switch (length) {
    case Length::kChar:
      return static_cast<signed char>(va_arg(args, int));
    case Length::kShort:
      return static_cast<short>(va_arg(args, int));
    case Length::kDefault:
      return va_arg(args, int);
    case Length::kLong:
      return va_arg(args, long);
    case Length::kLongLong:
      return va_arg(args, long long);
    case Length::kSize:
    case Length::kMax:
    case Length::kPtrdiff:
      return va_arg(args, sptr);
  }
  return 0;
}

u64 NextUnsigned(va_list& args, Length length) {
  switch (length) {
    case Length::kChar:
      return static_cast<unsigned char>(va_arg(args, unsigned));
    case Length::kShort:
      return static_cast<unsigned short>(va_arg(args, unsigned));
    case Length::kDefault:
      return va_arg(args, unsigned);
    case Length::kLong:
      return va_arg(args, unsigned long);
    case Length::kLongLong:
      return va_arg(args, unsigned long long);
    case Length::kSize:
    case Length::kMax:
    case Length::kPtrdiff:
      return va_arg(args, uptr);
  }
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

sptr ParseDecimal(const char*& p) {
  sptr value = 0;
  while (IsDigit(*p)) {
    // Saturate instead of overflowing on absurd widths.
    if (value < (1 << 24)) value = value * 10 + (*p - '0');
    p++;
  }
  return value;
}

// Flags: any of "-0+ #", in any order.
void ParseFlags(const char*& p, ConversionSpec& spec) {
  for (;; p++) {
    if (*p == '-') spec.left_align = true;
    else if (*p == '0') spec.zero_pad = true;
    else if (*p == '+') spec.plus_sign = true;
    else if (*p == ' ') spec.space_sign = true;
    else if (*p == '#') spec.alternate = true;
    else return;
  }
}

// Width: digits or '*'; then precision: '.' followed by digits or '*'.
void ParseWidthAndPrecision(const char*& p, va_list& args, ConversionSpec& spec) {
  if (*p == '*') {
    p++;
    int width = va_arg(args, int);
    // A negative width argument means '-' and its absolute value.
    if (width < 0) {
      spec.left_align = true;
      spec.width = -static_cast<sptr>(width);
    } else {
      spec.width = width;
    }
  } else {
    spec.width = ParseDecimal(p);
  }
  if (*p != '.') return;
  p++;
  if (*p == '*') {
    p++;
    int precision = va_arg(args, int);
    spec.precision = precision < 0 ? -1 : precision;  // negative: as if omitted
  } else {
    spec.precision = ParseDecimal(p);
  }
}

// Length modifier: hh h l ll z j t, or none.
Length ParseLength(const char*& p) {
  switch (*p) {
    case 'h':
      p++;
      if (*p != 'h') return Length::kShort;
      p++;
      return Length::kChar;
    case 'l':
      p++;
      if (*p != 'l') return Length::kLong;
      p++;
      return Length::kLongLong;
    case 'z':
      p++;
      return Length::kSize;
    case 'j':
      p++;
      return Length::kMax;
    case 't':
      p++;
      return Length::kPtrdiff;
    default:
      return Length::kDefault;
  }
}

void EmitSigned(Sink& sink, const ConversionSpec& spec, s64 value) {
  bool negative = value < 0;
  u64 magnitude = negative ? 0 - static_cast<u64>(value) : static_cast<u64>(value);
  char sign = negative ? '-' : spec.plus_sign ? '+' : spec.space_sign ? ' ' : 0;
  EmitInteger(sink, spec, magnitude, sign, 10, false, "");
}

void EmitHex(Sink& sink, const ConversionSpec& spec, u64 value, bool upper) {
  const char* prefix = spec.alternate && value != 0 ? (upper ? "0X" : "0x") : "";
  EmitInteger(sink, spec, value, 0, 16, upper, prefix);
}

void EmitPointer(Sink& sink, const ConversionSpec& spec, uptr value) {
  if (value == 0) {
    EmitPadded(sink, spec, "(nil)", 5);
  } else {
    EmitInteger(sink, spec, value, 0, 16, false, "0x");
  }
}

// One conversion, its argument taken from `args`. `text` is the whole
// directive (from '%' to the conversion character), copied literally when the
// conversion is not supported.
void EmitConversion(Sink& sink, char conversion, const ConversionSpec& spec, Length length, va_list& args,
                    const char* text, uptr text_length) {
  switch (conversion) {
    case 'd':
    case 'i':
      EmitSigned(sink, spec, NextSigned(args, length));
      break;
    case 'u':
      EmitInteger(sink, spec, NextUnsigned(args, length), 0, 10, false, "");
      break;
    case 'o':
      EmitInteger(sink, spec, NextUnsigned(args, length), 0, 8, false, "");
      break;
    case 'x':
    case 'X':
      EmitHex(sink, spec, NextUnsigned(args, length), conversion == 'X');
      break;
    case 'p':
      EmitPointer(sink, spec, reinterpret_cast<uptr>(va_arg(args, void*)));
      break;
    case 'c': {
      char c = static_cast<char>(va_arg(args, int));
      EmitPadded(sink, spec, &c, 1);
      break;
    }
    case 's': {
      const char* s = va_arg(args, const char*);
      if (s == nullptr) s = "<null>";
      EmitPadded(sink, spec, s, BoundedLength(s, spec.precision));
      break;
    }
    case '%':
      sink.Put('%');
      break;
    default:
      sink.Put(text, text_length);
      break;
  }
}

}  // namespace

uptr FormatV(char* buf, uptr size, const char* format, va_list original_args) {
  // Work on a copy so helpers can take the list by reference portably.
  va_list args;
  va_copy(args, original_args);
  Sink sink(buf, size);
  const char* p = format;
  while (*p != '\0') {
    if (*p != '%') {
      sink.Put(*p++);
      continue;
    }
    const char* conversion_start = p++;
    ConversionSpec spec;
    ParseFlags(p, spec);
    ParseWidthAndPrecision(p, args, spec);
    Length length = ParseLength(p);
    char conversion = *p;
    if (conversion == '\0') {
      // A lone trailing '%...' is kept as text.
      sink.Put(conversion_start, static_cast<uptr>(p - conversion_start));
      break;
    }
    p++;
    EmitConversion(sink, conversion, spec, length, args, conversion_start, static_cast<uptr>(p - conversion_start));
  }
  va_end(args);
  return sink.Finish();
}

uptr Format(char* buf, uptr size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  uptr length = FormatV(buf, size, format, args);
  va_end(args);
  return length;
}

void TextBuffer::Reserve(uptr extra) {
  uptr needed = length_ + extra + 1;
  if (needed <= capacity_) return;
  uptr new_capacity = capacity_ < 64 ? 64 : capacity_ * 2;
  if (new_capacity < needed) new_capacity = needed;
  char* new_data = static_cast<char*>(InternalAlloc(new_capacity));
  if (length_ > 0) __builtin_memcpy(new_data, data_, length_);
  new_data[length_] = '\0';
  InternalFree(data_, capacity_);
  data_ = new_data;
  capacity_ = new_capacity;
}

void TextBuffer::Append(const char* s) { Append(s, BoundedLength(s, -1)); }

void TextBuffer::Append(const char* s, uptr n) {
  if (n == 0) return;
  // Appending a piece of ourselves must survive the reallocation.
  if (data_ != nullptr && s >= data_ && s < data_ + capacity_) {
    uptr offset = static_cast<uptr>(s - data_);
    Reserve(n);
    s = data_ + offset;
  } else {
    Reserve(n);
  }
  __builtin_memmove(data_ + length_, s, n);
  length_ += n;
  data_[length_] = '\0';
}

void TextBuffer::AppendChar(char c) { Append(&c, 1); }

void TextBuffer::AppendF(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list retry_args;
  va_copy(retry_args, args);
  uptr room = capacity_ - length_;  // 0 when nothing is allocated yet
  char* tail = data_ != nullptr ? data_ + length_ : nullptr;
  uptr needed = FormatV(tail, room, format, args);
  if (needed > 0 && needed >= room) {
    // Did not fit: grow and format again (the truncated attempt is discarded).
    if (data_ != nullptr) data_[length_] = '\0';
    Reserve(needed);
    FormatV(data_ + length_, needed + 1, format, retry_args);
  }
  length_ += needed;
  va_end(retry_args);
  va_end(args);
}

void TextBuffer::Clear() {
  length_ = 0;
  if (data_ != nullptr) data_[0] = '\0';
}

void TextBuffer::Reset() {
  InternalFree(data_, capacity_);
  data_ = nullptr;
  length_ = 0;
  capacity_ = 0;
}

}  // namespace racert
