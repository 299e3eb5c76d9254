// The client side of secure aggregation (see secagg.h for the protocol). The state machine
// enforces the order of the rounds; the one rule that protects a client's input against a
// dishonest server lives in Unmask(): for each peer it reveals either the share of the self-mask
// seed or the share of the mask key, and it answers a single survivor set, so no peer ever has
// both of its secrets exposed.
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fl/privacy/messages.h"
#include "fl/privacy/secagg.h"
#include "fl/privacy/secagg_crypto.h"

namespace tern::fl {

struct SecAggClient::State {
  SecAggConfig config;
  ClientId id = 0;
  SecAggPhase phase = SecAggPhase::kAdvertiseKeys;
  std::vector<ClientId> graph_peers;  // peers in the (SecAgg+) graph, ascending
  X25519KeyPair cipher_keys;
  X25519KeyPair mask_keys;
  Key32 seed{};                                         // b_u, the self-mask seed
  std::map<ClientId, KeyListMessage::Entry> peer_keys;  // graph peers in U1
  // Share-encryption keys agreed in round 1, kept to decrypt the peers' shares in round 2: an
  // X25519 operation per peer saved, and nothing the client did not already hold (its secret key).
  std::map<ClientId, Key32> share_keys;
  ShamirShare own_seed_share{};
  std::map<ClientId, SharePlaintext> held;  // shares from peers in U2
  Bytes unmask_request;                     // the one request answered, and the answer
  Bytes unmask_response;

  ~State() {
    cipher_keys.Wipe();
    mask_keys.Wipe();
    sodium_memzero(seed.data(), seed.size());
    for (auto& [peer, key] : share_keys) sodium_memzero(key.data(), key.size());
    for (auto& [peer, share] : held) {
      sodium_memzero(share.mask_key_share.data(), sizeof(share.mask_key_share));
      sodium_memzero(share.seed_share.data(), sizeof(share.seed_share));
    }
  }

  Status Expect(SecAggPhase expected, const char* step) const {
    if (phase == expected) return Status::Ok();
    return Status(StatusCode::kFailedPrecondition,
                  "secagg client " + std::to_string(id) + ": " + step + " called in phase " +
                      SecAggPhaseName(phase) + ", expected " + SecAggPhaseName(expected));
  }
  Status Fail(const Status& st) {
    phase = SecAggPhase::kFailed;
    return st.WithContext("secagg client " + std::to_string(id));
  }

