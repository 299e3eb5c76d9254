// Secure aggregation: the unmasked sum equals the plain sum of the survivors' inputs exactly,
// whatever phase clients drop out in, for SecAgg and SecAgg+; a dishonest server cannot get both
// secrets of a peer; tampered, duplicated or misplaced messages are refused.
#include "fl/privacy/secagg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <set>

#include "fl/privacy/messages.h"
#include "fl/privacy/shamir.h"
#include "secagg_harness.h"

namespace tern::fl {
namespace {

using testing::Dropouts;
using testing::RandomInputs;
using testing::RoundOutcome;
using testing::RunRound;

template <typename T>
T Take(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

SecAggConfig MakeConfig(uint32_t n, uint32_t t, uint32_t length, uint32_t neighbors = 0,
                        uint32_t bits = 32) {
  SecAggConfig c;
  c.num_clients = n;
  c.threshold = t;
  c.vector_length = length;
  c.neighbors = neighbors;
  c.modulus_bits = bits;
  c.round_id = 42;
  for (size_t i = 0; i < c.graph_seed.size(); ++i) c.graph_seed[i] = static_cast<uint8_t>(i * 7);
  return c;
}

void ExpectExactSum(const SecAggConfig& config, const Dropouts& dropouts,
                    std::vector<ClientId> expected_survivors) {
  auto inputs = RandomInputs(config, config.num_clients * 31 + config.threshold);
  RoundOutcome r = RunRound(config, inputs, dropouts);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.survivors, expected_survivors);
  ASSERT_EQ(r.sum.size(), config.vector_length);
  EXPECT_EQ(r.sum, r.plain_sum);
  // The sum must not be something that ignores the inputs.
  std::vector<uint32_t> zero(config.vector_length, 0);
  EXPECT_NE(r.sum, zero);
}

std::vector<ClientId> AllBut(uint32_t n, std::set<ClientId> gone) {
  std::vector<ClientId> out;
  for (ClientId id = 1; id <= n; ++id) {
    if (!gone.count(id)) out.push_back(id);
  }
  return out;
}

// ---- correctness with dropouts ----

struct SumCase {
  uint32_t n, t, neighbors, bits;
};

class SecAggSumTest : public ::testing::TestWithParam<SumCase> {};

TEST_P(SecAggSumTest, NoDropouts) {
  const SumCase& p = GetParam();
  auto config = MakeConfig(p.n, p.t, 257, p.neighbors, p.bits);
  ExpectExactSum(config, {}, AllBut(p.n, {}));
}

TEST_P(SecAggSumTest, DropoutAtEachPhase) {
  const SumCase& p = GetParam();
  auto config = MakeConfig(p.n, p.t, 100, p.neighbors, p.bits);
  ExpectExactSum(config, {.before_advertise = {2}}, AllBut(p.n, {2}));
  ExpectExactSum(config, {.before_share = {3}}, AllBut(p.n, {3}));
  ExpectExactSum(config, {.before_masked = {1}}, AllBut(p.n, {1}));
  ExpectExactSum(config, {.before_unmask = {p.n}}, AllBut(p.n, {}));  // its input still counts
}

TEST_P(SecAggSumTest, DropoutsAtAllPhasesTogether) {
  const SumCase& p = GetParam();
  // Three clients are gone by round 3 and a fourth does not answer it.
  auto config = MakeConfig(p.n, p.t, 64, p.neighbors, p.bits);
  if (p.n - 4 < p.t) {
    // Too few clients to lose four: one after sharing keys and one before unmasking.
    ExpectExactSum(config, {.before_share = {2}, .before_unmask = {1}}, AllBut(p.n, {2}));
    return;
  }
  Dropouts d{
      .before_advertise = {p.n}, .before_share = {2}, .before_masked = {4}, .before_unmask = {1}};
  ExpectExactSum(config, d, AllBut(p.n, {p.n, 2, 4}));
}

INSTANTIATE_TEST_SUITE_P(
    Configs, SecAggSumTest,
    ::testing::Values(SumCase{5, 3, 0, 32}, SumCase{9, 5, 0, 32}, SumCase{12, 4, 0, 16},
                      SumCase{7, 2, 0, 20},
                      // SecAgg+: k neighbours, t per neighbourhood of k+1 holders.
                      SumCase{20, 3, 6, 32}, SumCase{31, 4, 8, 32}, SumCase{16, 2, 4, 12}),
    [](const ::testing::TestParamInfo<SumCase>& info) {
      const SumCase& p = info.param;
      return std::string(p.neighbors ? "SecAggPlus" : "SecAgg") + "_n" + std::to_string(p.n) +
             "_t" + std::to_string(p.t) + (p.neighbors ? "_k" + std::to_string(p.neighbors) : "") +
             "_bits" + std::to_string(p.bits);
    });

TEST(SecAgg, ManyDropoutsDownToThreshold) {
  // n = 10, t = 5: five clients may go, spread over the phases.
  auto config = MakeConfig(10, 5, 50);
  Dropouts d{
      .before_advertise = {10}, .before_share = {9}, .before_masked = {3, 5}, .before_unmask = {1}};
  ExpectExactSum(config, d, AllBut(10, {3, 5, 9, 10}));
}

TEST(SecAgg, FloatUpdatesThroughFixedPoint) {
  auto config = MakeConfig(6, 4, 33);
  auto codec = FixedPointCodec::Create(/*clip=*/2.0, config.modulus_bits, config.num_clients);
  ASSERT_TRUE(codec.ok()) << codec.status().ToString();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-2.5f, 2.5f);  // some values get clamped
  std::vector<std::vector<float>> updates(6, std::vector<float>(33));
  std::vector<std::vector<uint32_t>> encoded;
  for (auto& u : updates) {
    for (float& v : u) v = dist(rng);
    encoded.push_back(codec->Encode(u));
  }
  RoundOutcome r = RunRound(config, encoded, {.before_masked = {2}});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.sum, r.plain_sum);
  auto decoded = codec->DecodeSum(r.sum, static_cast<uint32_t>(r.survivors.size()));
  ASSERT_TRUE(decoded.ok());
  for (size_t i = 0; i < 33; ++i) {
    double expected = 0;
    for (ClientId id : r.survivors) expected += std::clamp(updates[id - 1][i], -2.0f, 2.0f);
    EXPECT_NEAR((*decoded)[i], expected, 5 * 0.5 * codec->resolution() + 1e-6) << i;
  }
}

