#include "base/flag_parser.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <string.h>

#include <string>

namespace racert {
namespace {

// A flag table like the runtime's GORACE table, with test defaults.
class FlagParserTest : public ::testing::Test {
 protected:
  bool halt_on_error = false;
  bool report_atomic_races = true;
  s64 exitcode = 66;
  s64 atexit_sleep_ms = 1000;
  const char* log_path = nullptr;
  const char* strip_path_prefix = "";
  FlagDescriptor flags[6] = {
      {"halt_on_error", FlagKind::kBool, &halt_on_error, "Exit after the first report"},
      {"report_atomic_races", FlagKind::kBool, &report_atomic_races, "Report atomic races"},
      {"exitcode", FlagKind::kInt, &exitcode, "Exit status when races were found"},
      {"atexit_sleep_ms", FlagKind::kInt, &atexit_sleep_ms, "Sleep in fini"},
      {"log_path", FlagKind::kString, &log_path, "Write reports here"},
      {"strip_path_prefix", FlagKind::kString, &strip_path_prefix, "Strip this from paths"},
  };
  FlagParseResult result;

  bool Parse(const char* text) {
    // Poison the result so stale fields would be noticed.
    memset(&result, 0x7f, sizeof(result));
    return ParseFlags(text, flags, 6, &result);
  }

