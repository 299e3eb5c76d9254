#include "fleet/trust.h"

namespace tern::fleet {
namespace {

Status Refused(const std::string& why) { return Status(StatusCode::kFailedPrecondition, why); }

Result<RootMetadata> SelfSignedRoot(const Json& envelope) {
  if (!envelope.is_object() || !envelope.contains("signed")) {
    return InvalidArgument("root: not a signed envelope");
  }
  TERN_ASSIGN_OR_RETURN(RootMetadata root, RootMetadata::FromJson(envelope["signed"]));
  Status st = VerifyEnvelope(envelope, root.keys, root.root.keyids, root.root.threshold);
  if (!st.ok()) return st.WithContext("root v" + std::to_string(root.version) + " self-signature");
  return root;
}

}  // namespace

Result<TrustStore> TrustStore::Bootstrap(const Json& root_envelope) {
  TERN_ASSIGN_OR_RETURN(RootMetadata root, SelfSignedRoot(root_envelope));
  TrustStore ts;
  ts.root_ = std::move(root);
  ts.root_envelope_ = root_envelope;
  return ts;
}

Result<TrustStore> TrustStore::LoadState(const Json& state) {
  if (!state.is_object() || !state.contains("root")) return InvalidArgument("trust state: no root");
  TERN_ASSIGN_OR_RETURN(TrustStore ts, Bootstrap(state["root"]));
  if (state.contains("targets")) {
    const Json& t = state["targets"];
    if (!t.is_object()) return InvalidArgument("trust state: \"targets\" is not an object");
    for (const auto& [model, seen] : t.items()) {
      if (!seen.is_object() || !seen.contains("version") || !seen["version"].is_number_integer() ||
          !seen.contains("hash") || !seen["hash"].is_string()) {
        return InvalidArgument("trust state: bad entry for " + model);
      }
      ts.targets_[model] = {seen["version"].get<int64_t>(), seen["hash"].get<std::string>()};
    }
  }
  return ts;
}

Json TrustStore::SaveState() const {
  Json t = Json::object();
  for (const auto& [model, seen] : targets_) t[model] = {{"version", seen.version}, {"hash", seen.hash}};
  return {{"root", root_envelope_}, {"targets", t}};
}

Status TrustStore::UpdateRoot(const Json& next) {
  if (!next.is_object() || !next.contains("signed")) return InvalidArgument("root: not an envelope");
  TERN_ASSIGN_OR_RETURN(RootMetadata candidate, RootMetadata::FromJson(next["signed"]));
  if (candidate.version != root_.version + 1) {
    return Refused("root: expected version " + std::to_string(root_.version + 1) + ", got " +
                   std::to_string(candidate.version));
  }
  // Signed by the keys we trust now...
  Status st = VerifyEnvelope(next, root_.keys, root_.root.keyids, root_.root.threshold);
  if (!st.ok()) return st.WithContext("root v" + std::to_string(candidate.version) + " by old keys");
  // ...and by its own, so a rotation cannot hand control to keys that never signed.
  st = VerifyEnvelope(next, candidate.keys, candidate.root.keyids, candidate.root.threshold);
  if (!st.ok()) return st.WithContext("root v" + std::to_string(candidate.version) + " by new keys");
  root_ = std::move(candidate);
  root_envelope_ = next;
  return Status::Ok();
}

Result<TargetsMetadata> TrustStore::VerifyTargets(const Json& envelope, int64_t now) {
  if (root_.expires <= now) {
    return Refused("root v" + std::to_string(root_.version) + " expired at " +
                   FormatTime(root_.expires));
  }
  if (!envelope.is_object() || !envelope.contains("signed")) {
    return InvalidArgument("manifest: not a signed envelope");
  }
  TERN_RETURN_IF_ERROR(
      VerifyEnvelope(envelope, root_.keys, root_.targets.keyids, root_.targets.threshold)
          .WithContext("manifest"));
  TERN_ASSIGN_OR_RETURN(TargetsMetadata t, TargetsMetadata::FromJson(envelope["signed"]));
  const std::string what = "manifest " + t.model + " " + t.model_version + " (v" +
                           std::to_string(t.version) + ")";
  if (t.expires <= now) return Refused(what + " expired at " + FormatTime(t.expires));
  TERN_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(envelope["signed"]));
  std::string hash = HexEncode(Sha256(canonical));
  auto it = targets_.find(t.model);
  if (it != targets_.end()) {
    if (t.version < it->second.version) {
      return Refused(what + " is older than v" + std::to_string(it->second.version) +
                     " already seen");
    }
    if (t.version == it->second.version && hash != it->second.hash) {
      return Refused(what + " differs from the manifest already seen with the same version");
    }
  }
  targets_[t.model] = {t.version, hash};
  return t;
}

int64_t TrustStore::LastTargetsVersion(const std::string& model) const {
  auto it = targets_.find(model);
  return it == targets_.end() ? 0 : it->second.version;
}

}  // namespace tern::fleet