TEST(SecAgg, TooManyDropoutsFailsClearly) {
  auto config = MakeConfig(6, 4, 8);
  RoundOutcome r = RunRound(config, RandomInputs(config, 1), {.before_share = {1, 2, 3}});
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("below the threshold 4"), std::string::npos)
      << r.status.ToString();
  // Enough masked inputs but too few unmask answers: the self masks cannot be rebuilt.
  r = RunRound(config, RandomInputs(config, 1), {.before_unmask = {1, 2, 3}});
  ASSERT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("below the threshold"), std::string::npos)
      << r.status.ToString();
}

TEST(SecAggPlus, NeighbourGraphIsRegularSymmetricAndSeeded) {
  auto config = MakeConfig(50, 3, 1, 8);
  for (ClientId u = 1; u <= 50; ++u) {
    auto peers = SecAggPeers(config, u);
    ASSERT_EQ(peers.size(), 8u) << u;
    EXPECT_TRUE(std::is_sorted(peers.begin(), peers.end()));
    EXPECT_EQ(std::count(peers.begin(), peers.end(), u), 0);
    for (ClientId v : peers) {
      auto back = SecAggPeers(config, v);
      EXPECT_TRUE(std::binary_search(back.begin(), back.end(), u)) << u << "-" << v;
    }
  }
  auto other = config;
  other.graph_seed[0] ^= 1;
  int differ = 0;
  for (ClientId u = 1; u <= 50; ++u) differ += SecAggPeers(config, u) != SecAggPeers(other, u);
  EXPECT_GT(differ, 25);
  // SecAgg: everyone.
  EXPECT_EQ(SecAggPeers(MakeConfig(5, 3, 1), 3), (std::vector<ClientId>{1, 2, 4, 5}));
}

