// Transpose: permutes the axes (default: reverses them). Every dtype, strings included.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class TransposeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    has_perm_ = info.has_attr("perm");
    perm_ = info.GetInts("perm");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    const Tensor& x = ctx.input(0);
    const size_t rank = x.rank();
    std::vector<int64_t> perm = perm_;
    if (!has_perm_) {
      perm.resize(rank);
      for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    }
    if (perm.size() != rank)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(rank));
    std::vector<bool> seen(rank, false);
    for (int64_t& p : perm) {
      if (p < 0) p += static_cast<int64_t>(rank);  // tolerated by most runtimes
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p])
        return ctx.Error(StatusCode::kInvalidArgument, "perm is not a permutation");
      seen[p] = true;
    }
    Shape out_shape;
    for (size_t i = 0; i < rank; ++i) out_shape.push_back(x.dim(perm[i]));
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const std::vector<int64_t> in_strides = Strides(x.shape());
    std::vector<int64_t> src_stride(rank);
    for (size_t i = 0; i < rank; ++i) src_stride[i] = in_strides[perm[i]];
    ElemCopier copy(x.dtype());
    const void* src = x.raw();
    void* dst = out->raw();
    ForEachIndex(out_shape, [&](int64_t i, const int64_t* c) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += c[d] * src_stride[d];
      copy(dst, i, src, off);
    });
    return Status::Ok();
  }

 private:
  bool has_perm_ = false;
  std::vector<int64_t> perm_;
};

}  // namespace

void Register_transpose(KernelRegistry& r) { r.Add("", "Transpose", Create<TransposeKernel>); }

}  // namespace tern::ref
