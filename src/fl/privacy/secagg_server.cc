// The server side of secure aggregation (see secagg.h for the protocol). The server never holds
// an unmasked input: it adds the masked inputs into one running sum as they arrive, and after
// the unmask round removes the self masks of the survivors and the pairwise masks that the
// dropped clients left in their neighbours' inputs.
#include <sodium.h>

#include <algorithm>
#include <set>
#include <string>

#include "fl/privacy/messages.h"
#include "fl/privacy/secagg.h"
#include "fl/privacy/secagg_crypto.h"

namespace tern::fl {

namespace {

struct HeldShare {
  ClientId holder = 0;
  ShamirShare share{};
};

}  // namespace

struct SecAggServer::State {
  SecAggConfig config;
  SecAggPhase phase = SecAggPhase::kAdvertiseKeys;
  std::vector<std::vector<ClientId>> peers;  // by client id; [0] unused
  std::set<ClientId> u1;
  std::map<ClientId, KeyListMessage::Entry> advertised;              // U1's keys
  std::map<ClientId, std::vector<AddressedShare>> shares_by_sender;  // U2, until forwarded
  std::set<ClientId> u2;
  std::set<ClientId> masked_from;  // U3 while round 2 runs
  std::vector<ClientId> survivors;
  std::vector<uint32_t> sum;
  std::set<ClientId> responded;
  std::map<ClientId, std::vector<HeldShare>> seed_shares;  // by owner (survivors)
  std::map<ClientId, std::vector<HeldShare>> key_shares;   // by owner (dropped)
  LagrangeCache lagrange;

