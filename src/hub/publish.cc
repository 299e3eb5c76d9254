#include "hub/publish.h"

#include "fleet/metadata.h"

namespace tern::hub {

Result<std::optional<ModelVersionRecord>> InsertSignedVersion(Store* store, const HubKeys& keys,
                                                              const ModelVersionRecord& rec,
                                                              const VariantProbes& probes,
                                                              int64_t expires) {
  auto signer = [&](int64_t counter) -> Result<std::string> {
    fleet::TargetsMetadata t;
    t.version = counter;
    t.expires = expires;
    t.model = rec.model;
    t.model_version = rec.version;
    for (const auto& v : rec.variants) {
      fleet::TargetVariant tv{v.name,         v.precision, v.provider,
                              v.cpu_features, v.size,      v.blob_sha256};
      if (auto p = probes.find(v.name); p != probes.end()) {
        tv.probe_sha256 = p->second.first;
        tv.probe_size = p->second.second;
      }
      t.variants.push_back(std::move(tv));
    }
    TERN_ASSIGN_OR_RETURN(fleet::Json env, keys.SignTargets(t));
    return env.dump();
  };
  return store->InsertModelVersion(rec, signer);
}

}  // namespace tern::hub