TEST(SecAggPlus, ClientMasksOnlyWithNeighbours) {
  // In SecAgg+ a client's share-keys message carries exactly one ciphertext per neighbour.
  auto config = MakeConfig(40, 3, 4, 6);
  auto server = SecAggServer::Create(config);
  ASSERT_TRUE(server.ok());
  std::vector<SecAggClient> clients;
  for (ClientId id = 1; id <= 40; ++id) {
    clients.push_back(Take(SecAggClient::Create(config, id)));
    ASSERT_TRUE(server->ReceiveAdvertiseKeys(id, *clients.back().AdvertiseKeys()).ok());
  }
  auto list = server->FinishAdvertiseKeys();
  ASSERT_TRUE(list.ok());
  auto m = clients[6].ShareKeys(*list);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto parsed = ParseShareKeys(*m, config);
  ASSERT_TRUE(parsed.ok());
  std::vector<ClientId> to;
  for (const auto& s : parsed->shares) to.push_back(s.peer);
  EXPECT_EQ(to, SecAggPeers(config, 7));
}

// ---- a dishonest server ----

// Runs rounds 0-2 with every client and returns them waiting for the unmask request.
struct UpToUnmask {
  SecAggConfig config;
  std::vector<SecAggClient> clients;
  Bytes request;
};

UpToUnmask RunToUnmask(uint32_t n, uint32_t t, std::set<ClientId> drop_before_masked = {}) {
  UpToUnmask s;
  s.config = MakeConfig(n, t, 16);
  auto server = SecAggServer::Create(s.config);
  EXPECT_TRUE(server.ok());
  for (ClientId id = 1; id <= n; ++id) {
    s.clients.push_back(Take(SecAggClient::Create(s.config, id)));
    EXPECT_TRUE(server->ReceiveAdvertiseKeys(id, *s.clients.back().AdvertiseKeys()).ok());
  }
  auto list = server->FinishAdvertiseKeys();
  for (auto& c : s.clients) EXPECT_TRUE(server->ReceiveShareKeys(c.id(), *c.ShareKeys(*list)).ok());
  auto shares = server->FinishShareKeys();
  auto inputs = RandomInputs(s.config, 3);
  for (auto& c : s.clients) {
    if (drop_before_masked.count(c.id())) continue;
    auto m = c.MaskedInput(shares->at(c.id()), inputs[c.id() - 1]);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_TRUE(server->ReceiveMaskedInput(c.id(), *m).ok());
  }
  s.request = *server->FinishMaskedInput();
  return s;
}

TEST(SecAggMaliciousServer, RefusesToRevealBothSharesOfAPeer) {
  auto s = RunToUnmask(6, 3);
  SecAggClient& client = s.clients[0];
  // The honest request: everyone survived, so client 1 reveals seed shares only.
  auto first = client.Unmask(s.request);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto parsed = ParseUnmaskResponse(*first, s.config);
  ASSERT_TRUE(parsed.ok());
  for (const auto& e : parsed->entries) EXPECT_EQ(e.kind, ShareKind::kSeed) << e.owner;
  // A retry of the same request gets the same bytes.
  auto retry = client.Unmask(s.request);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(*retry, *first);
  // Now the server claims client 4 dropped, to get its key share too: refused.
  std::vector<ClientId> lie = {1, 2, 3, 5, 6};
  auto second = client.Unmask(EncodeUnmaskRequest(s.config.round_id, lie));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("both the seed share and the key share"),
            std::string::npos)
      << second.status().ToString();
}

