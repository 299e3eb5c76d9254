// The verifying side of signed metadata: what an agent (or any client) keeps between runs.
//
// It trusts one root at a time, starting from a root shipped out of band, and moves forward only
// one root version at a time, each signed by a threshold of the previous root's root keys and of
// its own. Targets (model manifests) must be signed by the current root's targets keys, must not
// be expired, and their per-model version counter never goes back: an older manifest than the
// last one accepted is a rollback or freeze attack, and a different manifest under the same
// counter is a mix-and-match attempt. Both are refused.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "fleet/metadata.h"

namespace tern::fleet {

class TrustStore {
 public:
  /// Trusts `root_envelope` (obtained out of band) if it is signed by its own root keys.
  static Result<TrustStore> Bootstrap(const Json& root_envelope);
  /// Restores the state SaveState() wrote (re-verifying the root's self-signature).
  static Result<TrustStore> LoadState(const Json& state);
  /// {"root": envelope, "targets": {model: {"version": n, "hash": hex}}}
  Json SaveState() const;

  /// Moves to root version current+1. Expiry is not checked here (an old device may walk a
  /// chain of expired roots); it is checked when the root is used.
  Status UpdateRoot(const Json& next_root_envelope);

  /// Verifies a manifest at Unix time `now` and, when it passes, records its version.
  Result<TargetsMetadata> VerifyTargets(const Json& envelope, int64_t now);

  const RootMetadata& root() const { return root_; }
  const Json& root_envelope() const { return root_envelope_; }
  /// 0 when no manifest of `model` was accepted yet.
  int64_t LastTargetsVersion(const std::string& model) const;

 private:
  struct Seen {
    int64_t version = 0;
    std::string hash;  ///< hex SHA-256 of the canonical "signed" body
  };
  RootMetadata root_;
  Json root_envelope_;
  std::map<std::string, Seen> targets_;
};

}  // namespace tern::fleet
