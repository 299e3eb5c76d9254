// UpdateSum over secure aggregation (src/fl/privacy/secagg.h): the coordinator learns only the
// sum of the clients that survive the round. In the simulation one object plays the server and,
// on the clients' behalf, their SecAgg state machines; the messages between them are the same
// bytes the hub and the agents would carry.
//
// Mapping of the four SecAgg rounds onto UpdateSum:
//   Begin  — rounds 0 and 1 for the whole cohort (advertise keys, share keys);
//   Add    — round 2 for one client (its encoded, masked contribution);
//   Finish — round 3 for the counted clients (unmask) and decoding of the sum.
// Clients selected but never added are the drop-outs after sharing; SecAgg removes their masks.
//
// Each contribution is one vector [w·delta, w·states, control, w] with w = weight / weight_cap
// (FedAvg: examples / kSecureWeightCap), so every element stays within the codec's clip range.
// Central DP gives every client weight 1 and clips its delta, so it uses a cap of 1: dividing its
// small clipped values by 4096 would sink them below the codec's resolution. The codec maps
// [-clip, clip] to 32-bit words with headroom for the whole cohort; its resolution is what the
// sum loses. Those shared pieces (fl/secure_sum.h) are also what the hub and the agent use over
// HTTP.
#include "fl/secure_sum.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>

namespace tern::fl {

Result<SecAggConfig> SecureSumConfig(int64_t round, uint32_t n, const SumShape& shape, bool plus) {
  if (n < 3) return InvalidArgument("secure aggregation needs at least 3 clients");
  SecAggConfig c;
  c.num_clients = n;
  c.vector_length = static_cast<uint32_t>(shape.delta + shape.states + shape.control + 1);
  c.modulus_bits = 32;
  c.round_id = static_cast<uint64_t>(round);
  if (plus && n > 8) {
    // Neighbourhoods of about 3 log2(n), even and below n.
    uint32_t k = 3 * static_cast<uint32_t>(std::ceil(std::log2(static_cast<double>(n))));
    k = std::min<uint32_t>(k + (k & 1), (n - 1) & ~1u);
    c.neighbors = k;
    for (size_t i = 0; i < c.graph_seed.size(); ++i)
      c.graph_seed[i] = static_cast<uint8_t>((round * 131 + static_cast<int64_t>(i) * 7) & 255);
  }
  // An honest majority of the holders: the sum survives any drop-outs that leave more than
  // half of them, and no minority can rebuild a client's secrets.
  c.threshold = std::max<uint32_t>(2, c.holders_per_client() / 2 + 1);
  TERN_RETURN_IF_ERROR(c.Validate());
  return c;
}

Result<FixedPointCodec> SecureSumCodec(uint32_t n) {
  return FixedPointCodec::Create(kSecureClip, 32, n);
}

std::vector<uint32_t> EncodeContribution(const FixedPointCodec& codec, const ClientUpdate& u,
                                         double weight, size_t* clamped, double weight_cap) {
  const float w = static_cast<float>(weight / weight_cap);
  std::vector<float> v;
  v.reserve(u.delta.size() + u.states.size() + u.control_delta.size() + 1);
  for (float x : u.delta) v.push_back(w * x);
  for (float x : u.states) v.push_back(w * x);
  for (float x : u.control_delta) v.push_back(x);
  v.push_back(w);
  return codec.Encode(v, clamped);
}

Result<UpdateTotals> DecodeContributions(const FixedPointCodec& codec,
                                         std::span<const uint32_t> sum, uint32_t count,
                                         const SumShape& shape, double weight_cap) {
  if (sum.size() != shape.delta + shape.states + shape.control + 1)
    return InvalidArgument("the sum has " + std::to_string(sum.size()) + " elements, expected " +
                           std::to_string(shape.delta + shape.states + shape.control + 1));
  TERN_ASSIGN_OR_RETURN(std::vector<float> values, codec.DecodeSum(sum, count));
  UpdateTotals t;
  size_t at = 0;
  for (size_t i = 0; i < shape.delta; ++i) t.weighted_delta.push_back(values[at++] * weight_cap);
  for (size_t i = 0; i < shape.states; ++i) t.weighted_states.push_back(values[at++] * weight_cap);
  for (size_t i = 0; i < shape.control; ++i) t.control_delta.push_back(values[at++]);
  t.weight = values[at] * weight_cap;
  t.contributions = static_cast<int>(count);
  return t;
}

Status ExternalSum::Begin(int64_t, const std::vector<std::string>& cohort, const SumShape& shape) {
  Abort();
  shape_ = shape;
  cohort_ = std::set<std::string>(cohort.begin(), cohort.end());
  open_ = true;
  return Status::Ok();
}

void ExternalSum::SetTotals(std::set<std::string> clients, UpdateTotals totals) {
  clients_ = std::move(clients);
  totals_ = std::move(totals);
  ready_ = true;
}

Status ExternalSum::Add(const std::string& client, const ClientUpdate&, double) {
  if (!open_) return Status(StatusCode::kFailedPrecondition, "no round in progress");
  if (!ready_ || !clients_.count(client))
    return InvalidArgument("client " + client + " is not in the aggregated sum");
  added_.insert(client);
  return Status::Ok();
}

Result<UpdateTotals> ExternalSum::Finish(const std::vector<std::string>& counted) {
  if (!open_ || !ready_) return Status(StatusCode::kFailedPrecondition, "no sum to finish");
  open_ = false;
  if (std::set<std::string>(counted.begin(), counted.end()) != clients_ || added_ != clients_)
    return Internal("the counted clients differ from those in the aggregated sum");
  return totals_;
}

void ExternalSum::Abort() {
  open_ = ready_ = false;
  cohort_.clear();
  clients_.clear();
  added_.clear();
  totals_ = UpdateTotals{};
}

namespace {

class SecureSum final : public UpdateSum {
 public:
  SecureSum(bool plus, double weight_cap) : plus_(plus), weight_cap_(weight_cap) {}

