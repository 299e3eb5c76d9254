#include <gtest/gtest.h>

#include "fleet/canonical_json.h"

namespace tern::fleet {
namespace {

std::string Canon(const char* text) {
  auto j = ParseJson(text);
  EXPECT_TRUE(j.ok()) << text;
  auto c = CanonicalJson(*j);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : "";
}

TEST(FleetCanonicalJson, SortsKeysAndDropsWhitespace) {
  EXPECT_EQ(Canon(R"({ "b": 1, "a": [true, false, null], "c": {"z": "x", "y": -3} })"),
            R"({"a":[true,false,null],"b":1,"c":{"y":-3,"z":"x"}})");
}

TEST(FleetCanonicalJson, SortsByBytes) {
  // "B" (0x42) < "a" (0x61) < "é" (0xC3 0xA9).
  EXPECT_EQ(Canon(R"({"é":1,"a":2,"B":3})"), "{\"B\":3,\"a\":2,\"\xC3\xA9\":1}");
}

TEST(FleetCanonicalJson, EscapesOnlyWhatItMust) {
  EXPECT_EQ(Canon(R"(["q\"b\\s/\u0001\n\u00e9"])"), "[\"q\\\"b\\\\s/\\u0001\\u000a\xC3\xA9\"]");
}

TEST(FleetCanonicalJson, IntegersAndRefusedFloats) {
  EXPECT_EQ(Canon("[0,-1,18446744073709551615,-9223372036854775808]"),
            "[0,-1,18446744073709551615,-9223372036854775808]");
  auto j = ParseJson("[1.5]");
  ASSERT_TRUE(j.ok());
  EXPECT_FALSE(CanonicalJson(*j).ok());
}

TEST(FleetCanonicalJson, RefusesInvalidUtf8) {
  Json j = std::string("\xC0\xAF");  // overlong '/'
  EXPECT_FALSE(CanonicalJson(j).ok());
  Json s = std::string("\xED\xA0\x80");  // surrogate
  EXPECT_FALSE(CanonicalJson(s).ok());
  Json k = Json::object();
  k[std::string("\xFF")] = 1;
  EXPECT_FALSE(CanonicalJson(k).ok());
}

TEST(FleetCanonicalJson, SameValueSameBytes) {
  EXPECT_EQ(Canon(R"({"x":{"b":[1,2],"a":"s"}})"), Canon(R"({"x":{"a":"s","b":[1,2]}})"));
}

TEST(FleetCanonicalJson, ParseErrorsAreValues) {
  EXPECT_FALSE(ParseJson("{").ok());
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("{\"a\":1}x").ok());
  EXPECT_FALSE(ParseJson("\"\xFF\"").ok());
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep, 64).ok());
  EXPECT_TRUE(ParseJson(deep, 128).ok());
}

}  // namespace
}  // namespace tern::fleet
