#include <gtest/gtest.h>

#include "hub/http_util.h"

namespace tern::hub {
namespace {

TEST(HubTarget, SplitsAndDecodes) {
  auto t = ParseTarget("/v1/models/my%20model/versions?limit=5&q=a+b&flag");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->path, (std::vector<std::string>{"v1", "models", "my model", "versions"}));
  EXPECT_EQ(t->query["limit"], "5");
  EXPECT_EQ(t->query["q"], "a b");
  EXPECT_EQ(t->query.count("flag"), 1u);
  auto root = ParseTarget("/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->path.empty());
}

TEST(HubTarget, RefusesPathTricks) {
  for (const char* bad :
       {"/v1/blobs/../../etc/passwd", "/v1/%2e%2e/x", "/v1/%2E%2e/x", "/v1/./health", "/v1/.",
        "/v1/blobs/a%2fb", "/v1/blobs/a%5cb", "/v1//health", "/v1/health/", "v1/health",
        "http://evil/v1/health", "*", "/v1/blobs/%00", "/v1/a%zz", "/v1/a%4", "/v1/a\\b",
        "/v1/a%0a"}) {
    EXPECT_FALSE(ParseTarget(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseTarget("/" + std::string(5000, 'a')).ok());
}

TEST(HubRange, SingleRanges) {
  ByteRange r;
  EXPECT_EQ(EvaluateRange("", 100, &r), RangeKind::kNone);
  EXPECT_EQ(EvaluateRange("bytes=0-9", 100, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 10u);
  EXPECT_EQ(EvaluateRange("bytes=90-", 100, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 90u);
  EXPECT_EQ(r.length, 10u);
  EXPECT_EQ(EvaluateRange("bytes=90-500", 100, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.length, 10u);
  EXPECT_EQ(EvaluateRange("bytes=-30", 100, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 70u);
  EXPECT_EQ(r.length, 30u);
  EXPECT_EQ(EvaluateRange("bytes=-300", 100, &r), RangeKind::kSatisfiable);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 100u);
}

TEST(HubRange, UnsatisfiableAndIgnored) {
  ByteRange r;
  EXPECT_EQ(EvaluateRange("bytes=100-", 100, &r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=200-300", 100, &r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=-0", 100, &r), RangeKind::kUnsatisfiable);
  EXPECT_EQ(EvaluateRange("bytes=0-", 0, &r), RangeKind::kUnsatisfiable);
  // Not served as ranges: the whole body is sent.
  EXPECT_EQ(EvaluateRange("bytes=0-1,5-6", 100, &r), RangeKind::kNone);
  EXPECT_EQ(EvaluateRange("items=0-1", 100, &r), RangeKind::kNone);
  EXPECT_EQ(EvaluateRange("bytes=5-1", 100, &r), RangeKind::kNone);
  EXPECT_EQ(EvaluateRange("bytes=a-b", 100, &r), RangeKind::kNone);
  EXPECT_EQ(EvaluateRange("bytes=99999999999999999999-", 100, &r), RangeKind::kNone);
}

TEST(HubEtag, IfNoneMatch) {
  EXPECT_TRUE(IfNoneMatchMatches("\"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(IfNoneMatchMatches("*", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(IfNoneMatchMatches("abc", "\"abc\""));
}

TEST(HubJson, ErrorBody) {
  HttpResponse r = ErrorResponse(404, "no \"such\" thing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no \\\"such\\\" thing\"}\n");
}

}  // namespace
}  // namespace tern::hub
