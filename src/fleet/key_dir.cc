#include "fleet/key_dir.h"

#include <filesystem>

#include "fleet/file_util.h"
#include "fleet/trust.h"

namespace tern::fleet {
namespace {

Status MakeKeyDirs(const std::string& dir) {
  TERN_RETURN_IF_ERROR(MakeDirs(dir + "/keys", 0700));
  return MakeDirs(dir + "/metadata", 0755);
}

// Saves `key` unless the same key is there already (an export repeated).
Status SaveKeyOnce(const KeyPair& key, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    TERN_ASSIGN_OR_RETURN(KeyPair old, KeyPair::Load(path));
    if (old.KeyId() != key.KeyId()) return InvalidArgument(path + " holds a different key");
    return Status::Ok();
  }
  return key.Save(path);
}

Result<RootMetadata> ParseRoot(const Json& env) {
  if (!env.is_object() || !env.contains("signed")) return InvalidArgument("root: not an envelope");
  return RootMetadata::FromJson(env["signed"]);
}

}  // namespace

std::string RootVersionPath(const std::string& dir, int64_t n) {
  return dir + "/metadata/" + std::to_string(n) + ".root.json";
}

std::string KeyFilePath(const std::string& dir, const std::string& role, const std::string& keyid) {
  return dir + "/keys/" + role + "-" + keyid + ".key";
}

int64_t LatestRootVersion(const std::string& dir) {
  int64_t latest = 0;
  std::error_code ec;
  const std::string suffix = ".root.json";
  for (const auto& e : std::filesystem::directory_iterator(dir + "/metadata", ec)) {
    std::string name = e.path().filename().string();
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    std::string num = name.substr(0, name.size() - suffix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos ||
        num.size() > 12) {
      continue;
    }
    latest = std::max<int64_t>(latest, std::stoll(num));
  }
  return latest;
}

Result<Json> ReadRootVersion(const std::string& dir, int64_t n) {
  if (n < 1) return InvalidArgument("root versions start at 1");
  TERN_ASSIGN_OR_RETURN(std::string text, ReadFile(RootVersionPath(dir, n), 1 << 20));
  TERN_ASSIGN_OR_RETURN(Json env, ParseJson(text));
  if (!env.is_object() || !env.contains("signed")) {
    return InvalidArgument(RootVersionPath(dir, n) + " is not signed metadata");
  }
  return env;
}

Status InitKeyDir(const std::string& dir, int64_t now, int64_t ttl_s) {
  TERN_RETURN_IF_ERROR(MakeKeyDirs(dir));
  if (LatestRootVersion(dir) > 0) {
    return Status(StatusCode::kFailedPrecondition, dir + " already holds root metadata");
  }
  TERN_ASSIGN_OR_RETURN(KeyPair root_key, KeyPair::Generate());
  TERN_ASSIGN_OR_RETURN(KeyPair targets_key, KeyPair::Generate());
  TERN_RETURN_IF_ERROR(root_key.Save(KeyFilePath(dir, "root", root_key.KeyId())));
  TERN_RETURN_IF_ERROR(targets_key.Save(KeyFilePath(dir, "targets", targets_key.KeyId())));
  RootMetadata root;
  root.version = 1;
  root.expires = now + ttl_s;
  root.keys[root_key.KeyId()] = root_key.public_key();
  root.keys[targets_key.KeyId()] = targets_key.public_key();
  root.root.keyids = {root_key.KeyId()};
  root.targets.keyids = {targets_key.KeyId()};
  TERN_ASSIGN_OR_RETURN(Json env, SignEnvelope(root.ToJson(), {&root_key}));
  Status wrote = WriteFileExclusive(RootVersionPath(dir, 1), env.dump() + "\n", 0644);
  if (!wrote.ok()) {
    // Someone else (a hub replica sharing the folder) made root v1 first: keep theirs.
    std::error_code ec;
    std::filesystem::remove(KeyFilePath(dir, "root", root_key.KeyId()), ec);
    std::filesystem::remove(KeyFilePath(dir, "targets", targets_key.KeyId()), ec);
  }
  return wrote;
}

