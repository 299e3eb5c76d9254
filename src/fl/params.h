// Model parameters as one flat vector: federated aggregation, clipping, secure aggregation and
// differential privacy all work on vectors, while the trainer and the ONNX writer work on named
// tensors. A ParamLayout maps between the two (float32 tensors only, in a fixed order that the
// coordinator and every client share because they come from the same model).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::fl {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// Where each named tensor lives in a flat vector.
struct ParamLayout {
  std::vector<std::string> names;
  std::vector<Shape> shapes;
  std::vector<size_t> offsets;  ///< start of each tensor in the flat vector
  size_t size = 0;              ///< total elements

  /// The layout of `tensors` (all float32), in their order.
  static Result<ParamLayout> Of(const NamedTensors& tensors);
  /// Concatenates `tensors` (same names, order and shapes as the layout) into a vector.
  Result<std::vector<float>> Flatten(const NamedTensors& tensors) const;
  /// Named float32 tensors (freshly allocated) holding `flat`.
  Result<NamedTensors> Unflatten(const std::vector<float>& flat) const;
};

/// Euclidean norm of a vector (accumulated in double).
double L2Norm(const std::vector<float>& v);
/// Scales `v` so that its L2 norm is at most `max_norm` (no change when max_norm <= 0 or the norm
/// is already within it); returns the norm before clipping.
double ClipToNorm(std::vector<float>& v, double max_norm);

}  // namespace tern::fl
