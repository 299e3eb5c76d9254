#include "secagg_harness.h"

#include <map>

namespace tern::fl::testing {

std::vector<std::vector<uint32_t>> RandomInputs(const SecAggConfig& config, uint32_t seed) {
  std::mt19937 rng(seed);
  uint32_t mask = config.modulus_bits >= 32 ? 0xffffffffu : (1u << config.modulus_bits) - 1;
  std::vector<std::vector<uint32_t>> inputs(config.num_clients);
  for (auto& input : inputs) {
    input.resize(config.vector_length);
    for (uint32_t& w : input) w = static_cast<uint32_t>(rng()) & mask;
  }
  return inputs;
}

RoundOutcome RunRound(const SecAggConfig& config, const std::vector<std::vector<uint32_t>>& inputs,
                      const Dropouts& dropouts) {
  RoundOutcome out;
  auto fail = [&](const Status& st) {
    out.status = st;
    return out;
  };
  auto server = SecAggServer::Create(config);
  if (!server.ok()) return fail(server.status());
  std::map<ClientId, SecAggClient> clients;
  std::map<ClientId, size_t> sent;
  for (ClientId id = 1; id <= config.num_clients; ++id) {
    auto client = SecAggClient::Create(config, id);
    if (!client.ok()) return fail(client.status());
    clients.emplace(id, std::move(*client));
  }
  auto alive = [&](ClientId id, const std::set<ClientId>& gone) { return gone.count(id) == 0; };

  for (auto& [id, client] : clients) {
    if (!alive(id, dropouts.before_advertise)) continue;
    auto m = client.AdvertiseKeys();
    if (!m.ok()) return fail(m.status());
    sent[id] += m->size();
    Status st = server->ReceiveAdvertiseKeys(id, *m);
    if (!st.ok()) return fail(st);
  }
  auto key_list = server->FinishAdvertiseKeys();
  if (!key_list.ok()) return fail(key_list.status());

  for (auto& [id, client] : clients) {
    if (!alive(id, dropouts.before_advertise) || !alive(id, dropouts.before_share)) continue;
    auto m = client.ShareKeys(*key_list);
    if (!m.ok()) return fail(m.status());
    sent[id] += m->size();
    Status st = server->ReceiveShareKeys(id, *m);
    if (!st.ok()) return fail(st);
  }
  auto shares = server->FinishShareKeys();
  if (!shares.ok()) return fail(shares.status());

  for (auto& [id, message] : *shares) {
    if (!alive(id, dropouts.before_masked)) continue;
    auto m = clients.at(id).MaskedInput(message, inputs[id - 1]);
    if (!m.ok()) return fail(m.status());
    sent[id] += m->size();
    Status st = server->ReceiveMaskedInput(id, *m);
    if (!st.ok()) return fail(st);
  }
  auto request = server->FinishMaskedInput();
  if (!request.ok()) return fail(request.status());

  for (ClientId id : server->survivors()) {
    if (!alive(id, dropouts.before_unmask)) continue;
    auto m = clients.at(id).Unmask(*request);
    if (!m.ok()) return fail(m.status());
    sent[id] += m->size();
    Status st = server->ReceiveUnmask(id, *m);
    if (!st.ok()) return fail(st);
  }
  auto sum = server->FinishUnmask();
  if (!sum.ok()) return fail(sum.status());

  out.sum = std::move(*sum);
  out.survivors = server->survivors();
  out.plain_sum.assign(config.vector_length, 0);
  for (ClientId id : out.survivors) {
    Status st = AddModular(out.plain_sum, inputs[id - 1], config.modulus_bits);
    if (!st.ok()) return fail(st);
  }
  for (const auto& [id, bytes] : sent) {
    out.bytes_sent_per_client = std::max(out.bytes_sent_per_client, bytes);
  }
  return out;
}

}  // namespace tern::fl::testing
