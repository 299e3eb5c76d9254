#include "fl/privacy/secagg_crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fl/privacy/wire.h"

namespace tern::fl {

static_assert(crypto_scalarmult_BYTES == 32 && crypto_scalarmult_SCALARBYTES == 32);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == 16);
static_assert(crypto_stream_chacha20_KEYBYTES == 32 && crypto_stream_chacha20_NONCEBYTES == 8);

Status EnsureSodiumReady() {
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialize");
  return Status::Ok();
}

void X25519KeyPair::Wipe() { sodium_memzero(secret_key.data(), secret_key.size()); }

X25519KeyPair GenerateX25519() {
  X25519KeyPair kp;
  randombytes_buf(kp.secret_key.data(), kp.secret_key.size());
  crypto_scalarmult_base(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Key32 X25519PublicOf(const Key32& secret_key) {
  Key32 pk{};
  crypto_scalarmult_base(pk.data(), secret_key.data());
  return pk;
}

Result<Key32> AgreeKey(KeyPurpose purpose, uint64_t round_id, const Key32& secret_key,
                       const Key32& peer_public_key, ClientId a, ClientId b) {
  Key32 shared{};
  if (crypto_scalarmult(shared.data(), secret_key.data(), peer_public_key.data()) != 0) {
    return InvalidArgument("key agreement between clients " + std::to_string(a) + " and " +
                           std::to_string(b) + " failed: low-order public key");
  }
  ByteWriter context;
  context.Raw("tern-secagg-kdf", 15);
  context.U8(static_cast<uint8_t>(purpose));
  context.U64(round_id);
  context.U32(std::min(a, b));
  context.U32(std::max(a, b));
  Bytes info = context.Take();
  Key32 key{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, key.size());
  crypto_generichash_update(&state, info.data(), info.size());
  crypto_generichash_update(&state, shared.data(), shared.size());
  crypto_generichash_final(&state, key.data(), key.size());
  sodium_memzero(shared.data(), shared.size());
  return key;
}

Key32 SelfMaskKey(uint64_t round_id, const Key32& seed) {
  ByteWriter context;
  context.Raw("tern-secagg-self", 16);
  context.U64(round_id);
  Bytes info = context.Take();
  Key32 key{};
  crypto_generichash(key.data(), key.size(), info.data(), info.size(), seed.data(), seed.size());
  return key;
}

void ApplyMask(const Key32& key, bool negate, std::span<uint32_t> acc) {
  // The keystream is made in blocks that stay in L1 and added right away; the block counter
  // continues across blocks, so the result is one keystream over the whole vector.
  constexpr size_t kWords = 2048;  // 8 KiB = 128 ChaCha20 blocks
  static const uint8_t kZeros[kWords * 4] = {};
  alignas(64) uint32_t stream[kWords];
  const uint8_t nonce[8] = {};
  for (size_t start = 0; start < acc.size(); start += kWords) {
    size_t n = std::min(kWords, acc.size() - start);
    crypto_stream_chacha20_xor_ic(reinterpret_cast<uint8_t*>(stream), kZeros, n * 4, nonce,
                                  start / 16, key.data());
    uint32_t* out = acc.data() + start;
    if (negate) {
      for (size_t i = 0; i < n; ++i) out[i] -= stream[i];
    } else {
      for (size_t i = 0; i < n; ++i) out[i] += stream[i];
    }
  }
  sodium_memzero(stream, sizeof(stream));
}

static Bytes ShareAssociatedData(uint64_t round_id, ClientId owner, ClientId holder) {
  ByteWriter ad;
  ad.Raw("tern-secagg-share", 17);
  ad.U64(round_id);
  ad.U32(owner);
  ad.U32(holder);
  return ad.Take();
}

ShareCiphertext EncryptShare(const Key32& key, uint64_t round_id, const SharePlaintext& plain) {
  // A fixed buffer rather than a growing vector: reallocation would leave copies of the shares
  // in freed memory that sodium_memzero never sees.
  std::array<uint8_t, kSharePlaintextBytes> message{};
  uint8_t* p = message.data();
  std::memcpy(p, &plain.owner, 4);
  std::memcpy(p + 4, &plain.holder, 4);
  std::memcpy(p + 8, plain.mask_key_share.data(), 8 * kShamirChunks);
  std::memcpy(p + 8 + 8 * kShamirChunks, plain.seed_share.data(), 8 * kShamirChunks);
  Bytes ad = ShareAssociatedData(round_id, plain.owner, plain.holder);
  ShareCiphertext out{};
  uint8_t* nonce = out.data();
  randombytes_buf(nonce, 24);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 24, &written, message.data(),
                                             message.size(), ad.data(), ad.size(), nullptr, nonce,
                                             key.data());
  sodium_memzero(message.data(), message.size());
  return out;
}

Result<SharePlaintext> DecryptShare(const Key32& key, uint64_t round_id, ClientId owner,
                                    ClientId holder, const ShareCiphertext& ciphertext) {
  Bytes ad = ShareAssociatedData(round_id, owner, holder);
  std::array<uint8_t, kSharePlaintextBytes> message{};
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          message.data(), &length, nullptr, ciphertext.data() + 24, ciphertext.size() - 24,
          ad.data(), ad.size(), ciphertext.data(), key.data()) != 0 ||
      length != message.size()) {
    return InvalidArgument("share from client " + std::to_string(owner) + " to client " +
                           std::to_string(holder) +
                           " failed authentication (tampered, or not made for this round)");
  }
  ByteReader reader(message);
  SharePlaintext plain;
  plain.owner = reader.U32();
  plain.holder = reader.U32();
  for (uint64_t& v : plain.mask_key_share) v = reader.U64();
  for (uint64_t& v : plain.seed_share) v = reader.U64();
  sodium_memzero(message.data(), message.size());
  if (plain.owner != owner || plain.holder != holder) {
    return InvalidArgument("share from client " + std::to_string(owner) +
                           " names the wrong owner or holder");
  }
  return plain;
}

}  // namespace tern::fl