TEST(SecAggMaliciousServer, EachAnswerHasOneShareKindPerPeer) {
  // Client 4 really dropped before its masked input: survivors get its key share only, and
  // every owner appears once.
  auto s = RunToUnmask(6, 3, {4});
  for (auto& c : s.clients) {
    if (c.id() == 4) continue;
    auto answer = c.Unmask(s.request);
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    auto parsed = ParseUnmaskResponse(*answer, s.config);
    ASSERT_TRUE(parsed.ok());
    std::set<ClientId> owners;
    for (const auto& e : parsed->entries) {
      EXPECT_TRUE(owners.insert(e.owner).second);
      EXPECT_EQ(e.kind, e.owner == 4 ? ShareKind::kMaskKey : ShareKind::kSeed);
    }
    EXPECT_EQ(owners.size(), 6u);
  }
}

TEST(SecAggMaliciousServer, RefusesBadSurvivorLists) {
  auto s = RunToUnmask(6, 4, {4});
  // Client 4 did share keys, so listing it as a survivor is allowed by client 1's view (it is
  // in U2); a survivor list below the threshold or without the client itself is not.
  auto below = s.clients[0].Unmask(EncodeUnmaskRequest(s.config.round_id, {{1, 2, 3}}));
  ASSERT_FALSE(below.ok());
  EXPECT_NE(below.status().message().find("below the threshold"), std::string::npos);
  auto without_self = s.clients[1].Unmask(EncodeUnmaskRequest(s.config.round_id, {{1, 3, 5, 6}}));
  ASSERT_FALSE(without_self.ok());
  EXPECT_NE(without_self.status().message().find("leaves this client out"), std::string::npos);
  // Unordered or repeated ids.
  auto repeated = s.clients[2].Unmask(EncodeUnmaskRequest(s.config.round_id, {{1, 3, 3, 5}}));
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.status().message().find("repeated"), std::string::npos);
  // A failed client stays failed.
  EXPECT_EQ(s.clients[0].phase(), SecAggPhase::kFailed);
  EXPECT_FALSE(s.clients[0].Unmask(s.request).ok());
}

