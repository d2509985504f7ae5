// The version the object prints is the VERSION file's line, which the racert
// tool reads too (tests/e2e/test_racert_cli.py checks the tool's side).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "go_api/version.h"

namespace racert::go_api {
namespace {

TEST(Version, IsTheVersionFilesLine) {
  std::ifstream file(RACERT_SOURCE_DIR "/VERSION");
  ASSERT_TRUE(file.is_open());
  std::string line;
  std::getline(file, line);
  EXPECT_EQ(std::string(kRacertVersion), line);
  EXPECT_FALSE(line.empty());
}

}  // namespace
}  // namespace racert::go_api
