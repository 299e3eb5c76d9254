#include <gtest/gtest.h>

#include "fleet/metadata.h"
#include "fleet/trust.h"

namespace tern::fleet {
namespace {

constexpr int64_t kNow = 1750000000;  // 2025-06-15
constexpr int64_t kDay = 86400;

KeyPair NewKey() {
  auto k = KeyPair::Generate();
  EXPECT_TRUE(k.ok());
  return *k;
}

struct Keys {
  KeyPair root = NewKey();
  KeyPair targets = NewKey();
};

Json MakeRoot(int64_t version, const KeyPair& root, const KeyPair& targets,
              const std::vector<const KeyPair*>& signers, int64_t expires = kNow + 365 * kDay) {
  RootMetadata r;
  r.version = version;
  r.expires = expires;
  r.keys[root.KeyId()] = root.public_key();
  r.keys[targets.KeyId()] = targets.public_key();
  r.root.keyids = {root.KeyId()};
  r.targets.keyids = {targets.KeyId()};
  auto env = SignEnvelope(r.ToJson(), signers);
  EXPECT_TRUE(env.ok());
  return *env;
}

TargetsMetadata MakeTargets(int64_t version, const std::string& model_version = "1.0.0",
                            int64_t expires = kNow + 30 * kDay) {
  TargetsMetadata t;
  t.version = version;
  t.expires = expires;
  t.model = "vad";
  t.model_version = model_version;
  t.variants.push_back({"fp32", "fp32", "ref", {}, 1234, HexEncode(Sha256("model"))});
  t.variants.push_back({"int8-avx2", "int8", "cpu", {"avx2", "fma"}, 400, HexEncode(Sha256("q"))});
  return t;
}

Json Sign(const TargetsMetadata& t, const KeyPair& k) {
  auto env = SignEnvelope(t.ToJson(), {&k});
  EXPECT_TRUE(env.ok());
  return *env;
}

TEST(FleetMetadata, TimeRoundTrip) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(kNow), "2025-06-15T15:06:40Z");
  auto t = ParseTime("2025-06-15T15:06:40Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, kNow);
  EXPECT_FALSE(ParseTime("2025-06-15 15:06:40Z").ok());
  EXPECT_FALSE(ParseTime("2025-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseTime("2025-06-15T15:06:40+01:00").ok());
}

TEST(FleetMetadata, TargetsRoundTrip) {
  TargetsMetadata t = MakeTargets(3);
  auto back = TargetsMetadata::FromJson(t.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->variants, t.variants);
  EXPECT_EQ(back->model_version, "1.0.0");
}

TEST(FleetMetadata, ProbeIsOptionalAndSigned) {
  TargetsMetadata t = MakeTargets(3);
  // Without a probe the variant JSON has no probe keys, so older manifests keep their bytes.
  EXPECT_FALSE(t.ToJson()["variants"][0].contains("probe_sha256"));
  t.variants[0].probe_sha256 = std::string(64, 'e');
  t.variants[0].probe_size = 1234;
  auto back = TargetsMetadata::FromJson(t.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->variants[0], t.variants[0]);
  Json bad = t.ToJson();
  bad["variants"][0]["probe_sha256"] = "nothex";
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = t.ToJson();
  bad["variants"][0].erase("probe_size");
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
}

TEST(FleetMetadata, TargetsValidation) {
  Json j = MakeTargets(1).ToJson();
  Json bad = j;
  bad["_type"] = "root";
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad["variants"][0]["sha256"] = "../../etc/passwd";
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad["variants"][1]["name"] = "fp32";
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad["version"] = 0;
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad["spec_version"] = 2;
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad["variants"] = Json::array();
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
  bad = j;
  bad.erase("expires");
  EXPECT_FALSE(TargetsMetadata::FromJson(bad).ok());
}

TEST(FleetMetadata, EnvelopeSignatureChecks) {
  Keys k;
  Json env = Sign(MakeTargets(1), k.targets);
  std::map<std::string, PublicKey> keys = {{k.targets.KeyId(), k.targets.public_key()}};
  EXPECT_TRUE(VerifyEnvelope(env, keys, {k.targets.KeyId()}, 1).ok());
  // A key that is known but not allowed for the role does not count.
  EXPECT_FALSE(VerifyEnvelope(env, keys, {k.root.KeyId()}, 1).ok());
  // Threshold 2 with one signature fails; a repeated signature does not count twice.
  Json twice = env;
  twice["signatures"].push_back(env["signatures"][0]);
  EXPECT_FALSE(VerifyEnvelope(twice, keys, {k.targets.KeyId()}, 2).ok());
  // Tampering with the body breaks the signature.
  Json tampered = env;
  tampered["signed"]["variants"][0]["size"] = 1;
  EXPECT_FALSE(VerifyEnvelope(tampered, keys, {k.targets.KeyId()}, 1).ok());
  // Garbage signatures are ignored, not crashes.
  Json garbage = env;
  garbage["signatures"][0]["sig"] = "???";
  EXPECT_FALSE(VerifyEnvelope(garbage, keys, {k.targets.KeyId()}, 1).ok());
  // Extra top-level fields are refused: the signature must cover everything that matters.
  Json extra = env;
  extra["note"] = "x";
  EXPECT_FALSE(VerifyEnvelope(extra, keys, {k.targets.KeyId()}, 1).ok());
}

TEST(FleetTrust, AcceptsGoodManifestAndRecordsVersion) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok()) << ts.status().ToString();
  auto t = ts->VerifyTargets(Sign(MakeTargets(2), k.targets), kNow);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->variants.size(), 2u);
  EXPECT_EQ(ts->LastTargetsVersion("vad"), 2);
  // The same manifest again is fine (a re-download).
  EXPECT_TRUE(ts->VerifyTargets(Sign(MakeTargets(2), k.targets), kNow).ok());
}

