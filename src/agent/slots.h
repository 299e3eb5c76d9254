// A/B model slots on disk and the pointer that says which one is live.
//
//   STATE/slots/{a,b}/model.onnx, probe.tar (optional), slot.json (written last: its presence
//                                                                  marks a complete slot)
//   STATE/current   {"slot": "a", "state": "good"|"trial", "attempts": n, "previous": "b"|""}
//
// Every change is ordered so that a power cut at any instant leaves a pointer to a complete,
// verified slot: a new version is staged into the slot the pointer does not name (files renamed
// in, fsynced, then slot.json), and only then is the pointer replaced (temporary file, fsync,
// rename, fsync of the folder). "trial" marks a switch whose health check has not passed yet;
// "previous" is the last known good slot to roll back to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/crash.h"
#include "fleet/canonical_json.h"
#include "tern/status.h"

namespace tern::agent {

/// What a slot holds (slot.json).
struct SlotInfo {
  std::string model;
  std::string model_version;
  int64_t manifest_version = 0;
  std::string variant;
  std::string sha256;
  uint64_t size = 0;
  std::string probe_sha256;  ///< empty when the variant has no probe
  uint64_t probe_size = 0;

  fleet::Json ToJson() const;
  static Result<SlotInfo> FromJson(const fleet::Json& j);
};

struct SlotPointer {
  std::string slot;  ///< "a" or "b"
  bool trial = false;
  int attempts = 0;  ///< health checks started for this trial
  std::string previous;
};

class SlotStore {
 public:
  SlotStore(std::string state_dir, CrashPoints crash);

  /// Creates the folders and removes what an interrupted pointer write left behind.
  Status Init();
  /// The pointer, or nullopt on a device that never installed a model.
  Result<std::optional<SlotPointer>> ReadPointer() const;
  /// Replaces the pointer durably. Crash points: `<step>_tmp` (temporary file written and
  /// fsynced) and `<step>_renamed` (renamed, folder not yet fsynced).
  Status WritePointer(const SlotPointer& p, const std::string& step);

  /// Reads slot.json and checks the model (and probe) files' size and SHA-256 against it.
  Result<SlotInfo> VerifySlot(const std::string& slot) const;
  /// Moves verified downloads into `slot` (never the live one). Crash points: stage_cleared,
  /// stage_model, stage_done.
  Status Stage(const std::string& slot, const SlotInfo& info, const std::string& model_file,
               const std::string& probe_file);

  std::string ModelPath(const std::string& slot) const;
  std::string ProbePath(const std::string& slot) const;
  static std::string Other(const std::string& slot) { return slot == "a" ? "b" : "a"; }

 private:
  std::string SlotDir(const std::string& slot) const;
  std::string dir_;
  CrashPoints crash_;
};

}  // namespace tern::agent