  void ExpectError(const char* text, const char* message) {
    EXPECT_FALSE(Parse(text)) << text;
    EXPECT_FALSE(result.ok);
    EXPECT_STREQ(result.error, message) << "input: " << text;
  }
};

TEST_F(FlagParserTest, NullAndEmptyInputsAreFine) {
  EXPECT_TRUE(Parse(nullptr));
  EXPECT_TRUE(result.ok);
  EXPECT_STREQ(result.error, "");
  EXPECT_EQ(result.unknown_count, 0u);
  EXPECT_EQ(result.unknown_dropped, 0u);
  EXPECT_TRUE(Parse(""));
  EXPECT_TRUE(Parse("  ,: \t\n "));
  EXPECT_FALSE(halt_on_error);
  EXPECT_EQ(exitcode, 66);
}

TEST_F(FlagParserTest, AllKinds) {
  ASSERT_TRUE(Parse("halt_on_error=1 exitcode=3 log_path=/tmp/race atexit_sleep_ms=0"));
  EXPECT_TRUE(halt_on_error);
  EXPECT_EQ(exitcode, 3);
  EXPECT_EQ(atexit_sleep_ms, 0);
  EXPECT_STREQ(log_path, "/tmp/race");
  EXPECT_EQ(result.unknown_count, 0u);
}

TEST_F(FlagParserTest, BoolSpellings) {
  const struct {
    const char* text;
    bool value;
  } cases[] = {{"1", true},     {"true", true}, {"yes", true},
               {"0", false},    {"false", false}, {"no", false}};
  for (const auto& c : cases) {
    halt_on_error = !c.value;
    std::string text = std::string("halt_on_error=") + c.text;
    ASSERT_TRUE(Parse(text.c_str())) << text << ": " << result.error;
    EXPECT_EQ(halt_on_error, c.value) << text;
  }
}

TEST_F(FlagParserTest, IntSyntax) {
  const struct {
    const char* text;
    s64 value;
  } cases[] = {{"0", 0},
               {"42", 42},
               {"-7", -7},
               {"0x10", 16},
               {"0XfF", 255},
               {"-0x20", -32},
               {"007", 7},
               {"9223372036854775807", INT64_MAX},
               {"-9223372036854775808", INT64_MIN},
               {"0x7fffffffffffffff", INT64_MAX}};
  for (const auto& c : cases) {
    std::string text = std::string("exitcode=") + c.text;
    ASSERT_TRUE(Parse(text.c_str())) << text << ": " << result.error;
    EXPECT_EQ(exitcode, c.value) << text;
  }
}

TEST_F(FlagParserTest, AllSeparators) {
  ASSERT_TRUE(Parse(" halt_on_error=1,exitcode=5:atexit_sleep_ms=7\tlog_path=x\nreport_atomic_races=0 "));
  EXPECT_TRUE(halt_on_error);
  EXPECT_EQ(exitcode, 5);
  EXPECT_EQ(atexit_sleep_ms, 7);
  EXPECT_STREQ(log_path, "x");
  EXPECT_FALSE(report_atomic_races);
  ASSERT_TRUE(Parse(",,,exitcode=8::: ,\n"));
  EXPECT_EQ(exitcode, 8);
}

TEST_F(FlagParserTest, QuotedValues) {
  ASSERT_TRUE(Parse("log_path=\"/tmp/a b,c:d\" strip_path_prefix='/x y/'"));
  EXPECT_STREQ(log_path, "/tmp/a b,c:d");
  EXPECT_STREQ(strip_path_prefix, "/x y/");
  ASSERT_TRUE(Parse("log_path='say \"hi\"' exitcode=\"12\""));
  EXPECT_STREQ(log_path, "say \"hi\"");
  EXPECT_EQ(exitcode, 12);
  ASSERT_TRUE(Parse("log_path=\"\""));
  EXPECT_STREQ(log_path, "");
  ASSERT_TRUE(Parse("halt_on_error='true',exitcode='0x3'"));
  EXPECT_TRUE(halt_on_error);
  EXPECT_EQ(exitcode, 3);
}

TEST_F(FlagParserTest, ValuesMayContainEqualsAndEmptyStrings) {
  ASSERT_TRUE(Parse("log_path=a=b strip_path_prefix="));
  EXPECT_STREQ(log_path, "a=b");
  EXPECT_STREQ(strip_path_prefix, "");
}

TEST_F(FlagParserTest, LaterOccurrencesOverride) {
  ASSERT_TRUE(Parse("exitcode=1 log_path=first exitcode=2 halt_on_error=1 log_path=second halt_on_error=0"));
  EXPECT_EQ(exitcode, 2);
  EXPECT_STREQ(log_path, "second");
  EXPECT_FALSE(halt_on_error);
}

TEST_F(FlagParserTest, StringsAreCopied) {
  char text[] = "log_path=abc";
  ASSERT_TRUE(Parse(text));
  text[9] = 'X';
  EXPECT_STREQ(log_path, "abc");
}

TEST_F(FlagParserTest, UnknownNamesAreRecordedNotErrors) {
  ASSERT_TRUE(Parse("color=always exitcode=4 handle_segv=0 verbosity='2 3'"));
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(exitcode, 4);
  ASSERT_EQ(result.unknown_count, 3u);
  EXPECT_STREQ(result.unknown[0], "color");
  EXPECT_STREQ(result.unknown[1], "handle_segv");
  EXPECT_STREQ(result.unknown[2], "verbosity");
  EXPECT_EQ(result.unknown_dropped, 0u);
}

TEST_F(FlagParserTest, UnknownNameOverflowAndTruncation) {
  std::string text;
  for (int i = 0; i < 20; i++) text += "u" + std::to_string(i) + "=1 ";
  std::string long_name(100, 'n');
  text += long_name + "=1";
  ASSERT_TRUE(Parse(text.c_str()));
  EXPECT_EQ(result.unknown_count, 16u);
  EXPECT_EQ(result.unknown_dropped, 5u);
  EXPECT_STREQ(result.unknown[15], "u15");

  ASSERT_TRUE(Parse((long_name + "=1").c_str()));
  ASSERT_EQ(result.unknown_count, 1u);
  EXPECT_EQ(std::string(result.unknown[0]), std::string(63, 'n'));
}

TEST_F(FlagParserTest, NamesMustMatchExactly) {
  ASSERT_TRUE(Parse("exitcod=1 exitcodes=2 EXITCODE=3"));
  EXPECT_EQ(exitcode, 66);
  EXPECT_EQ(result.unknown_count, 3u);
}

TEST_F(FlagParserTest, ErrorMissingEquals) {
  ExpectError("halt_on_error", "expected '=' after 'halt_on_error' at position 1");
  ExpectError("a=1 halt_on_error", "expected '=' after 'halt_on_error' at position 5");
  ExpectError("exitcode=1,verbose,exitcode=2", "expected '=' after 'verbose' at position 12");
  // The error stops parsing: the later exitcode is not applied.
  EXPECT_EQ(exitcode, 1);
}

TEST_F(FlagParserTest, ErrorEmptyName) {
  ExpectError("=5", "empty flag name before '=' at position 1");
  ExpectError("exitcode=2 =x", "empty flag name before '=' at position 12");
}

TEST_F(FlagParserTest, ErrorBadBool) {
  ExpectError("halt_on_error=maybe",
              "invalid value 'maybe' for bool flag 'halt_on_error' at position 15: expected 0, 1, "
              "true or false");
  ExpectError("halt_on_error=2",
              "invalid value '2' for bool flag 'halt_on_error' at position 15: expected 0, 1, true "
              "or false");
  ExpectError("x=1 halt_on_error=TRUE",
              "invalid value 'TRUE' for bool flag 'halt_on_error' at position 19: expected 0, 1, "
              "true or false");
  ExpectError("report_atomic_races=",
              "invalid value '' for bool flag 'report_atomic_races' at position 21: expected 0, 1, "
              "true or false");
  ExpectError("halt_on_error='tru e'",
              "invalid value 'tru e' for bool flag 'halt_on_error' at position 15: expected 0, 1, "
              "true or false");
}

TEST_F(FlagParserTest, ErrorBadInt) {
  const char* suffix = ": expected a 64-bit decimal or 0x-prefixed hexadecimal integer";
  const struct {
    const char* text;
    const char* shown;
  } cases[] = {{"exitcode=abc", "abc"},   {"exitcode=", ""},
               {"exitcode=12x", "12x"},   {"exitcode=0x", "0x"},
               {"exitcode=-", "-"},       {"exitcode=1.5", "1.5"},
               {"exitcode=+3", "+3"},     {"exitcode=0xg", "0xg"},
               {"exitcode=9223372036854775808", "9223372036854775808"},
               {"exitcode=-9223372036854775809", "-9223372036854775809"},
               {"exitcode=0x10000000000000000", "0x10000000000000000"},
               {"exitcode=99999999999999999999999", "99999999999999999999999"}};
  for (const auto& c : cases) {
    std::string expected =
        std::string("invalid value '") + c.shown + "' for int flag 'exitcode' at position 10" + suffix;
    ExpectError(c.text, expected.c_str());
  }
}

TEST_F(FlagParserTest, ErrorUnterminatedQuote) {
  ExpectError("log_path=\"abc def", "unterminated \" quote in the value of 'log_path' at position 10");
  ExpectError("exitcode=1 log_path='x", "unterminated ' quote in the value of 'log_path' at position 21");
  // Unknown flags must still be well-formed.
  ExpectError("nosuch=\"x", "unterminated \" quote in the value of 'nosuch' at position 8");
}

TEST_F(FlagParserTest, ErrorTextAfterClosingQuote) {
  ExpectError("log_path=\"abc\"def",
              "unexpected 'd' after the quoted value of 'log_path' at position 15");
}

TEST_F(FlagParserTest, EarlierFlagsStayAppliedAfterAnError) {
  ExpectError("exitcode=9 halt_on_error=nah exitcode=10",
              "invalid value 'nah' for bool flag 'halt_on_error' at position 26: expected 0, 1, "
              "true or false");
  EXPECT_EQ(exitcode, 9);
}

TEST_F(FlagParserTest, ResultIsResetBetweenParses) {
  ExpectError("bad", "expected '=' after 'bad' at position 1");
  ASSERT_TRUE(Parse("u=1"));
  EXPECT_STREQ(result.error, "");
  EXPECT_EQ(result.unknown_count, 1u);
  ASSERT_TRUE(Parse("exitcode=1"));
  EXPECT_EQ(result.unknown_count, 0u);
}

TEST_F(FlagParserTest, LongValueInErrorIsTruncatedSafely) {
  std::string value(2000, 'v');
  EXPECT_FALSE(Parse(("exitcode=" + value).c_str()));
  EXPECT_EQ(strlen(result.error), sizeof(result.error) - 1);
  EXPECT_EQ(std::string(result.error).rfind("invalid value 'vvvv", 0), 0u);
}

TEST_F(FlagParserTest, HelpListsEveryFlagWithItsCurrentValue) {
  ASSERT_TRUE(Parse("exitcode=-3 halt_on_error=1 strip_path_prefix=/src/"));
  TextBuffer out;
  AppendFlagHelp(&out, flags, 6);
  EXPECT_STREQ(out.data(),
               "\thalt_on_error\n\t\t- Exit after the first report (current value: true)\n"
               "\treport_atomic_races\n\t\t- Report atomic races (current value: true)\n"
               "\texitcode\n\t\t- Exit status when races were found (current value: -3)\n"
               "\tatexit_sleep_ms\n\t\t- Sleep in fini (current value: 1000)\n"
               "\tlog_path\n\t\t- Write reports here (current value: )\n"
               "\tstrip_path_prefix\n\t\t- Strip this from paths (current value: /src/)\n");
}

// A callback flag (include=FILE) runs where it appears, so flags after it win.
struct IncludeLog {
  std::string values;
  s64* exitcode;
};

bool RecordInclude(const char* value, void* context, char* error, uptr error_size) {
  IncludeLog* log = static_cast<IncludeLog*>(context);
  if (strcmp(value, "bad") == 0) {
    snprintf(error, error_size, "cannot read '%s'", value);
    return false;
  }
  log->values += std::string(value) + ";";
  *log->exitcode = 7;  // what the included file would set
  return true;
}

TEST(FlagParserCallback, RunsInOrderAndStopsOnFailure) {
  s64 exitcode = 66;
  IncludeLog log{"", &exitcode};
  FlagCallback callback{RecordInclude, &log};
  FlagDescriptor flags[2] = {
      {"exitcode", FlagKind::kInt, &exitcode, "status"},
      {"include", FlagKind::kCallback, &callback, "more options"},
  };
  FlagParseResult result;
  ASSERT_TRUE(ParseFlags("exitcode=1 include=a include='b c'", flags, 2, &result));
  EXPECT_EQ(log.values, "a;b c;");
  EXPECT_EQ(exitcode, 7);
  ASSERT_TRUE(ParseFlags("include=a exitcode=3", flags, 2, &result));
  EXPECT_EQ(exitcode, 3) << "a flag after include overrides it";
  EXPECT_FALSE(ParseFlags("exitcode=4 include=bad exitcode=5", flags, 2, &result));
  EXPECT_STREQ(result.error, "cannot read 'bad' (include at position 20)");
  EXPECT_EQ(exitcode, 4) << "nothing after the failing include is applied";
  TextBuffer help;
  AppendFlagHelp(&help, flags, 2);
  EXPECT_STREQ(help.data(), "\texitcode\n\t\t- status (current value: 4)\n\tinclude\n\t\t- more options\n");
}

}  // namespace
}  // namespace racert
