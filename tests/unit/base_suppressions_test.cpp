// Suppression files: parsing and pattern matching (base/suppressions.h).
#include "base/suppressions.h"

#include <gtest/gtest.h>

#include <string>

namespace racert {
namespace {

bool Matches(const char* pattern, const char* text) { return SuppressionPatternMatches(pattern, text); }

TEST(SuppressionPattern, PlainPatternMatchesAnywhere) {
  EXPECT_TRUE(Matches("main.writer", "main.writer"));
  EXPECT_TRUE(Matches("writer", "main.writer"));
  EXPECT_TRUE(Matches("main", "main.writer"));
  EXPECT_TRUE(Matches("supp/main.go", "/tmp/supp/main.go"));
  EXPECT_FALSE(Matches("fmt", "main.writer"));
  EXPECT_FALSE(Matches("main.writerX", "main.writer"));
}

TEST(SuppressionPattern, EmptyTextNeverMatches) {
  EXPECT_FALSE(Matches("", ""));
  EXPECT_FALSE(Matches("*", ""));
  EXPECT_FALSE(Matches("x", nullptr));
}

TEST(SuppressionPattern, EmptyAndStarPatternsMatchEverything) {
  EXPECT_TRUE(Matches("", "main.main"));
  EXPECT_TRUE(Matches("*", "main.main"));
  EXPECT_TRUE(Matches("**", "x"));
  EXPECT_TRUE(Matches("^", "x"));
}

TEST(SuppressionPattern, StarJoinsPieces) {
  EXPECT_TRUE(Matches("*writer", "main.writer"));
  EXPECT_TRUE(Matches("main.*er", "main.writer"));
  EXPECT_TRUE(Matches("m*n.w*r", "main.writer"));
  EXPECT_FALSE(Matches("writer*main", "main.writer"));
  EXPECT_TRUE(Matches("net/http.*ServeHTTP", "net/http.(*ServeMux).ServeHTTP"));
}

TEST(SuppressionPattern, CaretTiesTheFirstPieceToTheStart) {
  EXPECT_TRUE(Matches("^main.writer", "main.writer"));
  EXPECT_FALSE(Matches("^writer", "main.writer"));
  EXPECT_TRUE(Matches("^*writer", "main.writer"));  // a star releases the tie
  EXPECT_TRUE(Matches("^main*writer", "main.writer"));
  EXPECT_TRUE(Matches("a^b", "xa^b"));  // '^' elsewhere is an ordinary character
}

TEST(SuppressionPattern, DollarEndsThePattern) {
  EXPECT_TRUE(Matches("writer$", "main.writer"));
  EXPECT_FALSE(Matches("main.wr$", "main.writer"));
  EXPECT_TRUE(Matches("writ*$", "main.writer"));  // star before '$': anything may follow
  EXPECT_FALSE(Matches("$", "x"));
  EXPECT_TRUE(Matches("^main.writer$", "main.writer"));
  EXPECT_FALSE(Matches("^main$", "main.writer"));
  // Whatever follows '$' is never looked at.
  EXPECT_TRUE(Matches("main$zzz", "main"));
}

TEST(SuppressionPattern, PiecesAreFoundAtTheirFirstOccurrenceWithoutBacktracking) {
  // The first "ab" is not at the end, and the search does not try the second.
  EXPECT_FALSE(Matches("ab$", "abab"));
  EXPECT_FALSE(Matches("*ab$", "abab"));
  EXPECT_FALSE(Matches("a*b$", "abab"));
  // A piece that runs past the end of the text fails.
  EXPECT_FALSE(Matches("writer*x", "main.writer"));
}

struct Parsed {
  bool ok;
  SuppressionParseError error;
  SuppressionList* list;
};

class SuppressionParseTest : public ::testing::Test {
 protected:
  Parsed Parse(const std::string& text) {
    list_ = static_cast<SuppressionList*>(InternalAlloc(sizeof(SuppressionList)));
    new (list_) SuppressionList();
    Parsed p{};
    p.ok = list_->Parse(text.data(), text.size(), &p.error);
    p.list = list_;
    return p;
  }
  void TearDown() override {
    if (list_) {
      list_->~SuppressionList();
      InternalFree(list_, sizeof(SuppressionList));
    }
  }
  SuppressionList* list_ = nullptr;
};

TEST_F(SuppressionParseTest, EntriesWithTypesPatternsAndLines) {
  Parsed p = Parse("# comment\n\n   \nrace:main.writer\n  race_top:main.main  \r\nmutex:m\nrace:\n");
  ASSERT_TRUE(p.ok) << p.error.reason;
  ASSERT_EQ(p.list->size(), 4u);
  EXPECT_EQ((*p.list)[0].type, SuppressionType::kRace);
  EXPECT_STREQ((*p.list)[0].pattern, "main.writer");
  EXPECT_EQ((*p.list)[0].line, 4u);
  EXPECT_EQ((*p.list)[1].type, SuppressionType::kRaceTop);
  EXPECT_STREQ((*p.list)[1].pattern, "main.main");
  EXPECT_EQ((*p.list)[1].line, 5u);
  EXPECT_EQ((*p.list)[2].type, SuppressionType::kMutex);
  EXPECT_STREQ((*p.list)[3].pattern, "");
  EXPECT_TRUE(p.list->HasType(SuppressionType::kRace));
  EXPECT_FALSE(p.list->HasType(SuppressionType::kThread));
}

TEST_F(SuppressionParseTest, PatternKeepsInnerSpacesAndCommentCharacters) {
  Parsed p = Parse("race:main.writer # not a comment\nrace:\tx\n");
  ASSERT_TRUE(p.ok);
  EXPECT_STREQ((*p.list)[0].pattern, "main.writer # not a comment");
  EXPECT_STREQ((*p.list)[1].pattern, "\tx");
}

TEST_F(SuppressionParseTest, LastLineWithoutNewlineAndEmptyFile) {
  Parsed p = Parse("race:a\nrace:b");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.list->size(), 2u);
  EXPECT_STREQ((*p.list)[1].pattern, "b");
  EXPECT_EQ((*p.list)[1].line, 2u);
  Parsed empty = Parse("");
  EXPECT_TRUE(empty.ok);
  EXPECT_EQ(empty.list->size(), 0u);
}

TEST_F(SuppressionParseTest, AllOfficialTypesAreAccepted) {
  Parsed p = Parse("thread:a\nsignal:b\ncalled_from_lib:c\ndeadlock:d\n");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ((*p.list)[0].type, SuppressionType::kThread);
  EXPECT_EQ((*p.list)[1].type, SuppressionType::kSignal);
  EXPECT_EQ((*p.list)[2].type, SuppressionType::kCalledFromLib);
  EXPECT_EQ((*p.list)[3].type, SuppressionType::kDeadlock);
}

TEST_F(SuppressionParseTest, UnknownTypeNamesTheLineAndTheType) {
  Parsed p = Parse("race:ok\n\nfoo:bar\nrace:never\n");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.line, 3u);
  EXPECT_STREQ(p.error.text, "foo:bar");
  EXPECT_NE(std::string(p.error.reason).find("unknown suppression type 'foo'"), std::string::npos) << p.error.reason;
}

