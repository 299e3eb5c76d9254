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
  // One client's turn in a round: its message, counted and handed to the server.
  Status first_error;
  auto turn = [&](ClientId id, const std::set<ClientId>& gone, auto&& make, auto&& receive) {
    if (!first_error.ok() || gone.count(id)) return;
    Result<Bytes> m = make();
    if (!m.ok()) {
      first_error = m.status();
      return;
    }
    sent[id] += m->size();
    first_error = receive(*m);
  };

  for (auto& [id, client] : clients) {
    turn(
        id, dropouts.before_advertise, [&] { return client.AdvertiseKeys(); },
        [&](const Bytes& m) { return server->ReceiveAdvertiseKeys(id, m); });
  }
  if (!first_error.ok()) return fail(first_error);
  auto key_list = server->FinishAdvertiseKeys();
  if (!key_list.ok()) return fail(key_list.status());

  for (auto& [id, client] : clients) {
    if (dropouts.before_advertise.count(id)) continue;
    turn(
        id, dropouts.before_share, [&] { return client.ShareKeys(*key_list); },
        [&](const Bytes& m) { return server->ReceiveShareKeys(id, m); });
  }
  if (!first_error.ok()) return fail(first_error);
  auto shares = server->FinishShareKeys();
  if (!shares.ok()) return fail(shares.status());

  for (auto& [id, message] : *shares) {
    turn(
        id, dropouts.before_masked,
        [&] { return clients.at(id).MaskedInput(message, inputs[id - 1]); },
        [&](const Bytes& m) { return server->ReceiveMaskedInput(id, m); });
  }
  if (!first_error.ok()) return fail(first_error);
  auto request = server->FinishMaskedInput();
  if (!request.ok()) return fail(request.status());

  for (ClientId id : server->survivors()) {
    turn(
        id, dropouts.before_unmask, [&] { return clients.at(id).Unmask(*request); },
        [&](const Bytes& m) { return server->ReceiveUnmask(id, m); });
  }
  if (!first_error.ok()) return fail(first_error);
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
