// Helpers shared by the gradient kernels of the "ai.tern" domain (src/ep/ref/ops/grad_*.cc),
// which the training graph builder (src/train/autodiff.cc) emits for the backward pass.
// Gradients are computed for float32 and float64 only: float64 lets the numerical gradient
// checks use tiny steps, float32 is what training runs in.
#pragma once

#include <string>

#include "ep/ref/nn_util.h"

namespace tern::ref {

/// The domain of Tern's own ops (gradients, losses).
inline constexpr const char* kTernDomain = "ai.tern";

/// Calls fn(float{}) or fn(double{}); NotImplemented for other types.
template <typename Fn>
Status VisitGradType(const KernelContext& ctx, DataType type, Fn&& fn) {
  if (type == DataType::kFloat32) return fn(float{});
  if (type == DataType::kFloat64) return fn(double{});
  return ctx.Error(StatusCode::kNotImplemented,
                   std::string("gradients of type ") + DataTypeName(type) + " are not supported");
}

/// Fails unless inputs [0, n) are present, share `a`'s type, and (when `same_shape`) its shape.
inline Status RequireInputs(const KernelContext& ctx, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!ctx.has_input(i))
      return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(i) + " is missing");
  return Status::Ok();
}

inline Status RequireSameShape(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                               const char* what) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return ctx.Error(StatusCode::kInvalidArgument,
                     std::string(what) + ": " + DataTypeName(a.dtype()) + a.shape().ToString() +
                         " and " + DataTypeName(b.dtype()) + b.shape().ToString() + " differ");
  return Status::Ok();
}

}  // namespace tern::ref
