// What this device can do, as reported at registration, and the choice of a manifest variant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/canonical_json.h"
#include "fleet/metadata.h"

namespace tern::agent {

struct DeviceCapabilities {
  std::vector<std::string> cpu_features;  ///< tokens as manifests name them: "avx2", "fma", ...
  std::vector<std::string> providers;     ///< in the order the agent prefers them
  uint64_t memory_bytes = 0;
  uint64_t free_storage_bytes = 0;  ///< on the state folder's file system
  std::string os;
  std::string arch;

  fleet::Json ToJson() const;
};

DeviceCapabilities DetectCapabilities(const std::string& state_dir,
                                      const std::vector<std::string>& providers);

/// The variant this device runs best: among those whose provider it has and whose required CPU
/// features it has, the one with the most preferred provider, then the one that asks for the
/// most CPU features (built for hardware like this), then the first in the manifest.
Result<fleet::TargetVariant> ChooseVariant(const fleet::TargetsMetadata& manifest,
                                           const DeviceCapabilities& caps);

}  // namespace tern::agent
