// Parsing of GORACE-style option strings: "name=value name2=value2 ...".
//
// Syntax:
//   * Pairs are separated by any run of spaces, tabs, newlines (\n, \r),
//     commas or colons.
//   * A value runs to the next separator, or is quoted with ' or " (quotes
//     stripped; a quoted value may contain separators and the other quote
//     character). A closing quote must be followed by a separator or the end.
//   * bool values: 0, 1, true, false, yes, no. int values: decimal with an
//     optional '-', or 0x/0X hex (also with '-'); must fit in s64.
//   * A name may appear several times; the last occurrence wins.
//   * Names not in the table are recorded in result->unknown (not an error).
//
// On the first error, ParseFlags stops, returns false and describes the error
// in result->error with a 1-based character position: of the word for a
// missing '=', of the '=' for an empty name, of the value (its opening quote
// if quoted) for a bad value, of the opening quote for an unterminated quote,
// of the stray character after a closing quote. Flags before the error have
// already been stored.
#pragma once

#include "base/format.h"
#include "base/types.h"

namespace racert {

enum class FlagKind { kBool, kInt, kString, kCallback };

// For kCallback flags (e.g. include=FILE): called with the value (NUL-
// terminated) at the point of the text where the flag appears, so flags after
// it override what it sets. Returns false with a message in `error` to stop
// the parse.
struct FlagCallback {
  bool (*fn)(const char* value, void* context, char* error, uptr error_size);
  void* context;
};

struct FlagDescriptor {
  const char* name;
  FlagKind kind;
  // bool* for kBool, s64* for kInt, const char** for kString, const
  // FlagCallback* for kCallback. A parsed string
  // value is copied into InternalAlloc memory; a value it replaces is not
  // freed (it may be a string literal default), so repeated parses leak a
  // little, which is fine for startup-time parsing.
  void* storage;
  const char* help;
};

struct FlagParseResult {
  bool ok;
  char error[512];  // "" when ok
  // Names not in the table, in order of appearance; at most 16 are kept,
  // each truncated to 63 characters. unknown_count <= 16 is how many are
  // stored here; unknown_dropped counts the ones beyond that.
  uptr unknown_count;
  char unknown[16][64];
  uptr unknown_dropped;
};

// `text` may be null (treated as empty, e.g. straight from getenv). Every
// field of *result is (re)initialized.
bool ParseFlags(const char* text, const FlagDescriptor* flags, uptr count, FlagParseResult* result);

// One entry per flag: "\t<name>\n\t\t- <help> (current value: <value>)\n".
// bools print as true/false, a null string as the empty string; callback
// flags have no current value: "\t<name>\n\t\t- <help>\n".
void AppendFlagHelp(TextBuffer* out, const FlagDescriptor* flags, uptr count);

}  // namespace racert