TEST(SecAggMaliciousServer, SurvivorThatNeverSharedKeysIsRefused) {
  // Client 6 never shared keys (not in U2); a server cannot list it as a survivor.
  SecAggConfig config = MakeConfig(6, 3, 8);
  auto server = SecAggServer::Create(config);
  std::vector<SecAggClient> clients;
  for (ClientId id = 1; id <= 6; ++id) {
    clients.push_back(Take(SecAggClient::Create(config, id)));
    ASSERT_TRUE(server->ReceiveAdvertiseKeys(id, *clients.back().AdvertiseKeys()).ok());
  }
  auto list = server->FinishAdvertiseKeys();
  for (ClientId id = 1; id <= 5; ++id) {
    ASSERT_TRUE(server->ReceiveShareKeys(id, *clients[id - 1].ShareKeys(*list)).ok());
  }
  auto shares = server->FinishShareKeys();
  auto inputs = RandomInputs(config, 9);
  ASSERT_TRUE(clients[0].MaskedInput(shares->at(1), inputs[0]).ok());
  auto r = clients[0].Unmask(EncodeUnmaskRequest(config.round_id, {{1, 2, 3, 6}}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("client 6 as a survivor"), std::string::npos)
      << r.status().ToString();
}

// ---- tampered, duplicated and misplaced messages ----

struct AfterShareKeys {
  SecAggConfig config;
  std::optional<SecAggServer> server;
  std::vector<SecAggClient> clients;
  Bytes key_list;
  std::map<ClientId, Bytes> shares;
};

AfterShareKeys RunToMaskedInput(uint32_t n, uint32_t t) {
  AfterShareKeys s;
  s.config = MakeConfig(n, t, 12);
  s.server.emplace(Take(SecAggServer::Create(s.config)));
  for (ClientId id = 1; id <= n; ++id) {
    s.clients.push_back(Take(SecAggClient::Create(s.config, id)));
    EXPECT_TRUE(s.server->ReceiveAdvertiseKeys(id, *s.clients.back().AdvertiseKeys()).ok());
  }
  s.key_list = *s.server->FinishAdvertiseKeys();
  for (auto& c : s.clients) {
    EXPECT_TRUE(s.server->ReceiveShareKeys(c.id(), *c.ShareKeys(s.key_list)).ok());
  }
  s.shares = *s.server->FinishShareKeys();
  return s;
}

TEST(SecAggMessages, TamperedShareCiphertextIsRejected) {
  auto s = RunToMaskedInput(5, 3);
  Bytes tampered = s.shares.at(2);
  tampered[tampered.size() - 40] ^= 0x01;  // inside the last ciphertext
  auto r = s.clients[1].MaskedInput(tampered, RandomInputs(s.config, 1)[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("failed authentication"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(s.clients[1].phase(), SecAggPhase::kFailed);
}

TEST(SecAggMessages, SharesMeantForAnotherClientAreRejected) {
  auto s = RunToMaskedInput(5, 3);
  auto r = s.clients[1].MaskedInput(s.shares.at(3), RandomInputs(s.config, 1)[1]);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("addressed to client 3"), std::string::npos)
      << r.status().ToString();
}

TEST(SecAggMessages, ServerRejectsDuplicatesImpostorsAndBadLengths) {
  auto s = RunToMaskedInput(5, 3);
  auto inputs = RandomInputs(s.config, 1);
  auto m1 = s.clients[0].MaskedInput(s.shares.at(1), inputs[0]);
  ASSERT_TRUE(m1.ok());
  // Sent by the transport as client 2: an impostor.
  Status st = s.server->ReceiveMaskedInput(2, *m1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("claims to be from client 1 but came from client 2"),
            std::string::npos)
      << st.ToString();
  ASSERT_TRUE(s.server->ReceiveMaskedInput(1, *m1).ok());
  st = s.server->ReceiveMaskedInput(1, *m1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate masked-input message from client 1"), std::string::npos);
  // Truncated, and with a trailing byte.
  Bytes truncated(m1->begin(), m1->end() - 3);
  st = s.server->ReceiveMaskedInput(3, truncated);
  EXPECT_FALSE(st.ok());
  Bytes longer = *s.clients[2].MaskedInput(s.shares.at(3), inputs[2]);
  longer.push_back(0);
  st = s.server->ReceiveMaskedInput(3, longer);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("trailing"), std::string::npos) << st.ToString();
  // A message of the wrong round phase, and from another round.
  st = s.server->ReceiveAdvertiseKeys(4, s.key_list);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("arrived in phase masked-input"), std::string::npos);
  auto other_round = s.config;
  other_round.round_id = 43;
  MaskedInputMessage foreign{4, std::vector<uint32_t>(12, 0)};
  st = s.server->ReceiveMaskedInput(4, Encode(other_round.round_id, foreign));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("for round 43, this is round 42"), std::string::npos);
  // Wrong length.
  MaskedInputMessage short_input{4, std::vector<uint32_t>(11, 0)};
  st = s.server->ReceiveMaskedInput(4, Encode(s.config.round_id, short_input));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("11 elements, expected 12"), std::string::npos);
}

TEST(SecAggMessages, RejectsDuplicateAdvertiseAndRepeatedKeys) {
  auto config = MakeConfig(4, 3, 4);
  auto server = SecAggServer::Create(config);
  std::vector<SecAggClient> clients;
  std::vector<Bytes> adverts;
  for (ClientId id = 1; id <= 4; ++id) {
    clients.push_back(Take(SecAggClient::Create(config, id)));
    adverts.push_back(*clients.back().AdvertiseKeys());
    ASSERT_TRUE(server->ReceiveAdvertiseKeys(id, adverts.back()).ok());
  }
  Status st = server->ReceiveAdvertiseKeys(2, adverts[1]);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("duplicate advertise-keys message from client 2"), std::string::npos);
  // A key list in which the server copied client 1's keys to client 3.
  Bytes honest = *server->FinishAdvertiseKeys();
  auto list = ParseKeyList(honest, config);
  ASSERT_TRUE(list.ok());
  list->clients[2].mask_public_key = list->clients[0].mask_public_key;
  auto r = clients[1].ShareKeys(Encode(config.round_id, *list));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("repeats a public key"), std::string::npos);
  // A key list that replaces the client's own keys.
  list = ParseKeyList(honest, config);
  list->clients[2].cipher_public_key[5] ^= 1;
  r = clients[2].ShareKeys(Encode(config.round_id, *list));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("did not advertise"), std::string::npos);
  // The honest list still works for client 4.
  EXPECT_TRUE(clients[3].ShareKeys(honest).ok());
}

