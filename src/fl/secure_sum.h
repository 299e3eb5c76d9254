// The pieces of secure aggregation that every party of an FL round must agree on, so that the
// in-process SecureSum (the simulation), the hub (the server side over HTTP) and the agent (the
// client side) encode, mask and decode a report the same way:
//   - the SecAgg parameters of a round (threshold, SecAgg+ neighbourhood, vector length);
//   - the fixed-point codec;
//   - the contribution vector [w·delta, w·states, control, w] with w = examples / kWeightCap,
//     and its decoding into UpdateTotals.
// ExternalSum is the UpdateSum a networked coordinator uses: the hub runs the SecAgg rounds with
// the remote clients and hands the unmasked totals to it before the coordinator closes the round.
#pragma once

#include <set>
#include <span>
#include <string>
#include <vector>

#include "fl/privacy/secagg.h"
#include "fl/update_sum.h"

namespace tern::fl {

inline constexpr double kSecureWeightCap = 4096;  ///< examples per client that map to weight 1
inline constexpr double kSecureClip = 8.0;        ///< per-element bound of encoded values

/// The SecAgg parameters of `round` for a cohort of `n` clients contributing `shape`.
/// `plus`: SecAgg+ (neighbourhoods of about 3 log2 n once n > 8).
Result<SecAggConfig> SecureSumConfig(int64_t round, uint32_t n, const SumShape& shape, bool plus);
/// The codec for a cohort of `n`.
Result<FixedPointCodec> SecureSumCodec(uint32_t n);
/// A client's encoded contribution (before masking); `*clamped` counts clipped elements.
std::vector<uint32_t> EncodeContribution(const FixedPointCodec& codec, const ClientUpdate& update,
                                         double weight, size_t* clamped = nullptr,
                                         double weight_cap = kSecureWeightCap);
/// The totals of `count` contributions from their unmasked sum.
Result<UpdateTotals> DecodeContributions(const FixedPointCodec& codec,
                                         std::span<const uint32_t> sum, uint32_t count,
                                         const SumShape& shape,
                                         double weight_cap = kSecureWeightCap);

/// An UpdateSum whose totals are formed outside the coordinator (by the hub's SecAgg rounds
/// with remote clients). Add only records that a client counts (its update carries no values
/// the host may read); Finish returns the totals given to SetTotals, and only for exactly the
/// clients named there.
class ExternalSum final : public UpdateSum {
 public:
  Status Begin(int64_t round, const std::vector<std::string>& cohort,
               const SumShape& shape) override;
  Status Add(const std::string& client, const ClientUpdate& update, double weight) override;
  Result<UpdateTotals> Finish(const std::vector<std::string>& counted) override;
  void Abort() override;
  std::string name() const override { return "external"; }

  /// The unmasked totals of `clients` (call before reporting them to the coordinator).
  void SetTotals(std::set<std::string> clients, UpdateTotals totals);
  const SumShape& shape() const { return shape_; }

 private:
  SumShape shape_;
  std::set<std::string> cohort_, clients_, added_;
  UpdateTotals totals_;
  bool open_ = false, ready_ = false;
};

}  // namespace tern::fl
