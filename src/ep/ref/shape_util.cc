#include "ep/ref/shape_util.h"

#include <limits>

namespace tern::ref {

Result<int64_t> CheckedMul(int64_t a, int64_t b, const char* what) {
  if (a < 0 || b < 0) return InvalidArgument(std::string(what) + ": negative dimension");
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a)
    return ResourceExhausted(std::string(what) + ": size overflows int64");
  return a * b;
}

Result<int64_t> CheckedNumElements(const std::vector<int64_t>& dims, const char* what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    TERN_ASSIGN_OR_RETURN(n, CheckedMul(n, d, what));
  }
  return n;
}

Status RequireInput(const KernelContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i) || !ctx.input_value(i)->is_tensor())
    return ctx.Error(StatusCode::kInvalidArgument, std::string("missing input '") + what + "'");
  return Status::Ok();
}

Status CheckIndexType(const KernelContext& ctx, const Tensor& t, const char* what) {
  if (t.dtype() != DataType::kInt64 && t.dtype() != DataType::kInt32)
    return ctx.Error(StatusCode::kInvalidArgument,
                     std::string(what) + " must be int32 or int64, got " + DataTypeName(t.dtype()));
  return Status::Ok();
}

Result<std::vector<int64_t>> ReadIntInput(const KernelContext& ctx, size_t i, const char* what) {
  TERN_RETURN_IF_ERROR(RequireInput(ctx, i, what));
  const Tensor& t = ctx.input(i);
  if (t.rank() > 1)
    return ctx.Error(StatusCode::kInvalidArgument,
                     std::string(what) + " must be 1-D, got shape " + t.shape().ToString());
  auto r = ReadInts(t, what);
  if (!r.ok()) return r.status().WithContext(ctx.node().Describe());
  return r;
}

Result<int64_t> ReadIntScalar(const KernelContext& ctx, size_t i, const char* what) {
  TERN_RETURN_IF_ERROR(RequireInput(ctx, i, what));
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1)
    return ctx.Error(
        StatusCode::kInvalidArgument,
        std::string(what) + " must have one element, got shape " + t.shape().ToString());
  TERN_RETURN_IF_ERROR(CheckIndexType(ctx, t, what));
  return IndexAt(t, 0);
}

Result<std::vector<int64_t>> NormalizeAxes(const std::vector<int64_t>& axes, int64_t rank,
                                           const char* what) {
  std::vector<int64_t> out;
  std::vector<bool> seen(static_cast<size_t>(std::max<int64_t>(rank, 0)), false);
  for (int64_t a : axes) {
    if (a < -rank || a >= rank)
      return OutOfRange(std::string(what) + ": axis " + std::to_string(a) +
                        " is out of range for rank " + std::to_string(rank));
    int64_t n = a < 0 ? a + rank : a;
    if (seen[n])
      return InvalidArgument(std::string(what) + ": axis " + std::to_string(a) + " is repeated");
    seen[n] = true;
    out.push_back(n);
  }
  return out;
}

}  // namespace tern::ref