TEST(SecAggMessages, ServerRejectsUnmaskAnswersOfTheWrongKind) {
  auto s = RunToMaskedInput(5, 3);
  auto inputs = RandomInputs(s.config, 1);
  for (auto& c : s.clients) {
    ASSERT_TRUE(
        s.server
            ->ReceiveMaskedInput(c.id(), *c.MaskedInput(s.shares.at(c.id()), inputs[c.id() - 1]))
            .ok());
  }
  Bytes request = *s.server->FinishMaskedInput();
  auto answer = ParseUnmaskResponse(*s.clients[0].Unmask(request), s.config);
  ASSERT_TRUE(answer.ok());
  // A client (or a man in the middle) that sends a key share for a survivor.
  answer->entries[2].kind = ShareKind::kMaskKey;
  Status st = s.server->ReceiveUnmask(1, Encode(s.config.round_id, *answer));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unexpected share for client 3"), std::string::npos) << st.ToString();
}

TEST(SecAggMessages, CorruptShareIsCaughtWhenRebuildingAMaskKey) {
  // Client 5 drops after sharing; client 1 lies about its share of 5's mask key. The server
  // rebuilds a key that does not match 5's advertised key and says so instead of returning a
  // wrong sum.
  auto s = RunToMaskedInput(5, 4);
  auto inputs = RandomInputs(s.config, 1);
  for (ClientId id = 1; id <= 4; ++id) {
    auto& c = s.clients[id - 1];
    ASSERT_TRUE(
        s.server->ReceiveMaskedInput(id, *c.MaskedInput(s.shares.at(id), inputs[id - 1])).ok());
  }
  Bytes request = *s.server->FinishMaskedInput();
  for (ClientId id = 1; id <= 4; ++id) {
    Bytes answer = *s.clients[id - 1].Unmask(request);
    if (id == 1) {
      auto parsed = ParseUnmaskResponse(answer, s.config);
      // Chunk 1 (key bytes 7..13), well above the bits X25519 clamps: a change there always
      // changes the key.
      auto& chunk = parsed->entries.back().share[1];
      chunk = FieldAdd(chunk, uint64_t{1} << 20);
      answer = Encode(s.config.round_id, *parsed);
    }
    ASSERT_TRUE(s.server->ReceiveUnmask(id, answer).ok());
  }
  auto sum = s.server->FinishUnmask();
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().message().find("does not match the key it advertised"), std::string::npos)
      << sum.status().ToString();
}

TEST(SecAggClientOrder, CallsOutOfOrderAreRefused) {
  auto config = MakeConfig(3, 2, 4);
  auto client = SecAggClient::Create(config, 1);
  ASSERT_TRUE(client.ok());
  auto r = client->ShareKeys(Bytes{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("called in phase advertise-keys"), std::string::npos);
  EXPECT_FALSE(SecAggClient::Create(config, 4).ok());
  config.threshold = 4;
  EXPECT_FALSE(SecAggClient::Create(config, 1).ok());
  config.threshold = 2;
  config.neighbors = 3;  // odd
  EXPECT_FALSE(config.Validate().ok());
}

// ---- fixed point ----

TEST(FixedPoint, SumOfMaxClientsAtTheClipDoesNotWrap) {
  for (uint32_t bits : {16u, 24u, 32u}) {
    auto codec = FixedPointCodec::Create(1.5, bits, 100);
    ASSERT_TRUE(codec.ok());
    std::vector<float> high(3, 1.5f), low(3, -7.0f);
    std::vector<uint32_t> sum_high(3, 0), sum_low(3, 0);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(AddModular(sum_high, codec->Encode(high), bits).ok());
      ASSERT_TRUE(AddModular(sum_low, codec->Encode(low), bits).ok());
    }
    auto dh = codec->DecodeSum(sum_high, 100);
    auto dl = codec->DecodeSum(sum_low, 100);
    ASSERT_TRUE(dh.ok() && dl.ok());
    EXPECT_NEAR((*dh)[0], 150.0, 100 * codec->resolution());
    EXPECT_NEAR((*dl)[0], -150.0, 100 * codec->resolution());
  }
}

