#include "base/flag_parser.h"

#include "base/check.h"
#include "base/internal_alloc.h"

namespace racert {
namespace {

bool IsSeparator(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':';
}

// A piece of the input text (not NUL-terminated).
struct Slice {
  const char* begin;
  uptr length;

  bool Equals(const char* s) const {
    for (uptr i = 0; i < length; i++) {
      if (s[i] != begin[i]) return false;  // also stops at the NUL of a shorter s
    }
    return s[length] == '\0';
  }
};

class Parser {
 public:
  Parser(const char* text, const FlagDescriptor* flags, uptr count, FlagParseResult* result)
      : text_(text), cursor_(text), flags_(flags), count_(count), result_(result) {}

  bool Run() {
    for (;;) {
      while (IsSeparator(*cursor_)) cursor_++;
      if (*cursor_ == '\0') return true;
      if (!ParsePair()) return false;
    }
  }

 private:
  uptr Position(const char* p) const { return static_cast<uptr>(p - text_) + 1; }

  bool Fail(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    va_list args;
    va_start(args, format);
    FormatV(result_->error, sizeof(result_->error), format, args);
    va_end(args);
    result_->ok = false;
    return false;
  }

  bool ParsePair() {
    const char* name_begin = cursor_;
    while (*cursor_ != '\0' && *cursor_ != '=' && !IsSeparator(*cursor_)) cursor_++;
    Slice name = {name_begin, static_cast<uptr>(cursor_ - name_begin)};
    if (*cursor_ != '=') {
      return Fail("expected '=' after '%.*s' at position %zu", static_cast<int>(name.length),
                  name.begin, Position(name_begin));
    }
    if (name.length == 0) return Fail("empty flag name before '=' at position %zu", Position(cursor_));
    cursor_++;  // '='

    const char* value_start = cursor_;
    Slice value;
    if (*cursor_ == '"' || *cursor_ == '\'') {
      char quote = *cursor_++;
      const char* inner = cursor_;
      while (*cursor_ != '\0' && *cursor_ != quote) cursor_++;
      if (*cursor_ == '\0') {
        return Fail("unterminated %c quote in the value of '%.*s' at position %zu", quote,
                    static_cast<int>(name.length), name.begin, Position(value_start));
      }
      value = {inner, static_cast<uptr>(cursor_ - inner)};
      cursor_++;  // closing quote
      if (*cursor_ != '\0' && !IsSeparator(*cursor_)) {
        return Fail("unexpected '%c' after the quoted value of '%.*s' at position %zu", *cursor_,
                    static_cast<int>(name.length), name.begin, Position(cursor_));
      }
    } else {
      while (*cursor_ != '\0' && !IsSeparator(*cursor_)) cursor_++;
      value = {value_start, static_cast<uptr>(cursor_ - value_start)};
    }

    const FlagDescriptor* flag = Find(name);
    if (flag == nullptr) {
      RecordUnknown(name);
      return true;
    }
    return Store(*flag, value, Position(value_start));
  }

  const FlagDescriptor* Find(Slice name) const {
    for (uptr i = 0; i < count_; i++) {
      if (name.Equals(flags_[i].name)) return &flags_[i];
    }
    return nullptr;
  }

  void RecordUnknown(Slice name) {
    if (result_->unknown_count == 16) {
      result_->unknown_dropped++;
      return;
    }
    char* slot = result_->unknown[result_->unknown_count++];
    uptr length = name.length < 63 ? name.length : 63;
    __builtin_memcpy(slot, name.begin, length);
    slot[length] = '\0';
  }

  // A bool or int flag's value, parsed by `parse` into the flag's storage,
  // or the error naming the kind of flag and what it `expected`.
  template <typename T>
  bool StoreParsed(const FlagDescriptor& flag, Slice value, uptr position, bool (*parse)(Slice, T*),
                   const char* kind, const char* expected) {
    T parsed;
    if (!parse(value, &parsed)) {
      return Fail("invalid value '%.*s' for %s flag '%s' at position %zu: expected %s",
                  static_cast<int>(value.length), value.begin, kind, flag.name, position, expected);
    }
    *static_cast<T*>(flag.storage) = parsed;
    return true;
  }

