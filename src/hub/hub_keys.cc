#include "hub/hub_keys.h"

#include <algorithm>

namespace tern::hub {

Result<HubKeys> HubKeys::OpenOrCreate(const std::string& data_dir, int64_t now,
                                      int64_t root_ttl_s) {
  if (fleet::LatestRootVersion(data_dir) == 0) {
    Status made = fleet::InitKeyDir(data_dir, now, root_ttl_s);
    // FailedPrecondition: a replica sharing the folder made root v1 at the same moment.
    if (!made.ok() && made.code() != StatusCode::kFailedPrecondition) return made;
  }
  return Open(data_dir);
}

Result<HubKeys> HubKeys::Open(const std::string& key_dir) {
  HubKeys hk;
  hk.dir_ = key_dir;
  TERN_ASSIGN_OR_RETURN(hk.keys_, fleet::LoadKeyDir(key_dir));
  return hk;
}

HubKeys::HubKeys(HubKeys&& other) noexcept : dir_(std::move(other.dir_)) {
  std::lock_guard<std::mutex> lock(other.mu_);
  keys_ = std::move(other.keys_);
}

fleet::Json HubKeys::root_envelope() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.root_envelope;
}

int64_t HubKeys::root_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.root.version;
}

bool HubKeys::CertifiesTargetsKey(const std::string& keyid) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& ids = keys_.root.targets.keyids;
  return std::find(ids.begin(), ids.end(), keyid) != ids.end();
}

Result<fleet::Json> HubKeys::RootVersion(int64_t n) const {
  return fleet::ReadRootVersion(dir_, n);
}

Result<fleet::Json> HubKeys::SignTargets(const fleet::TargetsMetadata& targets) const {
  std::lock_guard<std::mutex> lock(mu_);
  return fleet::SignEnvelope(targets.ToJson(), {&keys_.targets_key});
}

Result<bool> HubKeys::Reload() {
  fleet::Json current = root_envelope();
  const int64_t version = root_version();
  if (fleet::LatestRootVersion(dir_) <= version) return false;
  // Verified outside the lock (file reads); only the switch holds it.
  TERN_ASSIGN_OR_RETURN(fleet::LoadedKeys next, fleet::LoadKeyDir(dir_, current));
  std::lock_guard<std::mutex> lock(mu_);
  if (next.root.version <= keys_.root.version) return false;
  keys_ = std::move(next);
  return true;
}

}  // namespace tern::hub
