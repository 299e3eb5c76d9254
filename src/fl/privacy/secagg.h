// Secure aggregation for federated learning: the server learns only the sum of the inputs of the
// clients that survive a round, never one client's input.
//
// The protocol is the one of Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
// Machine Learning" (CCS 2017), in its honest-but-curious form, with four rounds:
//
//   0 advertise keys   client → server: two X25519 public keys (one to encrypt shares, one to
//                      agree pairwise masks). server → clients: the list U1 of advertised keys.
//   1 share keys       client → server: t-of-n Shamir shares of its mask secret key and of its
//                      self-mask seed, each encrypted (XChaCha20-Poly1305) to its holder.
//                      server → each client: the shares addressed to it; their senders are U2.
//   2 masked input     client → server: y_u = x_u + PRG(b_u) + Σ_v ±PRG(s_uv) mod 2^k, over its
//                      peers v in U2 (s_uv: agreed X25519 secret, PRG: ChaCha20).
//                      server → clients: the survivors U3 (the clients whose y_u arrived).
//   3 unmask           client → server: for each peer, the share of its self-mask seed when the
//                      peer survived, or of its mask secret key when it dropped — never both:
//                      a client answers one survivor set only, so a server that claims a live
//                      client dropped learns nothing. The server rebuilds the self masks of the
//                      survivors and the pairwise masks that dropped clients left, and removes
//                      them: Σ_{u in U3} x_u mod 2^k.
//
// SecAgg+ (Bell et al., CCS 2020): with `neighbors = k > 0`, each client masks with and shares
// its secrets with only its k neighbours in a random k-regular graph derived from a public seed
// (a Harary ring over a seeded permutation), so its cost grows with k instead of n; the threshold
// t then applies to each neighbourhood (a client's secrets are held by its neighbours and itself).
//
// Every message is a self-describing byte string (magic, version, type, round id, sender), so
// the hub and the agent can carry it over HTTP as an opaque body. Parsing checks every length and
// index; malformed, tampered, duplicated or out-of-phase messages are refused with a Status that
// says which client and which check. Not covered here (needs device identity keys from the
// fleet): the signatures of the actively-secure variant, which stop a server from showing
// different survivor sets to different clients.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "tern/status.h"

namespace tern::fl {

using Bytes = std::vector<uint8_t>;
/// Clients are numbered 1..num_clients; the number is also their Shamir x-coordinate.
using ClientId = uint32_t;

/// Parameters every party of one aggregation round agrees on (sent by the coordinator).
struct SecAggConfig {
  uint32_t num_clients = 0;    ///< n, clients 1..n
  uint32_t threshold = 0;      ///< t: shares needed to rebuild a secret; also the minimum
                               ///< number of clients every round needs
  uint32_t vector_length = 0;  ///< elements per input
  uint32_t modulus_bits = 32;  ///< inputs and sums are taken mod 2^modulus_bits (1..32)
  /// 0: SecAgg (every client is everyone's neighbour). k > 0: SecAgg+ with a k-regular
  /// neighbour graph (k even, k < n).
  uint32_t neighbors = 0;
  std::array<uint8_t, 32> graph_seed{};  ///< public seed of the SecAgg+ graph
  uint64_t round_id = 0;  ///< bound into every message and key derivation of the round

  /// Checks ranges: n >= 2, 1 <= t <= holders, 1 <= modulus_bits <= 32, k even and < n, ...
  Status Validate() const;
  /// How many clients hold shares of one client's secrets: n for SecAgg, k+1 for SecAgg+.
  uint32_t holders_per_client() const { return neighbors == 0 ? num_clients : neighbors + 1; }
};

/// The peers of `client` (ascending, without itself): everyone for SecAgg, its graph
/// neighbours for SecAgg+. The graph is symmetric: v is a peer of u iff u is a peer of v.
std::vector<ClientId> SecAggPeers(const SecAggConfig& config, ClientId client);

/// Fixed-point encoding of float updates for aggregation mod 2^k. Values are clipped to
/// [-clip, clip] and scaled so that the sum of up to `max_clients` encoded inputs cannot wrap:
/// scale = (2^(k-1) - 1) / (clip * max_clients). Decoding reads the sum as a signed k-bit value.
class FixedPointCodec {
 public:
  /// Refuses a zero or non-finite clip, k outside 2..32 and max_clients == 0, and a scale
  /// below 1 (no headroom left for the sum).
  static Result<FixedPointCodec> Create(double clip, uint32_t modulus_bits, uint32_t max_clients);

  double clip() const { return clip_; }
  double scale() const { return scale_; }
  uint32_t modulus_bits() const { return modulus_bits_; }
  uint32_t max_clients() const { return max_clients_; }
  /// One quantization step in the float domain (1 / scale).
  double resolution() const { return 1.0 / scale_; }

