// Publishing a model version: the signed targets manifest and the store insert in one step, for
// the admin API (POST /v1/models/{m}/versions) and for the FL coordinator, whose every committed
// round becomes a version that the rollout path can ship.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "hub/hub_keys.h"
#include "hub/store.h"

namespace tern::hub {

/// Probe blobs per variant name: (sha256, size).
using VariantProbes = std::map<std::string, std::pair<std::string, uint64_t>>;

/// Stores `rec` (variants with uploaded blobs) with a manifest signed by `keys` that expires at
/// `expires` (Unix seconds). nullopt when the version exists already (nothing changes).
Result<std::optional<ModelVersionRecord>> InsertSignedVersion(Store* store, const HubKeys& keys,
                                                              const ModelVersionRecord& rec,
                                                              const VariantProbes& probes,
                                                              int64_t expires);

}  // namespace tern::hub
