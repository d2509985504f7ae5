#include "base/fatal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "base/check.h"

namespace racert {
namespace {

class FatalDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(FatalDeathTest, PrintsPrefixAndExitsWith66ByDefault) {
  EXPECT_EXIT(Fatal("bad thing %d in %s", 42, "place"), ::testing::ExitedWithCode(66),
              "^racert: FATAL: bad thing 42 in place\n$");
}

TEST_F(FatalDeathTest, UsesConfiguredExitCode) {
  EXPECT_EXIT(
      {
        SetFatalExitCode(3);
        Fatal("x");
      },
      ::testing::ExitedWithCode(3), "racert: FATAL: x");
}

TEST_F(FatalDeathTest, LongMessageIsTruncatedButEndsWithNewline) {
  std::string long_text(5000, 'y');
  EXPECT_EXIT(Fatal("%s", long_text.c_str()), ::testing::ExitedWithCode(66),
              "^racert: FATAL: y+\n$");
}

TEST_F(FatalDeathTest, CheckReportsFileLineAndExpression) {
  int value = 3;
  EXPECT_EXIT(RACERT_CHECK(value == 4), ::testing::ExitedWithCode(66),
              "racert: FATAL: .*base_fatal_test.cpp:[0-9]+: CHECK failed: value == 4\n");
}

TEST_F(FatalDeathTest, CheckMsgAddsTheExplanation) {
  int value = 3;
  EXPECT_EXIT(RACERT_CHECK_MSG(value > 10, "value was %d", value), ::testing::ExitedWithCode(66),
              "racert: FATAL: .*base_fatal_test.cpp:[0-9]+: CHECK failed: value > 10: value was 3\n");
}

TEST(FatalTest, PassingChecksDoNothing) {
  int evaluations = 0;
  RACERT_CHECK(++evaluations == 1);
  RACERT_CHECK_MSG(++evaluations == 2, "never printed %d", evaluations);
  EXPECT_EQ(evaluations, 2);
}

TEST(FatalTest, DcheckEvaluatesOnlyInDebugBuilds) {
  int evaluations = 0;
  RACERT_DCHECK(++evaluations > 0);
#if defined(RACERT_DEBUG)
  EXPECT_EQ(evaluations, 1);
#else
  EXPECT_EQ(evaluations, 0);
#endif
}

TEST(FatalTest, WriteToStderrWritesToFd2) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  int saved = dup(2);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(dup2(fds[1], 2), 2);
  WriteToStderr("to stderr", 9);
  dup2(saved, 2);
  close(saved);
  close(fds[1]);
  char buf[32] = {};
  EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 9);
  close(fds[0]);
  EXPECT_STREQ(buf, "to stderr");
}

TEST(FatalTest, ExitCodeDefaultAndSetter) {
  int original = FatalExitCode();
  EXPECT_EQ(original, 66);
  SetFatalExitCode(12);
  EXPECT_EQ(FatalExitCode(), 12);
  SetFatalExitCode(original);
}

}  // namespace
}  // namespace racert