TEST(FleetTrust, RefusesRollbackExpiryBadSignatureAndMixing) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok());
  ASSERT_TRUE(ts->VerifyTargets(Sign(MakeTargets(5, "2.0.0"), k.targets), kNow).ok());
  // Older counter: rollback.
  EXPECT_EQ(ts->VerifyTargets(Sign(MakeTargets(4, "1.0.0"), k.targets), kNow).status().code(),
            StatusCode::kFailedPrecondition);
  // Same counter, different content: mix-and-match.
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(5, "1.0.0"), k.targets), kNow).ok());
  // Expired.
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(6, "2.0.0", kNow - 1), k.targets), kNow).ok());
  // Signed by the root key instead of the targets key.
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(7), k.root), kNow).ok());
  // Signed by a stranger.
  KeyPair stranger = NewKey();
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(7), stranger), kNow).ok());
  // Nothing above moved the counter.
  EXPECT_EQ(ts->LastTargetsVersion("vad"), 5);
}

TEST(FleetTrust, RefusesRootNotSelfSigned) {
  Keys k;
  KeyPair stranger = NewKey();
  EXPECT_FALSE(TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&stranger})).ok());
  EXPECT_FALSE(TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.targets})).ok());
  EXPECT_FALSE(TrustStore::Bootstrap(Json::array()).ok());
}

TEST(FleetTrust, RotatesTargetsKeyThroughNewRoot) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok());
  KeyPair new_targets = NewKey();
  ASSERT_TRUE(ts->UpdateRoot(MakeRoot(2, k.root, new_targets, {&k.root})).ok());
  EXPECT_EQ(ts->root().version, 2);
  // The old targets key is no longer trusted; the new one is.
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(1), k.targets), kNow).ok());
  EXPECT_TRUE(ts->VerifyTargets(Sign(MakeTargets(1), new_targets), kNow).ok());
}

TEST(FleetTrust, RotatesRootKeyWithBothSignatures) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok());
  KeyPair new_root = NewKey();
  // Only the new key signed: refused (the old root never approved it).
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(2, new_root, k.targets, {&new_root})).ok());
  // Only the old key signed: refused (the new key never proved possession).
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(2, new_root, k.targets, {&k.root})).ok());
  ASSERT_TRUE(ts->UpdateRoot(MakeRoot(2, new_root, k.targets, {&k.root, &new_root})).ok());
  // Version 3 must now be signed by the new root key; the old one is out.
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(3, k.root, k.targets, {&k.root})).ok());
}

TEST(FleetTrust, RootVersionsMoveOneStepForward) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(2, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok());
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(1, k.root, k.targets, {&k.root})).ok());  // older
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(2, k.root, k.targets, {&k.root})).ok());  // same
  EXPECT_FALSE(ts->UpdateRoot(MakeRoot(4, k.root, k.targets, {&k.root})).ok());  // skips one
  EXPECT_TRUE(ts->UpdateRoot(MakeRoot(3, k.root, k.targets, {&k.root})).ok());
}

TEST(FleetTrust, ExpiredRootRefusesManifests) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}, kNow - kDay));
  ASSERT_TRUE(ts.ok());
  EXPECT_FALSE(ts->VerifyTargets(Sign(MakeTargets(1), k.targets), kNow).ok());
  // A fresh root fixes it.
  ASSERT_TRUE(ts->UpdateRoot(MakeRoot(2, k.root, k.targets, {&k.root})).ok());
  EXPECT_TRUE(ts->VerifyTargets(Sign(MakeTargets(1), k.targets), kNow).ok());
}

TEST(FleetTrust, StateSurvivesSaveAndLoad) {
  Keys k;
  auto ts = TrustStore::Bootstrap(MakeRoot(1, k.root, k.targets, {&k.root}));
  ASSERT_TRUE(ts.ok());
  ASSERT_TRUE(ts->VerifyTargets(Sign(MakeTargets(9), k.targets), kNow).ok());
  auto text = ts->SaveState().dump();
  auto parsed = ParseJson(text);
  ASSERT_TRUE(parsed.ok());
  auto restored = TrustStore::LoadState(*parsed);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->LastTargetsVersion("vad"), 9);
  EXPECT_FALSE(restored->VerifyTargets(Sign(MakeTargets(8), k.targets), kNow).ok());
}

}  // namespace
}  // namespace tern::fleet