  /// round(clamp(x, -clip, clip) * scale) mod 2^k. NaN encodes as 0; the number of clamped
  /// values is added to `*clamped` when given.
  std::vector<uint32_t> Encode(std::span<const float> values, size_t* clamped = nullptr) const;
  /// The signed value of one encoded element (or of a sum) as float.
  double DecodeOne(uint32_t word) const;
  /// Decodes the sum of `num_summed` encoded inputs; refuses num_summed > max_clients, where
  /// the sum may have wrapped.
  Result<std::vector<float>> DecodeSum(std::span<const uint32_t> sum, uint32_t num_summed) const;

 private:
  double clip_ = 0;
  double scale_ = 0;
  uint32_t modulus_bits_ = 32;
  uint32_t max_clients_ = 0;
};

/// Adds `b` into `a` element-wise mod 2^modulus_bits (plain aggregation; also what the masked
/// sum reduces to). Sizes must match.
Status AddModular(std::span<uint32_t> a, std::span<const uint32_t> b, uint32_t modulus_bits);

/// Where a client or the server is in the protocol.
enum class SecAggPhase : uint8_t {
  kAdvertiseKeys = 0,
  kShareKeys = 1,
  kMaskedInput = 2,
  kUnmask = 3,
  kDone = 4,
  kFailed = 5,  ///< a check failed; the party refuses every later message of the round
};
const char* SecAggPhaseName(SecAggPhase phase);

/// One client's side of a round. Each call consumes the server's message of the previous round
/// and returns the client's message for the next; calls must come in order, once each (an
/// identical repeat of the unmask request returns the same answer, for retries over HTTP).
class SecAggClient {
 public:
  static Result<SecAggClient> Create(const SecAggConfig& config, ClientId id);
  SecAggClient(SecAggClient&&) noexcept;
  SecAggClient& operator=(SecAggClient&&) noexcept;
  ~SecAggClient();  // wipes the secrets

  ClientId id() const;
  SecAggPhase phase() const;

  /// Round 0: fresh key pairs; returns the advertise-keys message.
  Result<Bytes> AdvertiseKeys();
  /// Round 1: takes the server's key list (U1), returns the encrypted shares message.
  Result<Bytes> ShareKeys(std::span<const uint8_t> key_list);
  /// Round 2: takes the shares addressed to this client (their senders are U2) and the encoded
  /// input (vector_length words < 2^modulus_bits), returns the masked input message.
  Result<Bytes> MaskedInput(std::span<const uint8_t> shares_for_me,
                            std::span<const uint32_t> encoded_input);
  /// Round 3: takes the survivor list (U3), returns the unmasking shares. Refuses a survivor
  /// set that differs from one already answered, a survivor outside U2, fewer than t
  /// survivors, or a list that leaves this client out.
  Result<Bytes> Unmask(std::span<const uint8_t> unmask_request);

 private:
  struct State;
  explicit SecAggClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// The server's side of a round. For each round: Receive*() once per client message (in any
/// order; `from` is the client the transport authenticated, which must match the message),
/// then Finish*() when the round's deadline passes; a client that sent nothing by then has
/// dropped. Finish*() fails when fewer clients than needed (t) remain.
class SecAggServer {
 public:
  static Result<SecAggServer> Create(const SecAggConfig& config);
  SecAggServer(SecAggServer&&) noexcept;
  SecAggServer& operator=(SecAggServer&&) noexcept;
  ~SecAggServer();

  SecAggPhase phase() const;

  Status ReceiveAdvertiseKeys(ClientId from, std::span<const uint8_t> message);
  /// Ends round 0: the key list to send to every client in U1.
  Result<Bytes> FinishAdvertiseKeys();

  Status ReceiveShareKeys(ClientId from, std::span<const uint8_t> message);
  /// Ends round 1: for every client in U2, the message with the shares addressed to it.
  Result<std::map<ClientId, Bytes>> FinishShareKeys();

  Status ReceiveMaskedInput(ClientId from, std::span<const uint8_t> message);
  /// Ends round 2: the unmask request to send to every client in U3 (the survivors).
  Result<Bytes> FinishMaskedInput();

  Status ReceiveUnmask(ClientId from, std::span<const uint8_t> message);
  /// Ends round 3: Σ_{u in U3} x_u mod 2^modulus_bits. Fails when some secret it needs has
  /// fewer than t shares.
  Result<std::vector<uint32_t>> FinishUnmask();

  /// The clients whose inputs are in the sum (U3), ascending; valid after FinishMaskedInput().
  const std::vector<ClientId>& survivors() const;

 private:
  struct State;
  explicit SecAggServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

/// Per-round message types on the wire (byte 5 of every message).
enum class SecAggMessageType : uint8_t {
  kAdvertiseKeys = 1,
  kKeyList = 2,
  kShareKeys = 3,
  kSharesForClient = 4,
  kMaskedInput = 5,
  kUnmaskRequest = 6,
  kUnmaskResponse = 7,
};

/// The unmask request as the server builds it; public so a coordinator (or a test playing a
/// malicious server) can build one without a SecAggServer.
Bytes EncodeUnmaskRequest(uint64_t round_id, std::span<const ClientId> survivors);

}  // namespace tern::fl
