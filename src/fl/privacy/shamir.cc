#include "fl/privacy/shamir.h"

#include <sodium.h>

#include <string>

namespace tern::fl {

uint64_t FieldMul(uint64_t a, uint64_t b) {
  unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  // x mod (2^61 - 1) = (x & p) + (x >> 61), reduced once more.
  uint64_t lo = static_cast<uint64_t>(product) & kShamirPrime;
  uint64_t hi = static_cast<uint64_t>(product >> 61);
  uint64_t r = lo + hi;
  r = (r & kShamirPrime) + (r >> 61);
  return r >= kShamirPrime ? r - kShamirPrime : r;
}

uint64_t FieldAdd(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= kShamirPrime ? r - kShamirPrime : r;
}

uint64_t FieldSub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kShamirPrime - b; }

uint64_t FieldInv(uint64_t a) {
  // Fermat: a^(p-2).
  uint64_t result = 1, base = a, e = kShamirPrime - 2;
  while (e) {
    if (e & 1) result = FieldMul(result, base);
    base = FieldMul(base, base);
    e >>= 1;
  }
  return result;
}

static uint64_t RandomFieldElement() {
  // Rejection sampling keeps the coefficients exactly uniform.
  for (;;) {
    uint64_t v;
    randombytes_buf(&v, sizeof(v));
    v &= kShamirPrime;  // 61 low bits
    if (v < kShamirPrime) return v;
  }
}

static std::array<uint64_t, kShamirChunks> SecretToChunks(const ShamirSecret& secret) {
  std::array<uint64_t, kShamirChunks> chunks{};
  for (size_t i = 0; i < secret.size(); ++i) {
    chunks[i / kShamirChunkBytes] |= uint64_t{secret[i]} << (8 * (i % kShamirChunkBytes));
  }
  return chunks;
}

static bool HasDuplicateOrZero(std::span<const uint32_t> xs) {
  for (size_t i = 0; i < xs.size(); ++i) {
    if (xs[i] == 0) return true;
    for (size_t j = 0; j < i; ++j) {
      if (xs[i] == xs[j]) return true;
    }
  }
  return false;
}

Result<std::vector<ShamirShare>> ShamirSplit(const ShamirSecret& secret, uint32_t threshold,
                                             std::span<const uint32_t> xs) {
  if (threshold < 1 || threshold > xs.size()) {
    return InvalidArgument("shamir: threshold " + std::to_string(threshold) + " outside 1.." +
                           std::to_string(xs.size()));
  }
  if (HasDuplicateOrZero(xs))
    return InvalidArgument("shamir: holder x values must be distinct and nonzero");
  std::array<uint64_t, kShamirChunks> chunks = SecretToChunks(secret);
  std::vector<ShamirShare> shares(xs.size());
  std::vector<uint64_t> coefficients(threshold);
  for (size_t c = 0; c < kShamirChunks; ++c) {
    coefficients[0] = chunks[c];
    for (uint32_t d = 1; d < threshold; ++d) coefficients[d] = RandomFieldElement();
    for (size_t h = 0; h < xs.size(); ++h) {
      // Horner from the top coefficient down.
      uint64_t x = xs[h], y = 0;
      for (uint32_t d = threshold; d-- > 0;) y = FieldAdd(FieldMul(y, x), coefficients[d]);
      shares[h][c] = y;
    }
  }
  sodium_memzero(coefficients.data(), coefficients.size() * sizeof(uint64_t));
  sodium_memzero(chunks.data(), sizeof(chunks));
  return shares;
}

Result<std::vector<uint64_t>> LagrangeAtZero(std::span<const uint32_t> xs) {
  if (xs.empty() || HasDuplicateOrZero(xs)) {
    return InvalidArgument("shamir: interpolation points must be distinct and nonzero");
  }
  std::vector<uint64_t> coefficients(xs.size());
  // L_i(0) = Π_{j≠i} x_j / (x_j - x_i): numerators and denominators multiplied separately so
  // each coefficient needs one inversion.
  for (size_t i = 0; i < xs.size(); ++i) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < xs.size(); ++j) {
      if (j == i) continue;
      num = FieldMul(num, xs[j]);
      den = FieldMul(den, FieldSub(xs[j], xs[i]));
    }
    coefficients[i] = FieldMul(num, FieldInv(den));
  }
  return coefficients;
}

Result<ShamirSecret> ShamirCombine(std::span<const ShamirShare> shares,
                                   std::span<const uint64_t> lagrange) {
  if (shares.size() != lagrange.size() || shares.empty()) {
    return InvalidArgument("shamir: share and coefficient counts differ");
  }
  ShamirSecret secret{};
  for (size_t c = 0; c < kShamirChunks; ++c) {
    uint64_t value = 0;
    for (size_t i = 0; i < shares.size(); ++i) {
      if (shares[i][c] >= kShamirPrime) return InvalidArgument("shamir: share value out of field");
      value = FieldAdd(value, FieldMul(shares[i][c], lagrange[i]));
    }
    size_t first = c * kShamirChunkBytes;
    size_t bytes = std::min(kShamirChunkBytes, secret.size() - first);
    if (bytes < 8 && (value >> (8 * bytes)) != 0) {
      return InvalidArgument("shamir: shares do not combine to a secret (inconsistent shares)");
    }
    for (size_t b = 0; b < bytes; ++b) secret[first + b] = static_cast<uint8_t>(value >> (8 * b));
  }
  return secret;
}

Result<const std::vector<uint64_t>*> LagrangeCache::Get(const std::vector<uint32_t>& xs) {
  auto it = cache_.find(xs);
  if (it == cache_.end()) {
    TERN_ASSIGN_OR_RETURN(std::vector<uint64_t> coefficients, LagrangeAtZero(xs));
    it = cache_.emplace(xs, std::move(coefficients)).first;
  }
  return &it->second;
}

}  // namespace tern::fl
