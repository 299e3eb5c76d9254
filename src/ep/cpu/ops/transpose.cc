// Transpose on the cpu provider (float32): the permutation is checked once at load when given,
// and a run walks the output in order with an odometer over the outer dims, copying the innermost
// dim as one run when it stays innermost and gathering with the input stride otherwise. No heap
// allocation per run (the reference builds index vectors and visits each element generically).
#include <cstring>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

constexpr size_t kMaxRank = 16;

class TransposeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "data"));
    has_perm_ = info.has_attr("perm");
    perm_ = info.GetInts("perm");
    if (perm_.size() > kMaxRank) return NotImplemented("rank above 16");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kInvalidArgument, "data must be float32");
    const size_t rank = x.rank();
    if (rank > kMaxRank || (has_perm_ && perm_.size() != rank))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "perm has " + std::to_string(perm_.size()) + " entries for rank " +
                           std::to_string(rank));
    int64_t in_stride[kMaxRank], src_stride[kMaxRank], count[kMaxRank];
    bool seen[kMaxRank] = {};
    int64_t acc = 1;
    for (size_t d = rank; d-- > 0;) {
      in_stride[d] = acc;
      acc *= x.dim(d);
    }
    Shape out_shape;
    for (size_t i = 0; i < rank; ++i) {
      int64_t p = has_perm_ ? perm_[i] : static_cast<int64_t>(rank - 1 - i);
      if (p < 0) p += static_cast<int64_t>(rank);  // tolerated, as the reference does
      if (p < 0 || p >= static_cast<int64_t>(rank) || seen[p])
        return ctx.Error(StatusCode::kInvalidArgument, "perm is not a permutation");
      seen[p] = true;
      src_stride[i] = in_stride[p];
      count[i] = x.dim(static_cast<size_t>(p));
      out_shape.push_back(count[i]);
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kFloat32, out_shape));
    if (out->numel() == 0) return Status::Ok();
    const float* src = x.data<float>();
    float* dst = out->data<float>();
    if (rank == 0) {
      dst[0] = src[0];
      return Status::Ok();
    }
    const size_t last = rank - 1;
    const int64_t row = count[last], step = src_stride[last];
    int64_t idx[kMaxRank] = {};
    int64_t off = 0;
    while (true) {
      if (step == 1) {
        std::memcpy(dst, src + off, static_cast<size_t>(row) * sizeof(float));
      } else {
        for (int64_t j = 0; j < row; ++j) dst[j] = src[off + j * step];
      }
      dst += row;
      size_t d = last;
      while (d-- > 0) {
        off += src_stride[d];
        if (++idx[d] < count[d]) break;
        off -= idx[d] * src_stride[d];
        idx[d] = 0;
      }
      if (d == static_cast<size_t>(-1)) break;
    }
    return Status::Ok();
  }

 private:
  bool has_perm_ = false;
  std::vector<int64_t> perm_;
};

}  // namespace

void Register_transpose(KernelRegistry& r) { r.Add("", "Transpose", Create<TransposeKernel>); }

}  // namespace tern::cpu
