#include "hub/hub_keys.h"

#include <filesystem>

#include "fleet/file_util.h"

namespace tern::hub {
namespace {

std::string RootPath(const std::string& dir, int64_t n) {
  return dir + "/metadata/" + std::to_string(n) + ".root.json";
}

}  // namespace

Result<HubKeys> HubKeys::OpenOrCreate(const std::string& data_dir, int64_t now,
                                      int64_t root_ttl_s) {
  HubKeys hk;
  hk.dir_ = data_dir;
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(data_dir + "/keys", 0700));
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(data_dir + "/metadata", 0755));

  int64_t latest = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/metadata", ec)) {
    std::string name = e.path().filename().string();
    const std::string suffix = ".root.json";
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(),
                                                     suffix) != 0) {
      continue;
    }
    std::string num = name.substr(0, name.size() - suffix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos ||
        num.size() > 12) {
      continue;
    }
    latest = std::max<int64_t>(latest, std::stoll(num));
  }

  if (latest == 0) {
    TERN_ASSIGN_OR_RETURN(fleet::KeyPair root_key, fleet::KeyPair::Generate());
    TERN_ASSIGN_OR_RETURN(fleet::KeyPair targets_key, fleet::KeyPair::Generate());
    TERN_RETURN_IF_ERROR(root_key.Save(data_dir + "/keys/root-" + root_key.KeyId() + ".key"));
    TERN_RETURN_IF_ERROR(
        targets_key.Save(data_dir + "/keys/targets-" + targets_key.KeyId() + ".key"));
    fleet::RootMetadata root;
    root.version = 1;
    root.expires = now + root_ttl_s;
    root.keys[root_key.KeyId()] = root_key.public_key();
    root.keys[targets_key.KeyId()] = targets_key.public_key();
    root.root.keyids = {root_key.KeyId()};
    root.targets.keyids = {targets_key.KeyId()};
    TERN_ASSIGN_OR_RETURN(fleet::Json env, fleet::SignEnvelope(root.ToJson(), {&root_key}));
    Status wrote = fleet::WriteFileExclusive(RootPath(data_dir, 1), env.dump() + "\n", 0644);
    if (wrote.code() == StatusCode::kFailedPrecondition) {
      // Another hub sharing this folder (a replica starting at the same moment) made root v1
      // first: use its keys and drop the ones made here.
      std::filesystem::remove(data_dir + "/keys/root-" + root_key.KeyId() + ".key", ec);
      std::filesystem::remove(data_dir + "/keys/targets-" + targets_key.KeyId() + ".key", ec);
    } else {
      TERN_RETURN_IF_ERROR(wrote);
    }
    latest = 1;
  }

  TERN_ASSIGN_OR_RETURN(fleet::Json env, hk.RootVersion(latest));
  TERN_ASSIGN_OR_RETURN(hk.root_, fleet::RootMetadata::FromJson(env["signed"]));
  hk.root_envelope_ = std::move(env);
  // The hub signs manifests with the first targets key it holds the private half of.
  for (const auto& id : hk.root_.targets.keyids) {
    std::string path = data_dir + "/keys/targets-" + id + ".key";
    if (!std::filesystem::exists(path, ec)) continue;
    TERN_ASSIGN_OR_RETURN(hk.targets_key_, fleet::KeyPair::Load(path));
    if (hk.targets_key_.KeyId() != id) return InvalidArgument(path + " holds a different key");
    return hk;
  }
  return Status(StatusCode::kFailedPrecondition,
                "no private key in " + data_dir + "/keys for the targets role of root v" +
                    std::to_string(latest));
}

Result<fleet::Json> HubKeys::RootVersion(int64_t n) const {
  if (n < 1) return InvalidArgument("root versions start at 1");
  TERN_ASSIGN_OR_RETURN(std::string text, fleet::ReadFile(RootPath(dir_, n), 1 << 20));
  TERN_ASSIGN_OR_RETURN(fleet::Json env, fleet::ParseJson(text));
  if (!env.is_object() || !env.contains("signed")) {
    return InvalidArgument(RootPath(dir_, n) + " is not signed metadata");
  }
  return env;
}

Result<fleet::Json> HubKeys::SignTargets(const fleet::TargetsMetadata& targets) const {
  return fleet::SignEnvelope(targets.ToJson(), {&targets_key_});
}

}  // namespace tern::hub
