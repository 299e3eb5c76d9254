#include "ep/ref/elem_util.h"

namespace tern::ref {

Status CheckTensorInputs(const KernelContext& ctx, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!ctx.has_input(i))
      return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(i) + " is missing");
    if (!ctx.input_value(i)->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input " + std::to_string(i) + " must be a tensor");
  }
  return Status::Ok();
}

Status CheckSameType(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (a.dtype() == b.dtype()) return Status::Ok();
  return ctx.Error(StatusCode::kInvalidArgument, std::string("input types differ: ") +
                                                     DataTypeName(a.dtype()) + " and " +
                                                     DataTypeName(b.dtype()));
}

Status UnsupportedType(const KernelContext& ctx, DataType type, const char* role) {
  return ctx.Error(StatusCode::kNotImplemented,
                   std::string(role) + " type " + DataTypeName(type) + " is not supported");
}

}  // namespace tern::ref
