// Runs whole secure-aggregation rounds in process, with clients that drop out at chosen
// phases, and returns what the server computed next to the plain sum of the same inputs.
#pragma once

#include <random>
#include <set>
#include <vector>

#include "fl/privacy/secagg.h"

namespace tern::fl::testing {

/// Who stops answering before which round.
struct Dropouts {
  std::set<ClientId> before_advertise;  // never heard of: not in U1
  std::set<ClientId> before_share;      // in U1, not in U2
  std::set<ClientId> before_masked;     // in U2, not in U3
  std::set<ClientId> before_unmask;     // in U3 (input counted), sends no shares
};

struct RoundOutcome {
  Status status;                    // the first error, if any
  std::vector<uint32_t> sum;        // what the server unmasked
  std::vector<uint32_t> plain_sum;  // Σ inputs of the survivors mod 2^k, computed directly
  std::vector<ClientId> survivors;
  size_t bytes_sent_per_client = 0;  // largest total over clients
};

/// Random k-bit inputs, one per client (index 0 = client 1).
std::vector<std::vector<uint32_t>> RandomInputs(const SecAggConfig& config, uint32_t seed);

RoundOutcome RunRound(const SecAggConfig& config, const std::vector<std::vector<uint32_t>>& inputs,
                      const Dropouts& dropouts);

}  // namespace tern::fl::testing
