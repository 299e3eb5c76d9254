// Signed metadata, after TUF: an envelope {"signed": {...}, "signatures": [{"keyid","sig"}]}
// where each signature is Ed25519 over the canonical JSON of "signed" (see canonical_json.h).
//
// Two roles exist so far:
//  - root:    lists the trusted keys and which key ids may sign each role, with a threshold.
//             Root version N+1 must be signed by a threshold of root N's root keys and of its
//             own, so a rotation is a chain of root files a client walks one by one.
//  - targets: one model version (a "manifest"): its variants with size and SHA-256.
// Every "signed" body carries "_type", "spec_version", a "version" counter that clients never
// let go backwards, and "expires" (RFC 3339 UTC, e.g. "2030-01-01T00:00:00Z").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fleet/canonical_json.h"
#include "fleet/crypto.h"
#include "tern/status.h"

namespace tern::fleet {

constexpr int64_t kSpecVersion = 1;

/// "2030-01-01T00:00:00Z" for a Unix time.
std::string FormatTime(int64_t unix_seconds);
/// Parses exactly the form FormatTime writes.
Result<int64_t> ParseTime(std::string_view text);

/// Wraps `signed_body` in an envelope signed by each of `keys`.
Result<Json> SignEnvelope(const Json& signed_body, const std::vector<const KeyPair*>& keys);

/// Checks that the envelope is well formed and that at least `threshold` distinct key ids from
/// `allowed_keyids` (with public keys in `keys`) signed it. Unknown or bad signatures are
/// ignored, as TUF does, but never counted.
Status VerifyEnvelope(const Json& envelope, const std::map<std::string, PublicKey>& keys,
                      const std::vector<std::string>& allowed_keyids, int64_t threshold);

/// Which keys may sign a role, and how many must.
struct RoleKeys {
  std::vector<std::string> keyids;
  int64_t threshold = 1;
};

struct RootMetadata {
  int64_t version = 1;
  int64_t expires = 0;
  std::map<std::string, PublicKey> keys;  ///< key id → public key
  RoleKeys root;
  RoleKeys targets;

  Json ToJson() const;
  /// Validates types, _type, spec_version, that key ids match their keys and that every role's
  /// key ids are listed in "keys".
  static Result<RootMetadata> FromJson(const Json& signed_body);
};

/// One downloadable form of a model version.
struct TargetVariant {
  std::string name;                        ///< unique within the version, e.g. "int8-avx2"
  std::string precision;                   ///< "fp32", "fp16", "int8", ...
  std::string provider;                    ///< preferred provider, e.g. "cpu" or "ref"
  std::vector<std::string> cpu_features;   ///< required, e.g. {"avx2", "fma"}
  uint64_t size = 0;
  std::string sha256;                      ///< lowercase hex
  /// Optional health-check probe: a ustar archive of backend-test files input_K.pb/output_K.pb
  /// (see docs/agent.md), a blob like the model. Empty when the variant has no probe; the JSON
  /// then omits both fields, so manifests without probes sign the same bytes as before.
  std::string probe_sha256;
  uint64_t probe_size = 0;

  bool operator==(const TargetVariant&) const = default;
};

/// The manifest of one model version.
struct TargetsMetadata {
  int64_t version = 1;  ///< per-model counter, grows with every manifest the hub signs
  int64_t expires = 0;
  std::string model;
  std::string model_version;
  std::vector<TargetVariant> variants;

  Json ToJson() const;
  static Result<TargetsMetadata> FromJson(const Json& signed_body);
};

}  // namespace tern::fleet
