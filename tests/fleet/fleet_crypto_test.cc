#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <sys/stat.h>

#include "fleet/crypto.h"
#include "fleet/file_util.h"

namespace tern::fleet {
namespace {

std::string TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tern-fleet-XXXXXX").string();
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

TEST(FleetCrypto, Sha256KnownAnswers) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update("a", 1);
  h.Update("bc", 2);
  EXPECT_EQ(h.Finish(), Sha256("abc"));
}

TEST(FleetCrypto, Sha256File) {
  std::string dir = TempDir();
  std::string path = dir + "/f";
  std::string data(200000, 'x');
  ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  uint64_t size = 0;
  auto d = Sha256File(path, &size);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, Sha256(data));
  EXPECT_EQ(size, data.size());
  EXPECT_FALSE(Sha256File(dir + "/missing").ok());
  std::filesystem::remove_all(dir);
}

TEST(FleetCrypto, HexAndBase64RoundTrip) {
  const uint8_t bytes[] = {0, 1, 0x7f, 0x80, 0xff};
  EXPECT_EQ(HexEncode(bytes, 5), "00017f80ff");
  auto back = HexDecode("00017F80ff", 5);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 5), *back);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0001", 3).ok());
  std::string b64 = Base64Encode(bytes, 5);
  EXPECT_EQ(b64, "AAF/gP8=");
  auto b = Base64Decode(b64);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::vector<uint8_t>(bytes, bytes + 5), *b);
  EXPECT_FALSE(Base64Decode("!!!!").ok());
  EXPECT_FALSE(Base64Decode("AAF/gP8=x").ok());
}

TEST(FleetCrypto, IsSha256Hex) {
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(62, 'a') + ".."));
}

TEST(FleetCrypto, SignAndVerify) {
  auto kp = KeyPair::Generate();
  ASSERT_TRUE(kp.ok());
  Signature sig = kp->Sign("hello");
  EXPECT_TRUE(VerifySignature(kp->public_key(), "hello", sig));
  EXPECT_FALSE(VerifySignature(kp->public_key(), "hellO", sig));
  sig[0] ^= 1;
  EXPECT_FALSE(VerifySignature(kp->public_key(), "hello", sig));
  auto other = KeyPair::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifySignature(other->public_key(), "hello", kp->Sign("hello")));
  EXPECT_EQ(kp->KeyId().size(), 64u);
  EXPECT_NE(kp->KeyId(), other->KeyId());
}

TEST(FleetCrypto, KeyFileIsPrivateAndRoundTrips) {
  std::string dir = TempDir();
  std::string path = dir + "/signing.key";
  auto kp = KeyPair::Generate();
  ASSERT_TRUE(kp.ok());
  ASSERT_TRUE(kp->Save(path).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Never overwritten.
  Status again = kp->Save(path);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  auto loaded = KeyPair::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->public_key(), kp->public_key());
  EXPECT_TRUE(VerifySignature(kp->public_key(), "m", loaded->Sign("m")));
  // Too open: refused.
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(KeyPair::Load(path).status().code(), StatusCode::kFailedPrecondition);
  // Corrupt: refused, never crashes.
  ASSERT_TRUE(WriteFileAtomic(dir + "/bad.key", "{\"keytype\":\"ed25519\"}", 0600).ok());
  EXPECT_FALSE(KeyPair::Load(dir + "/bad.key").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/junk.key", "not json", 0600).ok());
  EXPECT_FALSE(KeyPair::Load(dir + "/junk.key").ok());
  std::filesystem::remove_all(dir);
}

TEST(FleetCrypto, MismatchedKeyFileRefused) {
  std::string dir = TempDir();
  auto a = KeyPair::Generate();
  auto b = KeyPair::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->Save(dir + "/a.key").ok());
  auto text = ReadFile(dir + "/a.key");
  ASSERT_TRUE(text.ok());
  std::string swapped = *text;
  swapped.replace(swapped.find(HexEncode(a->public_key())), 64, HexEncode(b->public_key()));
  ASSERT_TRUE(WriteFileAtomic(dir + "/mixed.key", swapped, 0600).ok());
  EXPECT_FALSE(KeyPair::Load(dir + "/mixed.key").ok());
  std::filesystem::remove_all(dir);
}

TEST(FleetCrypto, RandomTokensDiffer) {
  std::string a = RandomToken("tk_");
  std::string b = RandomToken("tk_");
  EXPECT_EQ(a.size(), 3u + 64u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(ConstantTimeEquals(a, a));
  EXPECT_FALSE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, "tk_"));
}

}  // namespace
}  // namespace tern::fleet
