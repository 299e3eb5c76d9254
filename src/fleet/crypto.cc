#include "fleet/crypto.h"

#include <cstring>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/canonical_json.h"
#include "fleet/file_util.h"

namespace tern::fleet {

static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kSecretKeyBytes == crypto_sign_SECRETKEYBYTES);
static_assert(kSignatureBytes == crypto_sign_BYTES);
static_assert(kSha256Bytes == crypto_hash_sha256_BYTES);

Status EnsureSodium() {
  // sodium_init() is thread-safe and idempotent; the static caches the outcome.
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialize");
  return Status::Ok();
}

// ---- KeyPair ----

KeyPair::KeyPair() = default;
KeyPair::~KeyPair() { sodium_memzero(secret_key_.data(), secret_key_.size()); }
KeyPair::KeyPair(const KeyPair&) = default;
KeyPair& KeyPair::operator=(const KeyPair&) = default;

Result<KeyPair> KeyPair::Generate() {
  TERN_RETURN_IF_ERROR(EnsureSodium());
  KeyPair kp;
  crypto_sign_keypair(kp.public_key_.data(), kp.secret_key_.data());
  return kp;
}

Status KeyPair::Save(const std::string& path) const {
  Json j = {{"keytype", "ed25519"},
            {"public", HexEncode(public_key_)},
            {"private", HexEncode(secret_key_)}};
  std::string text = j.dump() + "\n";
  Status st = WriteFileExclusive(path, text, 0600);
  sodium_memzero(text.data(), text.size());
  return st;
}

Result<KeyPair> KeyPair::Load(const std::string& path) {
  TERN_RETURN_IF_ERROR(EnsureSodium());
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return IoError("cannot stat key file " + path);
  if ((st.st_mode & 077) != 0) {
    return Status(StatusCode::kFailedPrecondition,
                  "key file " + path + " is readable by others; chmod 600 it");
  }
  TERN_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4096));
  auto parsed = ParseJson(text);
  sodium_memzero(text.data(), text.size());
  if (!parsed.ok()) return parsed.status().WithContext(path);
  const Json& j = *parsed;
  if (!j.is_object() || j.value("keytype", "") != "ed25519" || !j.contains("public") ||
      !j.contains("private") || !j["public"].is_string() || !j["private"].is_string()) {
    return InvalidArgument(path + ": not an ed25519 key file");
  }
  TERN_ASSIGN_OR_RETURN(auto pub, HexDecode(j["public"].get<std::string>(), kPublicKeyBytes));
  TERN_ASSIGN_OR_RETURN(auto sec, HexDecode(j["private"].get<std::string>(), kSecretKeyBytes));
  KeyPair kp;
  std::memcpy(kp.public_key_.data(), pub.data(), kPublicKeyBytes);
  std::memcpy(kp.secret_key_.data(), sec.data(), kSecretKeyBytes);
  sodium_memzero(sec.data(), sec.size());
  // The secret key embeds its public key; a mismatch means a corrupt or tampered file.
  PublicKey derived{};
  crypto_sign_ed25519_sk_to_pk(derived.data(), kp.secret_key_.data());
  if (derived != kp.public_key_) return InvalidArgument(path + ": public and private keys differ");
  return kp;
}

std::string KeyPair::KeyId() const { return KeyIdOf(public_key_); }

Signature KeyPair::Sign(std::string_view message) const {
  Signature sig{};
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key_.data());
  return sig;
}

bool VerifySignature(const PublicKey& key, std::string_view message, const Signature& sig) {
  if (!EnsureSodium().ok()) return false;
  return crypto_sign_verify_detached(sig.data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key.data()) == 0;
}

std::string KeyIdOf(const PublicKey& key) {
  return HexEncode(Sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())));
}

// ---- SHA-256 ----

static_assert(sizeof(crypto_hash_sha256_state) <= 128);

Sha256Hasher::Sha256Hasher() {
  (void)EnsureSodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256Hasher::Update(const void* data, size_t size) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            static_cast<const unsigned char*>(data), size);
}

Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest d{};
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), d.data());
  return d;
}

Sha256Digest Sha256(std::string_view data) {
  Sha256Hasher h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

Result<Sha256Digest> Sha256File(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open " + path + ": " + std::strerror(errno));
  Sha256Hasher h;
  uint64_t total = 0;
  std::vector<char> buf(1 << 16);
  while (true) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return IoError("cannot read " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (size) *size = total;
  return h.Finish();
}

// ---- encodings ----

std::string HexEncode(const uint8_t* data, size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view hex, size_t expected_size) {
  if (hex.size() % 2 != 0) return InvalidArgument("hex string has odd length");
  std::vector<uint8_t> out(hex.size() / 2);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, &end) != 0 ||
      end != hex.data() + hex.size() || len != out.size()) {
    return InvalidArgument("invalid hex string");
  }
  if (expected_size != 0 && len != expected_size) {
    return InvalidArgument("hex string decodes to " + std::to_string(len) + " bytes, expected " +
                           std::to_string(expected_size));
  }
  return out;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Base64Encode(const uint8_t* data, size_t size) {
  const size_t cap = sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL);
  std::string out(cap, '\0');
  sodium_bin2base64(out.data(), cap, data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  TERN_RETURN_IF_ERROR(EnsureSodium());
  std::vector<uint8_t> out(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("invalid base64");
  }
  out.resize(len);
  return out;
}

std::string RandomToken(std::string_view prefix) {
  (void)EnsureSodium();
  uint8_t bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return std::string(prefix) + HexEncode(bytes, sizeof bytes);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tern::fleet
