// The cryptographic pieces of secure aggregation, all from libsodium: X25519 key pairs and key
// agreement (crypto_scalarmult) with BLAKE2b key derivation bound to the round and the two client
// ids, ChaCha20 mask expansion, and XChaCha20-Poly1305 encryption of the Shamir shares.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "fl/privacy/secagg.h"
#include "fl/privacy/shamir.h"

namespace tern::fl {

using Key32 = std::array<uint8_t, 32>;

Status EnsureSodiumReady();

/// 2^bits - 1: inputs and sums are reduced with it.
inline uint32_t ModulusMask(uint32_t bits) {
  return bits >= 32 ? 0xffffffffu : ((1u << bits) - 1u);
}

struct X25519KeyPair {
  Key32 public_key{};
  Key32 secret_key{};
  void Wipe();
};
X25519KeyPair GenerateX25519();
/// The public key of a secret key (to check a rebuilt secret key against the advertised one).
Key32 X25519PublicOf(const Key32& secret_key);

/// Why a key is derived; part of the KDF input so the two uses never share a key.
enum class KeyPurpose : uint8_t { kShareEncryption = 1, kPairwiseMask = 2, kSelfMask = 3 };

/// BLAKE2b(purpose | round | min(a,b) | max(a,b) | X25519(secret, peer_public)); the same on
/// both sides. Fails for a low-order peer key (an all-zero shared secret).
Result<Key32> AgreeKey(KeyPurpose purpose, uint64_t round_id, const Key32& secret_key,
                       const Key32& peer_public_key, ClientId a, ClientId b);
/// The self-mask key from the client's seed b_u.
Key32 SelfMaskKey(uint64_t round_id, const Key32& seed);

/// acc += PRG(key) (negate: acc -= PRG(key)), word-wise mod 2^32; the PRG is the ChaCha20
/// keystream read as little-endian 32-bit words.
void ApplyMask(const Key32& key, bool negate, std::span<uint32_t> acc);

/// One client's shares for one holder, as carried encrypted in round 1.
struct SharePlaintext {
  ClientId owner = 0;
  ClientId holder = 0;
  ShamirShare mask_key_share{};
  ShamirShare seed_share{};
};
constexpr size_t kSharePlaintextBytes = 8 + 2 * kShamirChunks * 8;
constexpr size_t kShareCiphertextBytes = 24 + kSharePlaintextBytes + 16;  // nonce, text, tag
using ShareCiphertext = std::array<uint8_t, kShareCiphertextBytes>;

ShareCiphertext EncryptShare(const Key32& key, uint64_t round_id, const SharePlaintext& plain);
/// Authenticates and decrypts; fails on any change to the ciphertext or when it was made for
/// another round, owner or holder.
Result<SharePlaintext> DecryptShare(const Key32& key, uint64_t round_id, ClientId owner,
                                    ClientId holder, const ShareCiphertext& ciphertext);

}  // namespace tern::fl