  bool Store(const FlagDescriptor& flag, Slice value, uptr position) {
    RACERT_CHECK(flag.storage != nullptr);
    switch (flag.kind) {
      case FlagKind::kBool:
        return StoreParsed(flag, value, position, ParseBool, "bool", "0, 1, true or false");
      case FlagKind::kInt:
        return StoreParsed(flag, value, position, ParseInt, "int",
                           "a 64-bit decimal or 0x-prefixed hexadecimal integer");
      case FlagKind::kString:
        *static_cast<const char**>(flag.storage) = CopyOf(value);
        return true;
      case FlagKind::kCallback: {
        char* copy = CopyOf(value);
        const FlagCallback* callback = static_cast<const FlagCallback*>(flag.storage);
        char message[sizeof(result_->error) - 64];
        message[0] = '\0';
        bool ok = callback->fn(copy, callback->context, message, sizeof(message));
        InternalFree(copy, value.length + 1);
        if (!ok) return Fail("%s (%s at position %zu)", message, flag.name, position);
        return true;
      }
    }
    return Fail("flag '%s' has an unknown kind", flag.name);
  }

  // A NUL-terminated copy of `value`, from InternalAlloc (value.length + 1 bytes).
  static char* CopyOf(Slice value) {
    char* copy = static_cast<char*>(InternalAlloc(value.length + 1));
    if (value.length > 0) __builtin_memcpy(copy, value.begin, value.length);
    copy[value.length] = '\0';
    return copy;
  }

  static bool ParseBool(Slice value, bool* out) {
    if (value.Equals("1") || value.Equals("true") || value.Equals("yes")) {
      *out = true;
      return true;
    }
    if (value.Equals("0") || value.Equals("false") || value.Equals("no")) {
      *out = false;
      return true;
    }
    return false;
  }

  static int DigitValue(char c, unsigned base) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return -1;
    return digit < static_cast<int>(base) ? digit : -1;
  }

  static bool ParseInt(Slice value, s64* out) {
    uptr i = 0;
    bool negative = false;
    if (i < value.length && value.begin[i] == '-') {
      negative = true;
      i++;
    }
    unsigned base = 10;
    if (i + 1 < value.length && value.begin[i] == '0' &&
        (value.begin[i + 1] == 'x' || value.begin[i + 1] == 'X')) {
      base = 16;
      i += 2;
    }
    if (i == value.length) return false;  // no digits
    // Accumulate the magnitude; -2^63 is the one value whose magnitude does
    // not fit in s64.
    const u64 limit = negative ? (u64{1} << 63) : (u64{1} << 63) - 1;
    u64 magnitude = 0;
    for (; i < value.length; i++) {
      int digit = DigitValue(value.begin[i], base);
      if (digit < 0) return false;
      if (magnitude > (limit - static_cast<u64>(digit)) / base) return false;
      magnitude = magnitude * base + static_cast<u64>(digit);
    }
    *out = negative ? static_cast<s64>(0 - magnitude) : static_cast<s64>(magnitude);
    return true;
  }

  const char* text_;
  const char* cursor_;
  const FlagDescriptor* flags_;
  uptr count_;
  FlagParseResult* result_;
};

}  // namespace

bool ParseFlags(const char* text, const FlagDescriptor* flags, uptr count,
                FlagParseResult* result) {
  __builtin_memset(result, 0, sizeof(*result));
  result->ok = true;
  if (text == nullptr) return true;
  return Parser(text, flags, count, result).Run();
}

void AppendFlagHelp(TextBuffer* out, const FlagDescriptor* flags, uptr count) {
  for (uptr i = 0; i < count; i++) {
    const FlagDescriptor& flag = flags[i];
    if (flag.kind == FlagKind::kCallback) {
      out->AppendF("\t%s\n\t\t- %s\n", flag.name, flag.help != nullptr ? flag.help : "");
      continue;
    }
    out->AppendF("\t%s\n\t\t- %s (current value: ", flag.name, flag.help != nullptr ? flag.help : "");
    switch (flag.kind) {
      case FlagKind::kBool:
        out->Append(*static_cast<const bool*>(flag.storage) ? "true" : "false");
        break;
      case FlagKind::kInt:
        out->AppendF("%lld", static_cast<long long>(*static_cast<const s64*>(flag.storage)));
        break;
      case FlagKind::kString: {
        const char* value = *static_cast<const char* const*>(flag.storage);
        out->Append(value != nullptr ? value : "");
        break;
      }
      case FlagKind::kCallback:
        break;
    }
    out->Append(")\n");
  }
}

}  // namespace racert