TEST(FixedPoint, OverflowIsGuarded) {
  auto codec = FixedPointCodec::Create(1.0, 16, 10);
  ASSERT_TRUE(codec.ok());
  std::vector<uint32_t> sum(1, 0);
  auto d = codec->DecodeSum(sum, 11);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kOutOfRange);
  // No headroom: 16 bits cannot hold 100000 clients at any useful scale.
  auto none = FixedPointCodec::Create(1.0, 16, 100000);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no headroom"), std::string::npos);
  // Out-of-range and NaN inputs are clamped / zeroed and counted.
  size_t clamped = 0;
  std::vector<float> odd = {5.0f, -5.0f, std::nanf(""), 0.25f};
  auto enc = codec->Encode(odd, &clamped);
  EXPECT_EQ(clamped, 2u);
  EXPECT_DOUBLE_EQ(codec->DecodeOne(enc[0]),
                   codec->DecodeOne(codec->Encode(std::vector<float>{1.0f})[0]));
  EXPECT_DOUBLE_EQ(codec->DecodeOne(enc[2]), 0.0);
  EXPECT_NEAR(codec->DecodeOne(enc[3]), 0.25, codec->resolution());
  // AddModular refuses mismatched sizes.
  std::vector<uint32_t> a(2, 0), b(3, 0);
  EXPECT_FALSE(AddModular(a, b, 32).ok());
}

// ---- Shamir ----

TEST(Shamir, AnyThresholdSubsetRebuildsTheSecret) {
  ShamirSecret secret{};
  for (size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<uint8_t>(255 - 3 * i);
  std::vector<uint32_t> xs = {3, 7, 8, 11, 20, 21};
  auto shares = ShamirSplit(secret, 4, xs);
  ASSERT_TRUE(shares.ok());
  std::vector<std::vector<size_t>> subsets = {{0, 1, 2, 3}, {2, 3, 4, 5}, {0, 2, 4, 5}};
  for (const auto& subset : subsets) {
    std::vector<uint32_t> sx;
    std::vector<ShamirShare> ss;
    for (size_t i : subset) {
      sx.push_back(xs[i]);
      ss.push_back((*shares)[i]);
    }
    auto lagrange = LagrangeAtZero(sx);
    ASSERT_TRUE(lagrange.ok());
    auto rebuilt = ShamirCombine(ss, *lagrange);
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_EQ(*rebuilt, secret);
  }
  // Three shares of a degree-3 polynomial do not give the secret.
  std::vector<uint32_t> three = {3, 7, 8};
  std::vector<ShamirShare> three_shares((*shares).begin(), (*shares).begin() + 3);
  auto rebuilt = ShamirCombine(three_shares, *LagrangeAtZero(three));
  EXPECT_TRUE(!rebuilt.ok() || *rebuilt != secret);
  EXPECT_FALSE(ShamirSplit(secret, 7, xs).ok());
  EXPECT_FALSE(ShamirSplit(secret, 2, std::vector<uint32_t>{1, 1}).ok());
  EXPECT_EQ(FieldMul(FieldInv(12345), 12345), 1u);
}

}  // namespace
}  // namespace tern::fl
