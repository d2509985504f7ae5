// FormatV must match glibc snprintf for its subset; most cases here are
// checked against the host snprintf rather than hand-written expectations.
#include "base/format.h"

#include <gtest/gtest.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <string>

#include "base/internal_alloc.h"

namespace racert {
namespace {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-overflow"

// Formats with both implementations into generous buffers and compares text
// and returned length.
template <typename... Args>
void ExpectSameAsLibc(const char* format, Args... args) {
  char ours[512];
  char theirs[512];
  memset(ours, 'Q', sizeof(ours));
  uptr our_length = Format(ours, sizeof(ours), format, args...);
  int their_length = snprintf(theirs, sizeof(theirs), format, args...);
  EXPECT_STREQ(ours, theirs) << "format: \"" << format << "\"";
  EXPECT_EQ(our_length, static_cast<uptr>(their_length)) << "format: \"" << format << "\"";
}

TEST(FormatTest, PlainText) {
  ExpectSameAsLibc("");
  ExpectSameAsLibc("hello, world");
  ExpectSameAsLibc("100%% sure");
}

TEST(FormatTest, SignedIntegers) {
  const int values[] = {0, 1, -1, 7, -7, 42, 12345, -12345, INT32_MAX, INT32_MIN};
  const char* formats[] = {"%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%+05d", "%.3d",
                           "%8.3d", "%-8.3d|", "%08.3d", "%.0d", "%3.0d", "%-+6d|", "%1d", "%012d"};
  for (const char* format : formats) {
    for (int value : values) ExpectSameAsLibc(format, value);
  }
}

TEST(FormatTest, LengthModifiers) {
  const long long values[] = {0, 1, -1, INT64_MAX, INT64_MIN, 4294967296LL, -4294967296LL};
  for (long long value : values) {
    ExpectSameAsLibc("%lld", value);
    ExpectSameAsLibc("%ld", static_cast<long>(value));
    ExpectSameAsLibc("%zd", static_cast<ssize_t>(value));
    ExpectSameAsLibc("%jd", static_cast<intmax_t>(value));
    ExpectSameAsLibc("%td", static_cast<ptrdiff_t>(value));
    ExpectSameAsLibc("%llu", static_cast<unsigned long long>(value));
    ExpectSameAsLibc("%lu", static_cast<unsigned long>(value));
    ExpectSameAsLibc("%zu", static_cast<size_t>(value));
    ExpectSameAsLibc("%llx", static_cast<unsigned long long>(value));
    ExpectSameAsLibc("%lX", static_cast<unsigned long>(value));
    ExpectSameAsLibc("%zx", static_cast<size_t>(value));
    ExpectSameAsLibc("%25lld|%-25lld|%025lld", value, value, value);
  }
  // hh and h truncate the promoted int argument.
  ExpectSameAsLibc("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
  ExpectSameAsLibc("%hhd %hd", -129, -32769);
  ExpectSameAsLibc("%hhx %hx", 0x1ff, 0x1ffff);
}

TEST(FormatTest, UnsignedHexOctal) {
  const unsigned values[] = {0, 1, 9, 10, 15, 16, 255, 0xdeadbeef, UINT32_MAX};
  const char* formats[] = {"%u", "%x", "%X", "%o", "%#x", "%#X", "%#o", "%8x", "%-8x|", "%08x",
                           "%#08x", "%#8x", "%.5x", "%#.5x", "%.0x", "%#.0x", "%#.0o", "%#10.4X",
                           "%+u", "% u"};
  for (const char* format : formats) {
    for (unsigned value : values) ExpectSameAsLibc(format, value);
  }
}

TEST(FormatTest, RuntimeStyleAddresses) {
  const unsigned long addresses[] = {0, 0x1000, 0xc000012345, 0x7fffffffffff, ~0ul};
  for (unsigned long address : addresses) {
    ExpectSameAsLibc("0x%012lx", address);
    ExpectSameAsLibc("%lx", address);
    ExpectSameAsLibc("%016lx", address);
    ExpectSameAsLibc("[%#lx]", address);
  }
}

TEST(FormatTest, Pointers) {
  int local = 0;
  void* pointers[] = {&local, reinterpret_cast<void*>(0x1234), reinterpret_cast<void*>(~uintptr_t{0}),
                      nullptr};
  for (void* p : pointers) {
    ExpectSameAsLibc("%p", p);
    ExpectSameAsLibc("[%20p]", p);
    ExpectSameAsLibc("[%-20p]", p);
    ExpectSameAsLibc("[%020p]", p);
    ExpectSameAsLibc("[%3p]", p);
  }
}

TEST(FormatTest, CharsAndPercent) {
  ExpectSameAsLibc("%c", 'a');
  ExpectSameAsLibc("[%5c][%-5c][%05c]", 'x', 'y', 'z');
  ExpectSameAsLibc("%c%c%c", 'a', 'b', 'c');
  ExpectSameAsLibc("%%d %% %d%%", 5);
}

TEST(FormatTest, Strings) {
  const char* strings[] = {"", "a", "hello", "a much longer string with spaces"};
  const char* formats[] = {"%s", "[%10s]", "[%-10s]", "[%-40s]", "[%.3s]", "[%10.2s]",
                           "[%-10.2s]", "[%.0s]", "[%05s]", "[%1s]"};
  for (const char* format : formats) {
    for (const char* s : strings) ExpectSameAsLibc(format, s);
  }
}

TEST(FormatTest, StarWidthAndPrecision) {
  ExpectSameAsLibc("[%*d]", 6, 42);
  ExpectSameAsLibc("[%*d]", -6, 42);  // negative width means left-align
  ExpectSameAsLibc("[%-*d]", 6, 42);
  ExpectSameAsLibc("[%.*d]", 4, 42);
  ExpectSameAsLibc("[%.*d]", -4, 42);  // negative precision means none
  ExpectSameAsLibc("[%*.*s]", 8, 3, "abcdef");
  ExpectSameAsLibc("[%.*s]", 3, "xyzzy");
  ExpectSameAsLibc("[%.*s]", 0, "xyzzy");
}

TEST(FormatTest, PrecisionStringNeedNotBeTerminated) {
  const char unterminated[3] = {'a', 'b', 'c'};
  char buf[16];
  EXPECT_EQ(Format(buf, sizeof(buf), "%.*s|", 3, unterminated), 4u);
  EXPECT_STREQ(buf, "abc|");
}

TEST(FormatTest, MixedConversions) {
  ExpectSameAsLibc("Read at 0x%012lx by goroutine %d:", 0xc00001a0b8ul, 7);
  ExpectSameAsLibc("  %s()\n      %s:%d +0x%lx\n", "main.main", "/tmp/x.go", 12, 0x1dul);
  ExpectSameAsLibc("%s=%lld (%5.1s) %c %x %%", "key", -5LL, "value", 'q', 255u);
}

TEST(FormatTest, NullStringPrintsMarker) {
  char buf[64];
  const char* null_string = nullptr;
  EXPECT_EQ(Format(buf, sizeof(buf), "[%s]", null_string), 8u);
  EXPECT_STREQ(buf, "[<null>]");
  Format(buf, sizeof(buf), "[%8s][%-8s][%.3s]", null_string, null_string, null_string);
  EXPECT_STREQ(buf, "[  <null>][<null>  ][<nu]");
}

TEST(FormatTest, UnsupportedConversionIsCopiedLiterally) {
  char buf[64];
  EXPECT_EQ(Format(buf, sizeof(buf), "a%qb%d", 5), 5u);
  EXPECT_STREQ(buf, "a%qb5");
  Format(buf, sizeof(buf), "x%-5.2fy", 1.0);
  EXPECT_STREQ(buf, "x%-5.2fy");
  Format(buf, sizeof(buf), "trailing %");
  EXPECT_STREQ(buf, "trailing %");
  Format(buf, sizeof(buf), "trailing %-0");
  EXPECT_STREQ(buf, "trailing %-0");
}

TEST(FormatTest, TruncationAlwaysTerminatesAndReportsFullLength) {
  const char* format = "%s-%d-%08x";
  char expected[128];
  int full = snprintf(expected, sizeof(expected), format, "abcdef", -1234, 0xbeefu);
  ASSERT_GT(full, 0);
  for (uptr size = 1; size <= static_cast<uptr>(full) + 2; size++) {
    char ours[128];
    char theirs[128];
    memset(ours, 'Q', sizeof(ours));
    memset(theirs, 'Q', sizeof(theirs));
    uptr our_length = Format(ours, size, format, "abcdef", -1234, 0xbeefu);
    snprintf(theirs, size, format, "abcdef", -1234, 0xbeefu);
    EXPECT_EQ(our_length, static_cast<uptr>(full)) << "size " << size;
    EXPECT_EQ(memcmp(ours, theirs, size), 0) << "size " << size;
    EXPECT_EQ(ours[size], 'Q') << "wrote past the buffer, size " << size;
  }
}

TEST(FormatTest, ZeroSizeWritesNothing) {
  char canary = 'Q';
  EXPECT_EQ(Format(&canary, 0, "%d", 12345), 5u);
  EXPECT_EQ(canary, 'Q');
  EXPECT_EQ(Format(nullptr, 0, "%s", "abc"), 3u);
}

// A wide sweep of flag/width/precision combinations for every integer
// conversion, so corner cases nobody thought of still get compared.
TEST(FormatTest, FlagCombinationSweep) {
  const char* flag_sets[] = {"", "-", "0", "+", " ", "#", "-0", "+0", "-+", "#0", "-#", " 0", "+ "};
  const char* widths[] = {"", "1", "4", "12"};
  const char* precisions[] = {"", ".0", ".1", ".5"};
  const char conversions[] = {'d', 'u', 'x', 'X', 'o'};
  const long long values[] = {0, 1, -1, 255, -255, 123456789, INT64_MIN, INT64_MAX};
  for (const char* flags : flag_sets) {
    for (const char* width : widths) {
      for (const char* precision : precisions) {
        for (char conversion : conversions) {
          std::string format = std::string("[%") + flags + width + precision + "ll" + conversion + "]";
          for (long long value : values) ExpectSameAsLibc(format.c_str(), value);
        }
      }
    }
  }
}

#pragma GCC diagnostic pop

TEST(TextBufferTest, ZeroInitializedIsEmpty) {
  alignas(TextBuffer) static unsigned char zeroed[sizeof(TextBuffer)];  // static: zero-filled
  TextBuffer* buffer = reinterpret_cast<TextBuffer*>(zeroed);
  EXPECT_STREQ(buffer->data(), "");
  EXPECT_EQ(buffer->length(), 0u);
  buffer->Append("ok");
  EXPECT_STREQ(buffer->data(), "ok");
  buffer->Reset();
}

TEST(TextBufferTest, AppendVariants) {
  TextBuffer buffer;
  EXPECT_STREQ(buffer.data(), "");
  buffer.Append("abc");
  buffer.Append("defgh", 2);
  buffer.AppendChar('!');
  buffer.AppendF(" %d-%s-%05x", 42, "x", 0xabcu);
  EXPECT_STREQ(buffer.data(), "abcde! 42-x-00abc");
  EXPECT_EQ(buffer.length(), strlen("abcde! 42-x-00abc"));
}

TEST(TextBufferTest, GrowsAcrossManyAppends) {
  TextBuffer buffer;
  std::string expected;
  for (int i = 0; i < 5000; i++) {
    buffer.AppendF("%d,", i);
    expected += std::to_string(i) + ",";
    if (i % 7 == 0) {
      buffer.AppendChar('x');
      expected += 'x';
    }
  }
  EXPECT_EQ(std::string(buffer.data()), expected);
  EXPECT_EQ(buffer.length(), expected.size());
}

TEST(TextBufferTest, LongAppendFBeyondCapacity) {
  TextBuffer buffer;
  buffer.Append("start:");
  std::string long_piece(10000, 'z');
  buffer.AppendF("[%s]", long_piece.c_str());
  EXPECT_EQ(std::string(buffer.data()), "start:[" + long_piece + "]");
}

TEST(TextBufferTest, AppendFThatFitsExactly) {
  TextBuffer buffer;
  buffer.AppendChar('a');  // allocates the initial capacity
  uptr room = buffer.capacity() - buffer.length() - 1;  // leave room for the NUL
  std::string piece(room, 'b');
  buffer.AppendF("%s", piece.c_str());
  EXPECT_EQ(std::string(buffer.data()), "a" + piece);
  buffer.AppendF("%s", "c");
  EXPECT_EQ(std::string(buffer.data()), "a" + piece + "c");
}

TEST(TextBufferTest, AppendEmptyFormatDoesNotAllocate) {
  TextBuffer buffer;
  buffer.AppendF("%s", "");
  buffer.Append("");
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_STREQ(buffer.data(), "");
}

TEST(TextBufferTest, AppendOwnContents) {
  TextBuffer buffer;
  buffer.Append("0123456789");
  for (int i = 0; i < 8; i++) buffer.Append(buffer.data(), buffer.length());  // forces regrowth
  EXPECT_EQ(buffer.length(), 10u << 8);
  for (uptr i = 0; i < buffer.length(); i++) ASSERT_EQ(buffer.data()[i], '0' + static_cast<char>(i % 10));
}

TEST(TextBufferTest, ClearKeepsCapacityResetFrees) {
  uptr allocated_before = InternalAllocatedBytesForTesting();
  {
    TextBuffer buffer;
    buffer.Append(std::string(1000, 'a').c_str());
    uptr capacity = buffer.capacity();
    EXPECT_GE(capacity, 1001u);
    buffer.Clear();
    EXPECT_EQ(buffer.length(), 0u);
    EXPECT_STREQ(buffer.data(), "");
    EXPECT_EQ(buffer.capacity(), capacity);
    buffer.Append("b");
    EXPECT_STREQ(buffer.data(), "b");
    buffer.Reset();
    EXPECT_EQ(buffer.capacity(), 0u);
    EXPECT_STREQ(buffer.data(), "");
    buffer.Append("again");
    EXPECT_STREQ(buffer.data(), "again");
  }  // destructor frees
  EXPECT_EQ(InternalAllocatedBytesForTesting(), allocated_before);
}

}  // namespace
}  // namespace racert
