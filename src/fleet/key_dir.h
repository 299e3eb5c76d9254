// A key folder: the layout shared by the hub's data folder, the operator's offline folder
// (`tern keys init|rotate`) and the hub's `--keys` folder (`tern keys export`):
//   DIR/keys/root-<keyid>.key, DIR/keys/targets-<keyid>.key   (0600, folder 0700)
//   DIR/metadata/<n>.root.json                                  (every root version, kept)
// A new root names which keys are current, so a key file is always written before the root that
// names it: a crash in between leaves an unused key, never a root naming a missing key.
//
// The offline folder holds the root private key(s); the exported folder a hub serves from holds
// the root chain and only the targets private key, so a compromised hub cannot certify keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/metadata.h"

namespace tern::fleet {

/// The newest N with DIR/metadata/N.root.json, or 0 when there is none.
int64_t LatestRootVersion(const std::string& dir);
/// DIR/metadata/N.root.json, parsed (not verified).
Result<Json> ReadRootVersion(const std::string& dir, int64_t n);
std::string RootVersionPath(const std::string& dir, int64_t n);
/// DIR/keys/<role>-<keyid>.key
std::string KeyFilePath(const std::string& dir, const std::string& role, const std::string& keyid);

/// Makes a root key, a targets key and root version 1 (valid `ttl_s` from `now`) in an empty
/// folder. FailedPrecondition when DIR already holds a root v1 (nothing is changed then).
Status InitKeyDir(const std::string& dir, int64_t now, int64_t ttl_s);

/// What RotateKeyDir did.
struct Rotation {
  int64_t version = 0;    ///< the new root version
  std::string new_keyid;  ///< the key made
};

/// Writes root version latest+1 with a fresh targets key (or, with `rotate_root`, a fresh root
/// key that replaces the old one; the targets key stays). The new root is signed by the old
/// root's keys and by its own, so clients holding any earlier root walk to it. Needs the root
/// private keys in DIR/keys.
Result<Rotation> RotateKeyDir(const std::string& dir, bool rotate_root, int64_t now, int64_t ttl_s);

/// Copies every root version and the private keys of the newest root's targets role (never a
/// root key) into `out`, in the same layout: what a hub serves with `--keys`.
Status ExportKeyDir(const std::string& dir, const std::string& out);

/// The verified state of a key folder: the root chain walked from version 1 (or from `trusted`,
/// a root already verified) and the targets private key of the newest root.
struct LoadedKeys {
  RootMetadata root;
  Json root_envelope;
  KeyPair targets_key;
};
/// Verifies every root from `from_envelope` (null: DIR's version 1, trusted as provisioned)
/// forward to the newest in DIR, each signed by its predecessor's root keys and its own, and
/// loads a private key of the newest root's targets role.
Result<LoadedKeys> LoadKeyDir(const std::string& dir, const Json& from_envelope = Json());

}  // namespace tern::fleet
