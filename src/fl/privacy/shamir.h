// Shamir t-of-n secret sharing of 32-byte secrets over the prime field GF(2^61 - 1).
//
// A secret is cut into 5 chunks of at most 7 bytes (56 bits < 61), each shared with its own random
// polynomial of degree t-1; a share is the 5 polynomial values at the holder's x (its client
// id, never 0). Any t shares rebuild the secret by Lagrange interpolation at 0; fewer reveal
// nothing about it. The Mersenne prime makes reduction a shift and an add.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "tern/status.h"

namespace tern::fl {

constexpr uint64_t kShamirPrime = (uint64_t{1} << 61) - 1;
constexpr size_t kShamirChunks = 5;
constexpr size_t kShamirChunkBytes = 7;
using ShamirSecret = std::array<uint8_t, 32>;
using ShamirShare = std::array<uint64_t, kShamirChunks>;

uint64_t FieldMul(uint64_t a, uint64_t b);
uint64_t FieldAdd(uint64_t a, uint64_t b);
uint64_t FieldSub(uint64_t a, uint64_t b);
uint64_t FieldInv(uint64_t a);  // a != 0

/// Shares `secret` for the holders `xs` (distinct, 1 <= x < p) with threshold t
/// (1 <= t <= xs.size()); the polynomial coefficients come from the OS CSPRNG.
Result<std::vector<ShamirShare>> ShamirSplit(const ShamirSecret& secret, uint32_t threshold,
                                             std::span<const uint32_t> xs);

/// Lagrange coefficients at 0 for the points `xs` (distinct, nonzero).
Result<std::vector<uint64_t>> LagrangeAtZero(std::span<const uint32_t> xs);

/// Rebuilds a secret from shares at `xs` with precomputed Lagrange coefficients. Fails when
/// a chunk is out of range (a corrupt share set: the result would not be a secret at all).
Result<ShamirSecret> ShamirCombine(std::span<const ShamirShare> shares,
                                   std::span<const uint64_t> lagrange);

/// Caches Lagrange coefficients per point set: in a round, most secrets are rebuilt from the
/// same holders.
class LagrangeCache {
 public:
  Result<const std::vector<uint64_t>*> Get(const std::vector<uint32_t>& xs);

 private:
  std::map<std::vector<uint32_t>, std::vector<uint64_t>> cache_;
};

}  // namespace tern::fl