  Status Begin(int64_t round, const std::vector<std::string>& cohort,
               const SumShape& shape) override {
    Abort();
    shape_ = shape;
    const uint32_t n = static_cast<uint32_t>(cohort.size());
    TERN_ASSIGN_OR_RETURN(SecAggConfig c, SecureSumConfig(round, n, shape, plus_));
    TERN_ASSIGN_OR_RETURN(codec_, SecureSumCodec(n));
    TERN_ASSIGN_OR_RETURN(SecAggServer server, SecAggServer::Create(c));
    server_ = std::make_unique<SecAggServer>(std::move(server));
    for (uint32_t i = 0; i < n; ++i) {
      TERN_ASSIGN_OR_RETURN(SecAggClient client, SecAggClient::Create(c, i + 1));
      ids_[cohort[i]] = i + 1;
      clients_.push_back(std::make_unique<SecAggClient>(std::move(client)));
    }
    for (auto& cl : clients_) {
      TERN_ASSIGN_OR_RETURN(Bytes m, cl->AdvertiseKeys());
      TERN_RETURN_IF_ERROR(server_->ReceiveAdvertiseKeys(cl->id(), m));
    }
    TERN_ASSIGN_OR_RETURN(Bytes keys, server_->FinishAdvertiseKeys());
    for (auto& cl : clients_) {
      TERN_ASSIGN_OR_RETURN(Bytes m, cl->ShareKeys(keys));
      TERN_RETURN_IF_ERROR(server_->ReceiveShareKeys(cl->id(), m));
    }
    TERN_ASSIGN_OR_RETURN(shares_, server_->FinishShareKeys());
    open_ = true;
    return Status::Ok();
  }

  Status Add(const std::string& client, const ClientUpdate& u, double weight) override {
    if (!open_) return Status(StatusCode::kFailedPrecondition, "no round in progress");
    TERN_RETURN_IF_ERROR(CheckUpdateShape(u, shape_));
    auto id = ids_.find(client);
    if (id == ids_.end()) return InvalidArgument("client " + client + " is not in the cohort");
    auto shares = shares_.find(id->second);
    if (shares == shares_.end()) return InvalidArgument("client " + client + " has no shares");
    size_t clamped = 0;
    std::vector<uint32_t> encoded = EncodeContribution(*codec_, u, weight, &clamped, weight_cap_);
    clamped_ += clamped;
    SecAggClient& cl = *clients_[id->second - 1];
    TERN_ASSIGN_OR_RETURN(Bytes m, cl.MaskedInput(shares->second, encoded));
    return server_->ReceiveMaskedInput(cl.id(), m);
  }

  Result<UpdateTotals> Finish(const std::vector<std::string>& counted) override {
    if (!open_) return Status(StatusCode::kFailedPrecondition, "no round in progress");
    open_ = false;
    TERN_ASSIGN_OR_RETURN(Bytes request, server_->FinishMaskedInput());
    std::vector<ClientId> want;
    for (const auto& c : counted) {
      auto id = ids_.find(c);
      if (id == ids_.end()) return InvalidArgument("client " + c + " is not in the cohort");
      want.push_back(id->second);
    }
    std::sort(want.begin(), want.end());
    if (want != server_->survivors())
      return Internal("the counted clients differ from those whose masked input arrived");
    for (ClientId id : want) {
      TERN_ASSIGN_OR_RETURN(Bytes m, clients_[id - 1]->Unmask(request));
      TERN_RETURN_IF_ERROR(server_->ReceiveUnmask(id, m));
    }
    TERN_ASSIGN_OR_RETURN(std::vector<uint32_t> sum, server_->FinishUnmask());
    return DecodeContributions(*codec_, sum, static_cast<uint32_t>(want.size()), shape_,
                               weight_cap_);
  }

  void Abort() override {
    open_ = false;
    server_.reset();
    clients_.clear();
    ids_.clear();
    shares_.clear();
  }

  std::string name() const override { return plus_ ? "secagg+" : "secagg"; }

 private:
  bool plus_;
  double weight_cap_;  ///< weight that maps to 1 in the encoded vector
  bool open_ = false;
  SumShape shape_;
  std::optional<FixedPointCodec> codec_;
  std::unique_ptr<SecAggServer> server_;
  std::vector<std::unique_ptr<SecAggClient>> clients_;
  std::map<std::string, ClientId> ids_;
  std::map<ClientId, Bytes> shares_;
  size_t clamped_ = 0;
};

}  // namespace

std::unique_ptr<UpdateSum> MakeSecureSum(bool plus, double weight_cap) {
  return std::unique_ptr<UpdateSum>(new SecureSum(plus, weight_cap));
}

}  // namespace tern::fl