  Result<Bytes> ShareKeys(std::span<const uint8_t> bytes);
  Result<Bytes> MaskedInput(std::span<const uint8_t> bytes, std::span<const uint32_t> input);
  Result<Bytes> Unmask(const UnmaskRequestMessage& request);
};

Result<SecAggClient> SecAggClient::Create(const SecAggConfig& config, ClientId id) {
  TERN_RETURN_IF_ERROR(EnsureSodiumReady());
  TERN_RETURN_IF_ERROR(config.Validate());
  if (id < 1 || id > config.num_clients) {
    return InvalidArgument("secagg client id " + std::to_string(id) + " outside 1.." +
                           std::to_string(config.num_clients));
  }
  auto state = std::make_unique<State>();
  state->config = config;
  state->id = id;
  state->graph_peers = SecAggPeers(config, id);
  return SecAggClient(std::move(state));
}

SecAggClient::SecAggClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
SecAggClient::SecAggClient(SecAggClient&&) noexcept = default;
SecAggClient& SecAggClient::operator=(SecAggClient&&) noexcept = default;
SecAggClient::~SecAggClient() = default;

ClientId SecAggClient::id() const { return state_->id; }
SecAggPhase SecAggClient::phase() const { return state_->phase; }

Result<Bytes> SecAggClient::AdvertiseKeys() {
  State& s = *state_;
  TERN_RETURN_IF_ERROR(s.Expect(SecAggPhase::kAdvertiseKeys, "AdvertiseKeys"));
  s.cipher_keys = GenerateX25519();
  s.mask_keys = GenerateX25519();
  s.phase = SecAggPhase::kShareKeys;
  AdvertiseKeysMessage m{s.id, s.cipher_keys.public_key, s.mask_keys.public_key};
  return Encode(s.config.round_id, m);
}

Result<Bytes> SecAggClient::ShareKeys(std::span<const uint8_t> key_list) {
  TERN_RETURN_IF_ERROR(state_->Expect(SecAggPhase::kShareKeys, "ShareKeys"));
  auto out = state_->ShareKeys(key_list);
  if (!out.ok()) return state_->Fail(out.status());
  state_->phase = SecAggPhase::kMaskedInput;
  return out;
}

Result<Bytes> SecAggClient::State::ShareKeys(std::span<const uint8_t> bytes) {
  TERN_ASSIGN_OR_RETURN(KeyListMessage list, ParseKeyList(bytes, config));
  if (list.clients.size() < config.threshold) {
    return InvalidArgument("key list has " + std::to_string(list.clients.size()) +
                           " clients, below the threshold " + std::to_string(config.threshold));
  }
  // Every key must be distinct: a server that hands out copies of one client's key could make
  // two clients agree the same masks.
  // (A sorted vector, not a set: every client checks the whole list, which SecAgg+ simulations
  // with a thousand clients do a thousand times a round.)
  std::vector<Key32> keys;
  keys.reserve(2 * list.clients.size());
  for (const auto& e : list.clients) {
    keys.push_back(e.cipher_public_key);
    keys.push_back(e.mask_public_key);
  }
  std::sort(keys.begin(), keys.end());
  if (auto dup = std::adjacent_find(keys.begin(), keys.end()); dup != keys.end()) {
    ClientId holder = 0;
    for (const auto& e : list.clients)
      if (e.cipher_public_key == *dup || e.mask_public_key == *dup) holder = e.id;
    return InvalidArgument("key list repeats a public key (client " + std::to_string(holder) + ")");
  }
  bool listed_self = false;
  for (const auto& e : list.clients) {
    if (e.id == id) {
      if (e.cipher_public_key != cipher_keys.public_key ||
          e.mask_public_key != mask_keys.public_key) {
        return InvalidArgument("key list carries keys for this client that it did not advertise");
      }
      listed_self = true;
    } else if (std::binary_search(graph_peers.begin(), graph_peers.end(), e.id)) {
      peer_keys.emplace(e.id, e);
    }
  }
  if (!listed_self) return InvalidArgument("key list leaves this client out");
  if (peer_keys.size() + 1 < config.threshold) {
    return InvalidArgument("only " + std::to_string(peer_keys.size()) +
                           " neighbours advertised keys; the threshold needs " +
                           std::to_string(config.threshold - 1));
  }

  // Shares of the mask secret key and of the self-mask seed, for the peers in U1 and itself.
  randombytes_buf(seed.data(), seed.size());
  std::vector<uint32_t> holders;
  for (const auto& [peer, keys_of_peer] : peer_keys) holders.push_back(peer);
  holders.push_back(id);
  TERN_ASSIGN_OR_RETURN(std::vector<ShamirShare> key_shares,
                        ShamirSplit(mask_keys.secret_key, config.threshold, holders));
  TERN_ASSIGN_OR_RETURN(std::vector<ShamirShare> seed_shares,
                        ShamirSplit(seed, config.threshold, holders));
  own_seed_share = seed_shares.back();  // its own key share is never needed: dropped clients
                                        // do not answer
  ShareKeysMessage out;
  out.sender = id;
  out.shares.reserve(peer_keys.size());
  for (size_t i = 0; i + 1 < holders.size(); ++i) {
    ClientId peer = holders[i];
    TERN_ASSIGN_OR_RETURN(
        Key32 key, AgreeKey(KeyPurpose::kShareEncryption, config.round_id, cipher_keys.secret_key,
                            peer_keys[peer].cipher_public_key, id, peer));
    SharePlaintext plain{id, peer, key_shares[i], seed_shares[i]};
    out.shares.push_back({peer, EncryptShare(key, config.round_id, plain)});
    share_keys[peer] = key;
    sodium_memzero(key.data(), key.size());
  }
  sodium_memzero(key_shares.data(), key_shares.size() * sizeof(ShamirShare));
  sodium_memzero(seed_shares.data(), seed_shares.size() * sizeof(ShamirShare));
  return Encode(config.round_id, out);
}

Result<Bytes> SecAggClient::MaskedInput(std::span<const uint8_t> shares_for_me,
                                        std::span<const uint32_t> encoded_input) {
  TERN_RETURN_IF_ERROR(state_->Expect(SecAggPhase::kMaskedInput, "MaskedInput"));
  auto out = state_->MaskedInput(shares_for_me, encoded_input);
  if (!out.ok()) return state_->Fail(out.status());
  state_->phase = SecAggPhase::kUnmask;
  return out;
}

Result<Bytes> SecAggClient::State::MaskedInput(std::span<const uint8_t> bytes,
                                               std::span<const uint32_t> input) {
  if (input.size() != config.vector_length) {
    return InvalidArgument("input has " + std::to_string(input.size()) + " elements, expected " +
                           std::to_string(config.vector_length));
  }
  const uint32_t modulus_mask = ModulusMask(config.modulus_bits);
  for (uint32_t w : input) {
    if ((w & ~modulus_mask) != 0) {
      return InvalidArgument("input element above 2^" + std::to_string(config.modulus_bits) +
                             " (encode it with FixedPointCodec)");
    }
  }
  TERN_ASSIGN_OR_RETURN(SharesForClientMessage m, ParseSharesForClient(bytes, config));
  if (m.recipient != id) {
    return InvalidArgument("shares-for-client message is addressed to client " +
                           std::to_string(m.recipient));
  }
  if (m.shares.size() + 1 < config.threshold) {
    return InvalidArgument("only " + std::to_string(m.shares.size()) +
                           " neighbours shared keys (U2); the threshold needs " +
                           std::to_string(config.threshold - 1));
  }
  for (const auto& share : m.shares) {
    auto peer = peer_keys.find(share.peer);
    if (peer == peer_keys.end()) {
      return InvalidArgument("share from client " + std::to_string(share.peer) +
                             ", which is not a neighbour that advertised keys");
    }
    auto cached = share_keys.find(share.peer);
    if (cached == share_keys.end()) {
      return InvalidArgument("share from client " + std::to_string(share.peer) +
                             ", to which this client sent no share");
    }
    auto plain = DecryptShare(cached->second, config.round_id, share.peer, id, share.ciphertext);
    if (!plain.ok()) return plain.status();
    held.emplace(share.peer, *plain);
  }

  // y = x + PRG(b) + Σ_{v in U2, v < u} PRG(s_uv) - Σ_{v in U2, v > u} PRG(s_uv)  (mod 2^k)
  MaskedInputMessage out;
  out.sender = id;
  out.masked.assign(input.begin(), input.end());
  Key32 self_key = SelfMaskKey(config.round_id, seed);
  ApplyMask(self_key, /*negate=*/false, out.masked);
  sodium_memzero(self_key.data(), self_key.size());
  for (const auto& [peer, share] : held) {
    TERN_ASSIGN_OR_RETURN(Key32 key,
                          AgreeKey(KeyPurpose::kPairwiseMask, config.round_id, mask_keys.secret_key,
                                   peer_keys[peer].mask_public_key, id, peer));
    ApplyMask(key, /*negate=*/id < peer, out.masked);
    sodium_memzero(key.data(), key.size());
  }
  for (uint32_t& w : out.masked) w &= modulus_mask;
  // The secrets are not needed any more: the peers hold their shares.
  mask_keys.Wipe();
  cipher_keys.Wipe();
  sodium_memzero(seed.data(), seed.size());
  return Encode(config.round_id, out);
}

Result<Bytes> SecAggClient::Unmask(std::span<const uint8_t> unmask_request) {
  State& s = *state_;
  if (s.phase == SecAggPhase::kDone) {
    // A retry of the same request gets the same answer (nothing new is revealed); any other
    // survivor set is refused without failing the client, as answering it could expose both
    // secrets of a peer.
    if (std::equal(unmask_request.begin(), unmask_request.end(), s.unmask_request.begin(),
                   s.unmask_request.end())) {
      return s.unmask_response;
    }
    return Status(StatusCode::kFailedPrecondition,
                  "secagg client " + std::to_string(s.id) +
                      ": refusing a second unmask request with a different survivor set (it "
                      "would reveal both the seed share and the key share of some peer)");
  }
  TERN_RETURN_IF_ERROR(s.Expect(SecAggPhase::kUnmask, "Unmask"));
  auto request = ParseUnmaskRequest(unmask_request, s.config);
  if (!request.ok()) return s.Fail(request.status());
  auto out = s.Unmask(*request);
  if (!out.ok()) return s.Fail(out.status());
  s.unmask_request.assign(unmask_request.begin(), unmask_request.end());
  s.unmask_response = *out;
  s.phase = SecAggPhase::kDone;
  return out;
}

Result<Bytes> SecAggClient::State::Unmask(const UnmaskRequestMessage& request) {
  const auto& survivors = request.survivors;
  if (survivors.size() < config.threshold) {
    return InvalidArgument("unmask request lists " + std::to_string(survivors.size()) +
                           " survivors, below the threshold " + std::to_string(config.threshold));
  }
  if (!std::binary_search(survivors.begin(), survivors.end(), id)) {
    return InvalidArgument("unmask request leaves this client out of the survivors");
  }
  // A neighbour listed as a survivor must have shared keys with this client (be in U2): the
  // server cannot have its masked input otherwise.
  for (ClientId v : survivors) {
    if (v != id && std::binary_search(graph_peers.begin(), graph_peers.end(), v) &&
        held.count(v) == 0) {
      return InvalidArgument("unmask request lists client " + std::to_string(v) +
                             " as a survivor, but it did not share keys in round 1");
    }
  }
  UnmaskResponseMessage out;
  out.sender = id;
  bool self_added = false;
  auto add_self = [&] {
    out.entries.push_back({id, ShareKind::kSeed, own_seed_share});
    self_added = true;
  };
  for (const auto& [peer, share] : held) {
    if (!self_added && peer > id) add_self();
    bool survived = std::binary_search(survivors.begin(), survivors.end(), peer);
    // Exactly one of the two shares per peer: the seed share of a survivor (to remove its self
    // mask), the key share of a dropped client (to remove the pairwise masks it left).
    if (survived) {
      out.entries.push_back({peer, ShareKind::kSeed, share.seed_share});
    } else {
      out.entries.push_back({peer, ShareKind::kMaskKey, share.mask_key_share});
    }
  }
  if (!self_added) add_self();
  return Encode(config.round_id, out);
}

}  // namespace tern::fl