Result<Rotation> RotateKeyDir(const std::string& dir, bool rotate_root, int64_t now,
                              int64_t ttl_s) {
  const int64_t latest = LatestRootVersion(dir);
  if (latest == 0) return InvalidArgument(dir + " holds no root metadata (tern keys init first)");
  TERN_ASSIGN_OR_RETURN(Json old_env, ReadRootVersion(dir, latest));
  TERN_ASSIGN_OR_RETURN(RootMetadata old_root, ParseRoot(old_env));
  // The old root's private keys sign the new root; a threshold of them is needed.
  std::vector<KeyPair> signers;
  for (const auto& id : old_root.root.keyids) {
    auto key = KeyPair::Load(KeyFilePath(dir, "root", id));
    if (key.ok() && key->KeyId() == id) signers.push_back(std::move(*key));
  }
  if (static_cast<int64_t>(signers.size()) < old_root.root.threshold) {
    return Status(StatusCode::kFailedPrecondition, "the root private keys of root v" +
                                                       std::to_string(latest) + " are not in " +
                                                       dir + "/keys");
  }
  TERN_ASSIGN_OR_RETURN(KeyPair fresh, KeyPair::Generate());
  TERN_RETURN_IF_ERROR(
      fresh.Save(KeyFilePath(dir, rotate_root ? "root" : "targets", fresh.KeyId())));

  RootMetadata next = old_root;
  next.version = latest + 1;
  next.expires = now + ttl_s;
  RoleKeys& replaced = rotate_root ? next.root : next.targets;
  replaced = RoleKeys{{fresh.KeyId()}, 1};
  // Only keys some role still names stay listed.
  next.keys.clear();
  for (const RoleKeys* role : {&next.root, &next.targets}) {
    for (const auto& id : role->keyids) {
      next.keys[id] = id == fresh.KeyId() ? fresh.public_key() : old_root.keys.at(id);
    }
  }
  std::vector<const KeyPair*> sign_with;
  for (const auto& k : signers) sign_with.push_back(&k);
  if (rotate_root) sign_with.push_back(&fresh);
  TERN_ASSIGN_OR_RETURN(Json env, SignEnvelope(next.ToJson(), sign_with));
  // Checked the way a client will check it before anything relies on it.
  TERN_ASSIGN_OR_RETURN(TrustStore check, TrustStore::Bootstrap(old_env));
  TERN_RETURN_IF_ERROR(check.UpdateRoot(env));
  TERN_RETURN_IF_ERROR(
      WriteFileExclusive(RootVersionPath(dir, next.version), env.dump() + "\n", 0644));
  return Rotation{next.version, fresh.KeyId()};
}

Status ExportKeyDir(const std::string& dir, const std::string& out) {
  TERN_ASSIGN_OR_RETURN(LoadedKeys loaded, LoadKeyDir(dir));
  TERN_RETURN_IF_ERROR(MakeKeyDirs(out));
  // The key first, then the roots (see the top of key_dir.h).
  TERN_RETURN_IF_ERROR(
      SaveKeyOnce(loaded.targets_key, KeyFilePath(out, "targets", loaded.targets_key.KeyId())));
  for (int64_t n = 1; n <= loaded.root.version; ++n) {
    TERN_ASSIGN_OR_RETURN(std::string text, ReadFile(RootVersionPath(dir, n), 1 << 20));
    auto have = ReadFile(RootVersionPath(out, n), 1 << 20);
    if (have.ok()) {
      if (*have != text) return InvalidArgument(RootVersionPath(out, n) + " differs from " + dir);
      continue;
    }
    TERN_RETURN_IF_ERROR(WriteFileAtomic(RootVersionPath(out, n), text, 0644));
  }
  return Status::Ok();
}

Result<LoadedKeys> LoadKeyDir(const std::string& dir, const Json& from_envelope) {
  const int64_t latest = LatestRootVersion(dir);
  if (latest == 0) return InvalidArgument(dir + "/metadata holds no root metadata");
  Json start = from_envelope;
  if (start.is_null()) {
    TERN_ASSIGN_OR_RETURN(start, ReadRootVersion(dir, 1));
  }
  TERN_ASSIGN_OR_RETURN(TrustStore chain, TrustStore::Bootstrap(start));
  for (int64_t n = chain.root().version + 1; n <= latest; ++n) {
    TERN_ASSIGN_OR_RETURN(Json env, ReadRootVersion(dir, n));
    TERN_RETURN_IF_ERROR(chain.UpdateRoot(env).WithContext(RootVersionPath(dir, n)));
  }
  LoadedKeys out;
  out.root = chain.root();
  out.root_envelope = chain.root_envelope();
  // Signs with the first targets key whose private half is here.
  for (const auto& id : out.root.targets.keyids) {
    const std::string path = KeyFilePath(dir, "targets", id);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    TERN_ASSIGN_OR_RETURN(out.targets_key, KeyPair::Load(path));
    if (out.targets_key.KeyId() != id) return InvalidArgument(path + " holds a different key");
    return out;
  }
  return Status(StatusCode::kFailedPrecondition, "no private key in " + dir +
                                                     "/keys for the targets role of root v" +
                                                     std::to_string(out.root.version));
}

}  // namespace tern::fleet
