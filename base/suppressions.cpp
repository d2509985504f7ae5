#include "base/suppressions.h"

#include "base/format.h"
#include "base/internal_alloc.h"

namespace racert {
namespace {

constexpr const char* kTypeNames[kSuppressionTypeCount] = {
    "race", "race_top", "mutex", "thread", "signal", "called_from_lib", "deadlock",
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Length of the literal piece starting at `p`: up to the next '*', '$' or end.
uptr PieceLength(const char* p) {
  uptr n = 0;
  while (p[n] != '\0' && p[n] != '*' && p[n] != '$') n++;
  return n;
}

// First occurrence of piece[0, n) in text, or null.
const char* FindPiece(const char* text, const char* piece, uptr n) {
  for (const char* t = text; *t != '\0'; t++) {
    uptr i = 0;
    while (i < n && t[i] == piece[i]) i++;
    if (i == n) return t;
  }
  return nullptr;
}

// Copies `n` bytes of `s` for an error message, cut to `size` - 1 bytes.
void CopyForMessage(char* out, uptr size, const char* s, uptr n) {
  uptr k = n < size - 1 ? n : size - 1;
  for (uptr i = 0; i < k; i++) {
    char c = s[i];
    out[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  out[k] = '\0';
}

// The type an entry starts with ("TYPE:" with a known TYPE), and in
// *name_length how long TYPE is; kSuppressionTypeCount if it names none.
uptr EntryType(const char* entry, uptr entry_length, uptr* name_length) {
  for (uptr k = 0; k < kSuppressionTypeCount; k++) {
    uptr n = __builtin_strlen(kTypeNames[k]);
    if (n < entry_length && __builtin_memcmp(entry, kTypeNames[k], n) == 0 && entry[n] == ':') {
      *name_length = n;
      return k;
    }
  }
  return kSuppressionTypeCount;
}

// Fills *error for an entry of line `line_number` that names no known type.
void ExplainUnknownType(const char* entry, uptr entry_length, u32 line_number, SuppressionParseError* error) {
  error->line = line_number;
  CopyForMessage(error->text, sizeof(error->text), entry, entry_length);
  uptr colon = 0;
  while (colon < entry_length && entry[colon] != ':') colon++;
  if (colon == entry_length) {
    Format(error->reason, sizeof(error->reason), "no ':' in the line; expected TYPE:PATTERN, e.g. race:main.worker");
    return;
  }
  char type[48];
  CopyForMessage(type, sizeof(type), entry, colon);
  Format(error->reason, sizeof(error->reason),
         "unknown suppression type '%s' (known: race, race_top; accepted but never matched in Go: "
         "mutex, thread, signal, called_from_lib, deadlock)",
         type);
}

}  // namespace

const char* SuppressionTypeName(SuppressionType type) {
  uptr index = static_cast<uptr>(type);
  return index < kSuppressionTypeCount ? kTypeNames[index] : "?";
}

bool SuppressionPatternMatches(const char* pattern, const char* text) {
  if (text == nullptr || text[0] == '\0') return false;
  const char* p = pattern ? pattern : "";
  const char* t = text;
  bool tied_to_start = false;
  if (*p == '^') {
    tied_to_start = true;
    p++;
  }
  bool after_star = false;
  while (*p != '\0') {
    if (*p == '*') {
      after_star = true;
      tied_to_start = false;
      p++;
      continue;
    }
    if (*p == '$') return *t == '\0' || after_star;
    if (*t == '\0') return false;  // a literal piece is left but no text
    uptr n = PieceLength(p);
    const char* found = FindPiece(t, p, n);
    if (found == nullptr) return false;
    if (tied_to_start && found != t) return false;
    t = found + n;
    p += n;
    tied_to_start = false;
    after_star = false;
  }
  return true;
}

bool SuppressionList::Parse(const char* text, uptr length, SuppressionParseError* error) {
  uptr end_of_text = 0;
  while (end_of_text < length && text[end_of_text] != '\0') end_of_text++;
  u32 line_number = 0;
  uptr line_start = 0;
  while (line_start < end_of_text) {
    line_number++;
    uptr line_end = line_start;
    while (line_end < end_of_text && text[line_end] != '\n') line_end++;
    uptr begin = line_start;
    while (begin < line_end && IsBlank(text[begin])) begin++;
    uptr end = line_end;
    while (end > begin && (IsBlank(text[end - 1]) || text[end - 1] == '\r')) end--;
    line_start = line_end + 1;
    if (begin == end || text[begin] == '#') continue;

    const char* entry = text + begin;
    uptr entry_length = end - begin;
    uptr name_length = 0;
    uptr type_index = EntryType(entry, entry_length, &name_length);
    if (type_index == kSuppressionTypeCount) {
      ExplainUnknownType(entry, entry_length, line_number, error);
      return false;
    }
    uptr pattern_length = entry_length - name_length - 1;
    char* pattern = static_cast<char*>(InternalAlloc(pattern_length + 1));
    if (pattern_length > 0) __builtin_memcpy(pattern, entry + name_length + 1, pattern_length);
    pattern[pattern_length] = '\0';
    Suppression s{};
    s.type = static_cast<SuppressionType>(type_index);
    s.line = line_number;
    s.pattern = pattern;
    entries_.push_back(s);
    has_type_[type_index] = true;
  }
  return true;
}

bool SuppressionList::HasType(SuppressionType type) const {
  uptr index = static_cast<uptr>(type);
  return index < kSuppressionTypeCount && has_type_[index];
}

Suppression* SuppressionList::Find(SuppressionType type, const char* text) {
  if (!HasType(type)) return nullptr;
  for (uptr i = 0; i < entries_.size(); i++) {
    Suppression& s = entries_[i];
    if (s.type == type && SuppressionPatternMatches(s.pattern, text)) return &s;
  }
  return nullptr;
}

}  // namespace racert
