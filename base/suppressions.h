// Suppression files (GORACE suppressions=FILE), in the format the official
// race runtime reads, so a file written for it means the same here.
//
// File format, one entry per line:
//   * Leading spaces and tabs are skipped; a line that is then empty or starts
//     with '#' is ignored. Trailing spaces, tabs and '\r' are dropped.
//   * Every other line is TYPE:PATTERN. TYPE is one of race, race_top, mutex,
//     thread, signal, called_from_lib, deadlock (case-sensitive, directly
//     followed by ':'); anything else makes the whole file invalid. Only race
//     and race_top can match in a Go program; the others are accepted and
//     never match. PATTERN is the rest of the line, spaces included; it may be
//     empty.
//
// Pattern semantics (SuppressionPatternMatches):
//   * An empty text (no function or file name) never matches.
//   * Without special characters a pattern matches when it occurs anywhere in
//     the text ("writer" matches "main.writer").
//   * '*' matches any run of characters. A leading '^' ties the pattern's
//     first piece to the start of the text. '$' ends the pattern: there the
//     match succeeds if the text is used up or a '*' came right before.
//   * The literal pieces between '*' and '$' are searched left to right, each
//     at its first occurrence after the previous one, without backtracking:
//     "ab$" does not match "abab" (the first "ab" is not at the end). The
//     official runtime matches this way; keeping it means the same file
//     suppresses the same races with either runtime.
#pragma once

#include "base/internal_vector.h"
#include "base/types.h"

namespace racert {

enum class SuppressionType : u8 {
  kRace,
  kRaceTop,
  kMutex,
  kThread,
  kSignal,
  kCalledFromLib,
  kDeadlock,
};
constexpr uptr kSuppressionTypeCount = 7;

// "race", "race_top", ...
const char* SuppressionTypeName(SuppressionType type);

bool SuppressionPatternMatches(const char* pattern, const char* text);

struct Suppression {
  SuppressionType type;
  u32 line;             // 1-based line of the file it came from
  const char* pattern;  // NUL-terminated copy (InternalAlloc)
  u64 hits;             // matches so far; the owner of the list serializes updates
};

struct SuppressionParseError {
  u32 line;           // 1-based
  char text[128];     // the offending line, cut to fit
  char reason[192];
};

// A parsed suppression file. Zero-initialized memory is an empty list.
class SuppressionList {
 public:
  // Parses `length` bytes of `text`; a NUL byte ends the text early (the
  // official runtime reads the file as a C string). Entries are appended; on
  // the first invalid line nothing more is appended, *error describes the
  // line and false is returned.
  bool Parse(const char* text, uptr length, SuppressionParseError* error);

  uptr size() const { return entries_.size(); }
  const Suppression& operator[](uptr i) const { return entries_[i]; }
  bool HasType(SuppressionType type) const;

  // The first entry, in file order, of `type` whose pattern matches `text`;
  // null if none does. Does not count the hit.
  Suppression* Find(SuppressionType type, const char* text);

 private:
  InternalVector<Suppression> entries_;
  bool has_type_[kSuppressionTypeCount];
};

}  // namespace racert
