// com.microsoft MatMulNBits (ONNX Runtime contrib op), 4-bit codes: Y[..., n] = sum_k A[..., k] *
// W[n, k] (+ bias[n]) with W dequantized block by block (layout in core/nbits.h). A's leading
// dims are kept, its last one (K) becomes N. The reference dequantizes one column at a time and
// accumulates in double, so it is the oracle for the faster cpu kernel.
#include <vector>

#include "core/nbits.h"
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

class MatMulNBitsKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    auto layout = nbits::MakeLayout(info.GetInt("K", 0), info.GetInt("N", 0),
                                    info.GetInt("bits", 4), info.GetInt("block_size", 0));
    if (!layout.ok()) return info.Error(layout.status().code(), layout.status().message());
    layout_ = *layout;
    if (info.has_input(4))
      return info.Error(StatusCode::kNotImplemented, "g_idx (input 4) is not supported");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 3; ++i)
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is required");
    const Tensor& a = ctx.input(0);
    const Tensor* zp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const Tensor* bias = ctx.has_input(5) ? &ctx.input(5) : nullptr;
    if (a.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kNotImplemented, "A must be float32");
    if (a.rank() == 0 || a.dim(a.rank() - 1) != layout_.k)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "A " + a.shape().ToString() + " must end in K=" + std::to_string(layout_.k));
    Status st = nbits::CheckInputs(layout_, ctx.input(1), ctx.input(2), zp);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    if (bias && (bias->dtype() != DataType::kFloat32 || bias->numel() != layout_.n))
      return ctx.Error(StatusCode::kInvalidArgument, "bias must be float32 [N]");
    Shape out_shape = a.shape();
    out_shape[out_shape.rank() - 1] = layout_.n;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
    const int64_t rows = a.numel() / layout_.k;
    const float* pa = a.data<float>();
    float* py = y->data<float>();
    std::vector<float> column(static_cast<size_t>(layout_.k));
    for (int64_t n = 0; n < layout_.n; ++n) {
      nbits::DequantizeColumn(layout_, ctx.input(1).data<uint8_t>(), ctx.input(2).data<float>(),
                              zp ? zp->data<uint8_t>() : nullptr, n, column.data());
      for (int64_t m = 0; m < rows; ++m) {
        double acc = bias ? bias->data<float>()[n] : 0.0;
        for (int64_t k = 0; k < layout_.k; ++k)
          acc += static_cast<double>(pa[m * layout_.k + k]) * column[static_cast<size_t>(k)];
        py[m * layout_.n + n] = static_cast<float>(acc);
      }
    }
    return Status::Ok();
  }

 private:
  nbits::Int4Layout layout_;
};

}  // namespace

void Register_matmul_nbits(KernelRegistry& r) {
  r.Add("com.microsoft", "MatMulNBits", Create<MatMulNBitsKernel>);
}

}  // namespace tern::ref