  // Parses a client's message after the checks every one of them must pass: a known sender in
  // the right phase, the message's sender equal to the transport's, a member of the previous
  // round's set (`admitted`, when given; `role` says what membership means), and the first
  // message of its kind from it (`seen`). A Receive*() error is about one client's message: it
  // is refused and the round goes on.
  template <typename Message>
  Result<Message> Accept(SecAggPhase expected, ClientId from, std::span<const uint8_t> bytes,
                         Result<Message> (*parse)(std::span<const uint8_t>, const SecAggConfig&),
                         const char* what, const std::set<ClientId>* admitted, const char* role,
                         const std::set<ClientId>& seen) const {
    const std::string prefix = std::string(what) + " message from ";
    if (from < 1 || from > config.num_clients) {
      return InvalidArgument(prefix + "unknown client " + std::to_string(from));
    }
    if (phase != expected) {
      return Status(StatusCode::kFailedPrecondition, prefix + "client " + std::to_string(from) +
                                                         " arrived in phase " +
                                                         SecAggPhaseName(phase));
    }
    TERN_ASSIGN_OR_RETURN(Message m, parse(bytes, config));
    if (m.sender != from) {
      return InvalidArgument(std::string(what) + " message claims to be from client " +
                             std::to_string(m.sender) + " but came from client " +
                             std::to_string(from));
    }
    if (admitted != nullptr && admitted->count(from) == 0) {
      return InvalidArgument(prefix + "client " + std::to_string(from) + ", which " + role);
    }
    if (seen.count(from))
      return InvalidArgument("duplicate " + prefix + "client " + std::to_string(from));
    return m;
  }
  // The peers of `client` that are in `set`, ascending, with `client` itself when asked.
  std::vector<ClientId> PeersIn(ClientId client, const std::set<ClientId>& set,
                                bool with_self) const {
    std::vector<ClientId> out;
    for (ClientId v : peers[client]) {
      if (set.count(v)) out.push_back(v);
    }
    if (with_self) out.insert(std::upper_bound(out.begin(), out.end(), client), client);
    return out;
  }
  Status Finish(SecAggPhase expected, size_t have, const char* what) {
    if (phase != expected) {
      return Status(
          StatusCode::kFailedPrecondition,
          std::string("secagg server: ") + what + " called in phase " + SecAggPhaseName(phase));
    }
    if (have < config.threshold) {
      phase = SecAggPhase::kFailed;
      return Status(StatusCode::kFailedPrecondition,
                    std::string("secagg server: ") + what + ": only " + std::to_string(have) +
                        " clients left, below the threshold " + std::to_string(config.threshold));
    }
    return Status::Ok();
  }
  Result<ShamirSecret> Rebuild(std::vector<HeldShare>& shares, ClientId owner, const char* what);
  Result<std::vector<uint32_t>> Unmask();
};

Result<SecAggServer> SecAggServer::Create(const SecAggConfig& config) {
  TERN_RETURN_IF_ERROR(EnsureSodiumReady());
  TERN_RETURN_IF_ERROR(config.Validate());
  auto state = std::make_unique<State>();
  state->config = config;
  state->peers.resize(config.num_clients + 1);
  for (ClientId id = 1; id <= config.num_clients; ++id) state->peers[id] = SecAggPeers(config, id);
  state->sum.assign(config.vector_length, 0);
  return SecAggServer(std::move(state));
}

SecAggServer::SecAggServer(std::unique_ptr<State> state) : state_(std::move(state)) {}
SecAggServer::SecAggServer(SecAggServer&&) noexcept = default;
SecAggServer& SecAggServer::operator=(SecAggServer&&) noexcept = default;
SecAggServer::~SecAggServer() = default;

SecAggPhase SecAggServer::phase() const { return state_->phase; }
const std::vector<ClientId>& SecAggServer::survivors() const { return state_->survivors; }

// ---- round 0 ----

Status SecAggServer::ReceiveAdvertiseKeys(ClientId from, std::span<const uint8_t> message) {
  State& s = *state_;
  TERN_ASSIGN_OR_RETURN(AdvertiseKeysMessage m,
                        s.Accept(SecAggPhase::kAdvertiseKeys, from, message, &ParseAdvertiseKeys,
                                 "advertise-keys", nullptr, "", s.u1));
  s.u1.insert(from);
  s.advertised.emplace(from, KeyListMessage::Entry{from, m.cipher_public_key, m.mask_public_key});
  return Status::Ok();
}

Result<Bytes> SecAggServer::FinishAdvertiseKeys() {
  State& s = *state_;
  TERN_RETURN_IF_ERROR(
      s.Finish(SecAggPhase::kAdvertiseKeys, s.advertised.size(), "FinishAdvertiseKeys"));
  KeyListMessage list;
  for (const auto& [id, entry] : s.advertised) list.clients.push_back(entry);
  s.phase = SecAggPhase::kShareKeys;
  return Encode(s.config.round_id, list);
}

// ---- round 1 ----

Status SecAggServer::ReceiveShareKeys(ClientId from, std::span<const uint8_t> message) {
  State& s = *state_;
  TERN_ASSIGN_OR_RETURN(ShareKeysMessage m,
                        s.Accept(SecAggPhase::kShareKeys, from, message, &ParseShareKeys,
                                 "share-keys", &s.u1, "did not advertise keys", s.u2));
  // One share for each neighbour in U1, no more and no fewer.
  std::vector<ClientId> expected = s.PeersIn(from, s.u1, /*with_self=*/false);
  bool same = m.shares.size() == expected.size();
  for (size_t i = 0; same && i < expected.size(); ++i) same = m.shares[i].peer == expected[i];
  if (!same) {
    return InvalidArgument("share-keys message from client " + std::to_string(from) + " has " +
                           std::to_string(m.shares.size()) +
                           " shares that do not match its neighbours in U1 (" +
                           std::to_string(expected.size()) + ")");
  }
  s.shares_by_sender.emplace(from, std::move(m.shares));
  s.u2.insert(from);
  return Status::Ok();
}

Result<std::map<ClientId, Bytes>> SecAggServer::FinishShareKeys() {
  State& s = *state_;
  TERN_RETURN_IF_ERROR(s.Finish(SecAggPhase::kShareKeys, s.u2.size(), "FinishShareKeys"));
  std::map<ClientId, SharesForClientMessage> by_recipient;
  for (ClientId v : s.u2) by_recipient[v].recipient = v;
  // Senders come in ascending order, so every recipient's list is ascending too.
  for (auto& [sender, shares] : s.shares_by_sender) {
    for (auto& share : shares) {
      auto it = by_recipient.find(share.peer);
      if (it != by_recipient.end()) it->second.shares.push_back({sender, share.ciphertext});
    }
  }
  s.shares_by_sender.clear();
  std::map<ClientId, Bytes> out;
  for (const auto& [v, m] : by_recipient) out.emplace(v, Encode(s.config.round_id, m));
  s.phase = SecAggPhase::kMaskedInput;
  return out;
}

// ---- round 2 ----

Status SecAggServer::ReceiveMaskedInput(ClientId from, std::span<const uint8_t> message) {
  State& s = *state_;
  TERN_ASSIGN_OR_RETURN(MaskedInputMessage m,
                        s.Accept(SecAggPhase::kMaskedInput, from, message, &ParseMaskedInput,
                                 "masked-input", &s.u2, "did not share keys", s.masked_from));
  // Wraps mod 2^32; the reduction mod 2^k happens once at the end.
  for (size_t i = 0; i < s.sum.size(); ++i) s.sum[i] += m.masked[i];
  s.masked_from.insert(from);
  return Status::Ok();
}

Result<Bytes> SecAggServer::FinishMaskedInput() {
  State& s = *state_;
  TERN_RETURN_IF_ERROR(
      s.Finish(SecAggPhase::kMaskedInput, s.masked_from.size(), "FinishMaskedInput"));
  s.survivors.assign(s.masked_from.begin(), s.masked_from.end());
  s.phase = SecAggPhase::kUnmask;
  return EncodeUnmaskRequest(s.config.round_id, s.survivors);
}

// ---- round 3 ----

Status SecAggServer::ReceiveUnmask(ClientId from, std::span<const uint8_t> message) {
  State& s = *state_;
  TERN_ASSIGN_OR_RETURN(
      UnmaskResponseMessage m,
      s.Accept(SecAggPhase::kUnmask, from, message, &ParseUnmaskResponse, "unmask-response",
               &s.masked_from, "is not a survivor", s.responded));
  // The client holds shares from itself and its neighbours in U2: one entry for each, of the
  // kind the survivor list calls for.
  std::vector<ClientId> expected = s.PeersIn(from, s.u2, /*with_self=*/true);
  if (m.entries.size() != expected.size()) {
    return InvalidArgument("unmask-response message from client " + std::to_string(from) + " has " +
                           std::to_string(m.entries.size()) + " shares, expected " +
                           std::to_string(expected.size()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& e = m.entries[i];
    ShareKind want = s.masked_from.count(e.owner) ? ShareKind::kSeed : ShareKind::kMaskKey;
    if (e.owner != expected[i] || e.kind != want) {
      return InvalidArgument("unmask-response message from client " + std::to_string(from) +
                             ": unexpected share for client " + std::to_string(e.owner));
    }
  }
  for (const auto& e : m.entries) {
    auto& bucket = e.kind == ShareKind::kSeed ? s.seed_shares : s.key_shares;
    bucket[e.owner].push_back({from, e.share});
  }
  s.responded.insert(from);
  return Status::Ok();
}

Result<ShamirSecret> SecAggServer::State::Rebuild(std::vector<HeldShare>& shares, ClientId owner,
                                                  const char* what) {
  if (shares.size() < config.threshold) {
    return Status(StatusCode::kFailedPrecondition,
                  std::string("secagg server: cannot rebuild the ") + what + " of client " +
                      std::to_string(owner) + ": " + std::to_string(shares.size()) +
                      " shares, the threshold is " + std::to_string(config.threshold));
  }
  // The lowest t holders: in a round without many dropouts most owners share that set, so
  // their Lagrange coefficients come from the cache.
  std::sort(shares.begin(), shares.end(),
            [](const HeldShare& a, const HeldShare& b) { return a.holder < b.holder; });
  std::vector<uint32_t> xs;
  std::vector<ShamirShare> values;
  for (uint32_t i = 0; i < config.threshold; ++i) {
    xs.push_back(shares[i].holder);
    values.push_back(shares[i].share);
  }
  TERN_ASSIGN_OR_RETURN(const std::vector<uint64_t>* coefficients, lagrange.Get(xs));
  auto secret = ShamirCombine(values, *coefficients);
  if (!secret.ok()) {
    return secret.status().WithContext(std::string("secagg server: ") + what + " of client " +
                                       std::to_string(owner));
  }
  return secret;
}

Result<std::vector<uint32_t>> SecAggServer::State::Unmask() {
  // Self masks of the survivors.
  for (ClientId u : survivors) {
    TERN_ASSIGN_OR_RETURN(ShamirSecret seed, Rebuild(seed_shares[u], u, "self-mask seed"));
    Key32 key = SelfMaskKey(config.round_id, seed);
    ApplyMask(key, /*negate=*/true, sum);
  }
  // Pairwise masks between survivors cancel; those with clients that dropped after sharing
  // keys (U2 \ U3) do not, and are rebuilt from the dropped client's mask key.
  for (ClientId v : u2) {
    if (masked_from.count(v)) continue;
    std::vector<ClientId> affected;
    for (ClientId u : peers[v]) {
      if (masked_from.count(u)) affected.push_back(u);
    }
    if (affected.empty()) continue;
    TERN_ASSIGN_OR_RETURN(ShamirSecret secret_key, Rebuild(key_shares[v], v, "mask key"));
    if (X25519PublicOf(secret_key) != advertised[v].mask_public_key) {
      return Status(StatusCode::kFailedPrecondition,
                    "secagg server: the mask key rebuilt for client " + std::to_string(v) +
                        " does not match the key it advertised (a corrupt share)");
    }
    for (ClientId u : affected) {
      TERN_ASSIGN_OR_RETURN(Key32 key, AgreeKey(KeyPurpose::kPairwiseMask, config.round_id,
                                                secret_key, advertised[u].mask_public_key, v, u));
      // u added +PRG when u > v and -PRG when u < v; take that term back out.
      ApplyMask(key, /*negate=*/u > v, sum);
    }
    sodium_memzero(secret_key.data(), secret_key.size());
  }
  const uint32_t mask = ModulusMask(config.modulus_bits);
  for (uint32_t& w : sum) w &= mask;
  return std::move(sum);
}

Result<std::vector<uint32_t>> SecAggServer::FinishUnmask() {
  State& s = *state_;
  TERN_RETURN_IF_ERROR(s.Finish(SecAggPhase::kUnmask, s.responded.size(), "FinishUnmask"));
  auto result = s.Unmask();
  s.phase = result.ok() ? SecAggPhase::kDone : SecAggPhase::kFailed;
  return result;
}

}  // namespace tern::fl
