// The health check an agent runs after switching to a new model, before it serves it.
//
// A probe is a ustar archive (`tar -cf probe.tar input_0.pb output_0.pb ...`) in the ONNX
// backend-test layout: input_K.pb / output_K.pb are serialized TensorProtos for the model's K-th
// input and output. Several data sets may sit in sub-folders (test_data_set_0/input_0.pb, ...).
// The check loads the model with libtern, runs every data set, compares each output with
// |got - want| <= atol + rtol * |want| (exact for integers), and fails when any run is slower
// than the latency budget. A model without a probe passes when it loads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tern/session.h"
#include "tern/status.h"

namespace tern::agent {

/// One data set of a probe: serialized tensors by position.
struct ProbeSet {
  std::string name;  ///< the folder inside the archive ("" at the top)
  std::map<int, std::string> inputs;
  std::map<int, std::string> outputs;
};

/// Parses a ustar archive into data sets; ignores files that are not input_K.pb/output_K.pb.
Result<std::vector<ProbeSet>> ParseProbeArchive(const std::string& archive);

/// Packs the probe files in `dir` (input_K.pb/output_K.pb at the top and in test_data_set_*
/// sub-folders) into a ustar archive that ParseProbeArchive reads: what `tern publish --probe`
/// uploads.
Result<std::string> MakeProbeArchive(const std::string& dir);

struct HealthOptions {
  std::vector<std::string> providers = {"cpu", "ref"};
  double atol = 1e-4;
  double rtol = 1e-3;
  int latency_budget_ms = 2000;
};

struct HealthReport {
  int sets_run = 0;
  double slowest_ms = 0;
};

/// Loads `model_path`, runs the probe in `probe_path` (none when empty) and returns the loaded
/// session when everything passes; the error says which set and output failed and why.
Result<std::unique_ptr<Session>> CheckHealth(const std::string& model_path,
                                             const std::string& probe_path,
                                             const HealthOptions& options, HealthReport* report);

/// "" when `got` matches `want` within the tolerance, else what differs.
std::string CompareTensors(const Tensor& got, const Tensor& want, double atol, double rtol);

}  // namespace tern::agent
