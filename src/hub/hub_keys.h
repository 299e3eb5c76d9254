// The hub's signing keys and root metadata, in a key folder (fleet/key_dir.h): by default the
// data folder, where the hub makes its own root and targets keys at first start; or, with
// `tern-hub serve --keys DIR`, a folder exported by `tern keys export` that holds the root chain
// and the targets key only, so the root key stays offline.
//
// The hub picks up a rotation while it runs: Reload() walks any newer root in the folder, each
// verified against the one before, and switches to its targets key. Requests read the keys
// concurrently, so every accessor copies under a lock.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "fleet/key_dir.h"
#include "fleet/metadata.h"

namespace tern::hub {

class HubKeys {
 public:
  /// The hub's own keys in DATA (made at first start).
  static Result<HubKeys> OpenOrCreate(const std::string& data_dir, int64_t now,
                                      int64_t root_ttl_s = 365 * 86400);
  /// Keys exported into `key_dir`; nothing is created there.
  static Result<HubKeys> Open(const std::string& key_dir);

  HubKeys(HubKeys&& other) noexcept;

  fleet::Json root_envelope() const;
  int64_t root_version() const;
  /// True when `keyid` may sign manifests under the current root.
  bool CertifiesTargetsKey(const std::string& keyid) const;
  /// Root version `n` (1 ≤ n ≤ current) as stored; lets clients walk a rotation chain.
  Result<fleet::Json> RootVersion(int64_t n) const;
  /// Signs a manifest with the current targets key.
  Result<fleet::Json> SignTargets(const fleet::TargetsMetadata& targets) const;
  /// Moves to a newer root found in the folder (verified link by link). True when it moved.
  Result<bool> Reload();

 private:
  HubKeys() = default;

  std::string dir_;
  mutable std::mutex mu_;
  fleet::LoadedKeys keys_;
};

}  // namespace tern::hub
