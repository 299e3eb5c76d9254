// zstd patches (delta updates): round trips, and refusals of patches that do not fit.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "fleet/delta.h"

namespace tern::fleet {
namespace {

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(FleetDelta, SmallEditsGiveSmallPatchesThatReproduceTheTarget) {
  const std::string base = Random(400000, 1);  // incompressible on its own
  std::string target = base;
  for (size_t i = 1000; i < target.size(); i += 40000) target[i] ^= 0x5a;
  target.insert(200000, "a few inserted bytes");
  auto patch = MakeDelta(base, target);
  ASSERT_TRUE(patch.ok()) << patch.status().ToString();
  EXPECT_LT(patch->size(), 2000u) << "the unchanged bytes come from the base";
  auto out = ApplyDelta(base, *patch, target.size());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(*out == target);
}

TEST(FleetDelta, BadPatchesAreRefused) {
  const std::string base = Random(100000, 2);
  std::string target = base;
  target[5] ^= 1;
  auto patch = MakeDelta(base, target);
  ASSERT_TRUE(patch.ok());
  // Wrong expected size, either way.
  EXPECT_FALSE(ApplyDelta(base, *patch, target.size() - 1).ok());
  EXPECT_FALSE(ApplyDelta(base, *patch, target.size() + 1).ok());
  // Truncated, garbage, empty.
  EXPECT_FALSE(ApplyDelta(base, patch->substr(0, patch->size() / 2), target.size()).ok());
  EXPECT_FALSE(ApplyDelta(base, Random(300, 3), target.size()).ok());
  EXPECT_FALSE(ApplyDelta(base, "", target.size()).ok());
  // Applied to another base it decodes to something else (the caller's hash check catches it).
  auto other = ApplyDelta(Random(100000, 4), *patch, target.size());
  EXPECT_TRUE(!other.ok() || *other != target);
  // A patch that expands far beyond the expected size stops at the bound.
  auto bomb = MakeDelta("", std::string(50 << 20, 'x'));
  ASSERT_TRUE(bomb.ok());
  EXPECT_FALSE(ApplyDelta("", *bomb, 1000).ok());
}

}  // namespace
}  // namespace tern::fleet
