// What both sides of secure aggregation share: the configuration checks, the SecAgg+ neighbour
// graph, the fixed-point codec and the unmask request encoding.
#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "fl/privacy/secagg.h"
#include "fl/privacy/secagg_crypto.h"
#include "fl/privacy/wire.h"

namespace tern::fl {

// Client ids are Shamir x-coordinates and wire u32s; 2^20 is far above any fleet round.
static constexpr uint32_t kMaxClients = 1u << 20;
static constexpr uint32_t kMaxVectorLength = 1u << 28;

Status SecAggConfig::Validate() const {
  auto bad = [](const std::string& m) { return InvalidArgument("secagg config: " + m); };
  if (num_clients < 2 || num_clients > kMaxClients) {
    return bad("num_clients " + std::to_string(num_clients) + " outside 2.." +
               std::to_string(kMaxClients));
  }
  if (vector_length == 0 || vector_length > kMaxVectorLength) {
    return bad("vector_length " + std::to_string(vector_length) + " outside 1.." +
               std::to_string(kMaxVectorLength));
  }
  if (modulus_bits < 1 || modulus_bits > 32) {
    return bad("modulus_bits " + std::to_string(modulus_bits) + " outside 1..32");
  }
  if (neighbors != 0 && (neighbors % 2 != 0 || neighbors >= num_clients)) {
    return bad("neighbors " + std::to_string(neighbors) +
               " must be even and below num_clients (a k-regular ring graph)");
  }
  if (threshold < 2 || threshold > holders_per_client()) {
    return bad("threshold " + std::to_string(threshold) + " outside 2.." +
               std::to_string(holders_per_client()) + " (the holders of one client's shares)");
  }
  return Status::Ok();
}

std::vector<ClientId> SecAggPeers(const SecAggConfig& config, ClientId client) {
  const uint32_t n = config.num_clients;
  std::vector<ClientId> peers;
  if (client < 1 || client > n) return peers;
  if (config.neighbors == 0 || config.neighbors >= n) {
    for (ClientId v = 1; v <= n; ++v) {
      if (v != client) peers.push_back(v);
    }
    return peers;
  }
  // A Harary ring over a permutation drawn from the public seed: the clients sit on a ring in
  // permuted order and each one's neighbours are the k/2 nearest on either side. The graph is
  // k-regular and symmetric, and who neighbours whom is unpredictable before the seed is known.
  std::vector<uint64_t> random(n);
  randombytes_buf_deterministic(random.data(), random.size() * sizeof(uint64_t),
                                config.graph_seed.data());
  std::vector<ClientId> ring(n);
  std::iota(ring.begin(), ring.end(), 1u);
  for (uint32_t i = n - 1; i > 0; --i) {
    // The modulo bias is below 2^-40 for n <= 2^20 and the graph is public anyway.
    std::swap(ring[i], ring[random[i] % (i + 1)]);
  }
  uint32_t position =
      static_cast<uint32_t>(std::find(ring.begin(), ring.end(), client) - ring.begin());
  for (uint32_t d = 1; d <= config.neighbors / 2; ++d) {
    peers.push_back(ring[(position + d) % n]);
    peers.push_back(ring[(position + n - d) % n]);
  }
  std::sort(peers.begin(), peers.end());
  return peers;
}

const char* SecAggPhaseName(SecAggPhase phase) {
  switch (phase) {
    case SecAggPhase::kAdvertiseKeys:
      return "advertise-keys";
    case SecAggPhase::kShareKeys:
      return "share-keys";
    case SecAggPhase::kMaskedInput:
      return "masked-input";
    case SecAggPhase::kUnmask:
      return "unmask";
    case SecAggPhase::kDone:
      return "done";
    case SecAggPhase::kFailed:
      return "failed";
  }
  return "unknown";
}

Result<FixedPointCodec> FixedPointCodec::Create(double clip, uint32_t modulus_bits,
                                                uint32_t max_clients) {
  if (!(clip > 0) || !std::isfinite(clip)) return InvalidArgument("fixed point: clip must be > 0");
  if (modulus_bits < 2 || modulus_bits > 32) {
    return InvalidArgument("fixed point: modulus_bits " + std::to_string(modulus_bits) +
                           " outside 2..32");
  }
  if (max_clients == 0) return InvalidArgument("fixed point: max_clients must be > 0");
  FixedPointCodec codec;
  codec.clip_ = clip;
  codec.modulus_bits_ = modulus_bits;
  codec.max_clients_ = max_clients;
  // The largest sum magnitude, max_clients * clip * scale, stays within the signed k-bit range.
  double max_signed = std::ldexp(1.0, static_cast<int>(modulus_bits) - 1) - 1;
  codec.scale_ = std::floor(max_signed / (clip * max_clients));
  if (codec.scale_ < 1) {
    return InvalidArgument("fixed point: no headroom: " + std::to_string(max_clients) +
                           " clients with clip " + std::to_string(clip) + " do not fit in " +
                           std::to_string(modulus_bits) + " bits");
  }
  return codec;
}

std::vector<uint32_t> FixedPointCodec::Encode(std::span<const float> values,
                                              size_t* clamped) const {
  const uint32_t mask = ModulusMask(modulus_bits_);
  std::vector<uint32_t> out(values.size());
  size_t clamped_count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    double v = values[i];
    if (std::isnan(v)) v = 0;
    if (v > clip_ || v < -clip_) {
      ++clamped_count;
      v = std::clamp(v, -clip_, clip_);
    }
    int64_t q = std::llround(v * scale_);
    out[i] = static_cast<uint32_t>(static_cast<uint64_t>(q)) & mask;
  }
  if (clamped) *clamped += clamped_count;
  return out;
}

double FixedPointCodec::DecodeOne(uint32_t word) const {
  const uint32_t mask = ModulusMask(modulus_bits_);
  int64_t v = word & mask;
  if (v >= (int64_t{1} << (modulus_bits_ - 1))) v -= int64_t{1} << modulus_bits_;
  return static_cast<double>(v) / scale_;
}

Result<std::vector<float>> FixedPointCodec::DecodeSum(std::span<const uint32_t> sum,
                                                      uint32_t num_summed) const {
  if (num_summed > max_clients_) {
    return OutOfRange("fixed point: a sum of " + std::to_string(num_summed) +
                      " inputs may have wrapped; the codec has headroom for " +
                      std::to_string(max_clients_));
  }
  std::vector<float> out(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) out[i] = static_cast<float>(DecodeOne(sum[i]));
  return out;
}

Status AddModular(std::span<uint32_t> a, std::span<const uint32_t> b, uint32_t modulus_bits) {
  if (a.size() != b.size()) {
    return InvalidArgument("AddModular: sizes differ (" + std::to_string(a.size()) + " vs " +
                           std::to_string(b.size()) + ")");
  }
  const uint32_t mask = ModulusMask(modulus_bits);
  for (size_t i = 0; i < a.size(); ++i) a[i] = (a[i] + b[i]) & mask;
  return Status::Ok();
}

Bytes EncodeUnmaskRequest(uint64_t round_id, std::span<const ClientId> survivors) {
  ByteWriter w;
  w.Header(SecAggMessageType::kUnmaskRequest, round_id, 0);
  w.U32(static_cast<uint32_t>(survivors.size()));
  for (ClientId id : survivors) w.U32(id);
  return w.Take();
}

}  // namespace tern::fl
