// Crypto primitives for the fleet, all from libsodium: Ed25519 keys and detached signatures,
// SHA-256, hex and base64, random tokens. Private keys live in files readable only by their owner.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::fleet {

constexpr size_t kPublicKeyBytes = 32;   // crypto_sign_PUBLICKEYBYTES
constexpr size_t kSecretKeyBytes = 64;   // crypto_sign_SECRETKEYBYTES (seed + public key)
constexpr size_t kSignatureBytes = 64;   // crypto_sign_BYTES
constexpr size_t kSha256Bytes = 32;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;
using Sha256Digest = std::array<uint8_t, kSha256Bytes>;

/// Initializes libsodium once; every function below calls it, so callers need not.
Status EnsureSodium();

/// An Ed25519 key pair. The secret half is wiped when the object dies.
class KeyPair {
 public:
  KeyPair();
  ~KeyPair();
  KeyPair(const KeyPair&);
  KeyPair& operator=(const KeyPair&);

  /// A fresh random key pair.
  static Result<KeyPair> Generate();
  /// Reads a key file written by Save(); refuses files that group or others can read.
  static Result<KeyPair> Load(const std::string& path);
  /// Writes {"keytype":"ed25519","public":hex,"private":hex} with mode 0600, atomically
  /// (temporary file, fsync, rename). Refuses to overwrite an existing file.
  Status Save(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  /// Hex SHA-256 of the raw public key: how metadata names this key.
  std::string KeyId() const;
  Signature Sign(std::string_view message) const;

 private:
  PublicKey public_key_{};
  std::array<uint8_t, kSecretKeyBytes> secret_key_{};
};

/// True when `sig` is a valid Ed25519 signature of `message` by `key`.
bool VerifySignature(const PublicKey& key, std::string_view message, const Signature& sig);
/// The key id of a public key (hex SHA-256 of its 32 bytes).
std::string KeyIdOf(const PublicKey& key);

Sha256Digest Sha256(std::string_view data);
/// Hashes a file in 64 KiB chunks; also returns its size.
Result<Sha256Digest> Sha256File(const std::string& path, uint64_t* size = nullptr);

/// Incremental SHA-256.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(const void* data, size_t size);
  Sha256Digest Finish();

 private:
  alignas(16) unsigned char state_[128];  // crypto_hash_sha256_state (104 bytes)
};

std::string HexEncode(const uint8_t* data, size_t size);
template <size_t N>
std::string HexEncode(const std::array<uint8_t, N>& a) { return HexEncode(a.data(), a.size()); }
/// Decodes lowercase or uppercase hex of exactly `expected_size` bytes (any size when 0).
Result<std::vector<uint8_t>> HexDecode(std::string_view hex, size_t expected_size = 0);
/// True for exactly 64 lowercase hex digits: the only form blob and key ids take.
bool IsSha256Hex(std::string_view s);

std::string Base64Encode(const uint8_t* data, size_t size);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

/// `prefix` followed by 64 hex digits of fresh randomness: an unguessable bearer token.
std::string RandomToken(std::string_view prefix);
/// Constant-time comparison of equal-length strings.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tern::fleet
