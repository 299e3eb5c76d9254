// The hub's signing keys and root metadata, in the data folder:
//   DATA/keys/root-<keyid>.key, DATA/keys/targets-<keyid>.key   (0600, folder 0700)
//   DATA/metadata/<n>.root.json                                  (every root version, kept)
// The newest root names which keys are current, so files are written key first, root second:
// a crash in between leaves an unused key file, never a root naming a missing key.
// At first start the hub makes one root key, one targets key and root version 1.
// (Production fleets should keep the root key offline; `tern keys` will support that.)
#pragma once

#include <cstdint>
#include <string>

#include "fleet/metadata.h"

namespace tern::hub {

class HubKeys {
 public:
  static Result<HubKeys> OpenOrCreate(const std::string& data_dir, int64_t now,
                                      int64_t root_ttl_s = 365 * 86400);

  const fleet::Json& root_envelope() const { return root_envelope_; }
  const fleet::RootMetadata& root() const { return root_; }
  /// Root version `n` (1 ≤ n ≤ current) as stored; lets clients walk a rotation chain.
  Result<fleet::Json> RootVersion(int64_t n) const;
  /// Signs a manifest with the current targets key.
  Result<fleet::Json> SignTargets(const fleet::TargetsMetadata& targets) const;

 private:
  std::string dir_;
  fleet::RootMetadata root_;
  fleet::Json root_envelope_;
  fleet::KeyPair targets_key_;
};

}  // namespace tern::hub
