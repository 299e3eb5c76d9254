#include "fl/params.h"

#include <cmath>
#include <cstring>

namespace tern::fl {

Result<ParamLayout> ParamLayout::Of(const NamedTensors& tensors) {
  ParamLayout l;
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != DataType::kFloat32)
      return InvalidArgument("parameter '" + name + "' is " + DataTypeName(t.dtype()) +
                             "; federated learning handles float32 parameters only");
    l.names.push_back(name);
    l.shapes.push_back(t.shape());
    l.offsets.push_back(l.size);
    l.size += static_cast<size_t>(t.numel());
  }
  return l;
}

Result<std::vector<float>> ParamLayout::Flatten(const NamedTensors& tensors) const {
  if (tensors.size() != names.size())
    return InvalidArgument("expected " + std::to_string(names.size()) + " tensors, got " +
                           std::to_string(tensors.size()));
  std::vector<float> flat(size);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (name != names[i] || t.shape() != shapes[i] || t.dtype() != DataType::kFloat32)
      return InvalidArgument("tensor " + std::to_string(i) + " '" + name + "' " +
                             t.shape().ToString() + " does not match '" + names[i] + "' " +
                             shapes[i].ToString());
    if (t.numel() > 0) std::memcpy(flat.data() + offsets[i], t.raw(), t.nbytes());
  }
  return flat;
}

Result<NamedTensors> ParamLayout::Unflatten(const std::vector<float>& flat) const {
  if (flat.size() != size)
    return InvalidArgument("flat vector has " + std::to_string(flat.size()) +
                           " elements, the layout " + std::to_string(size));
  NamedTensors out;
  for (size_t i = 0; i < names.size(); ++i) {
    TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(DataType::kFloat32, shapes[i]));
    if (t.numel() > 0) std::memcpy(t.raw(), flat.data() + offsets[i], t.nbytes());
    out.emplace_back(names[i], std::move(t));
  }
  return out;
}

double L2Norm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

double ClipToNorm(std::vector<float>& v, double max_norm) {
  const double norm = L2Norm(v);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / norm;
    for (float& x : v) x = static_cast<float>(x * scale);
  }
  return norm;
}

}  // namespace tern::fl