TEST_F(SuppressionParseTest, TypesAreExactAndCaseSensitive) {
  for (const char* line : {"RACE:x", "race :x", "races:x", "interceptor_via_fun:x", "race_to:x"}) {
    Parsed p = Parse(std::string(line) + "\n");
    EXPECT_FALSE(p.ok) << line;
    EXPECT_EQ(p.error.line, 1u) << line;
  }
}

TEST_F(SuppressionParseTest, LineWithoutColonSaysSo) {
  Parsed p = Parse("  race main.writer\n");
  ASSERT_FALSE(p.ok);
  EXPECT_EQ(p.error.line, 1u);
  EXPECT_STREQ(p.error.text, "race main.writer");
  EXPECT_NE(std::string(p.error.reason).find("TYPE:PATTERN"), std::string::npos) << p.error.reason;
}

TEST_F(SuppressionParseTest, NulEndsTheText) {
  std::string text("race:a\n", 7);
  text += '\0';
  text += "bogus\n";
  Parsed p = Parse(text);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.list->size(), 1u);
}

TEST_F(SuppressionParseTest, FindReturnsTheFirstMatchInFileOrder) {
  Parsed p = Parse("race_top:main\nrace:other\nrace:main\nrace:main.writer\n");
  ASSERT_TRUE(p.ok);
  Suppression* found = p.list->Find(SuppressionType::kRace, "main.writer");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->line, 3u);
  EXPECT_EQ(p.list->Find(SuppressionType::kRace, "fmt.Println"), nullptr);
  EXPECT_EQ(p.list->Find(SuppressionType::kThread, "main.writer"), nullptr);
  Suppression* top = p.list->Find(SuppressionType::kRaceTop, "main.main");
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->line, 1u);
}

}  // namespace
}  // namespace racert
