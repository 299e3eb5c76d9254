// Gemm and ai.tern FusedGemm, float32: Y = alpha * op(A) * op(B) + beta * C, then the fused
// activation. A constant B is packed once at load with alpha folded in, a constant C is scaled by
// beta once; a C that is one bias per row or per column rides in the GEMM epilogue, any other
// broadcast of C (scalar, full matrix) is added in a pass over Y afterwards.
#include <algorithm>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

class GemmKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "A"));
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 1, "B"));
    if (info.has_input(2)) TERN_RETURN_IF_ERROR(RequireFloat32(info, 2, "C"));
    if (info.node().domain == kTernDomain)
      TERN_RETURN_IF_ERROR(ParseFusedActivation(info, &activation_));
    trans_a_ = info.GetInt("transA", 0) != 0;
    trans_b_ = info.GetInt("transB", 0) != 0;
    alpha_ = info.GetFloat("alpha", 1.0f);
    beta_ = info.GetFloat("beta", 1.0f);
    if (const Tensor* b = info.constant_input(1); b && b->rank() == 2) {
      const size_t rows = static_cast<size_t>(b->dim(0)), cols = static_cast<size_t>(b->dim(1));
      std::vector<float> scaled(b->data<float>(), b->data<float>() + b->numel());
      for (float& v : scaled) v *= alpha_;
      k_ = trans_b_ ? cols : rows;
      n_ = trans_b_ ? rows : cols;
      packed_b_ = PackB(scaled.data(), k_, n_, cols, trans_b_, GemmUkernel());
      b_packed_ = true;
    }
    if (const Tensor* c = info.has_input(2) ? info.constant_input(2) : nullptr) {
      if (c->rank() > 2) return NotImplemented("C has rank " + std::to_string(c->rank()));
      c_values_.assign(c->data<float>(), c->data<float>() + c->numel());
      for (float& v : c_values_) v *= beta_;
      c_shape_ = c->shape();
      c_const_ = true;
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DataType::kFloat32 || a.rank() != 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "A must be a 2-D float32 tensor, got " + a.shape().ToString());
    const size_t m = static_cast<size_t>(trans_a_ ? a.dim(1) : a.dim(0));
    const size_t k = static_cast<size_t>(trans_a_ ? a.dim(0) : a.dim(1));
    size_t kb = k_, n = n_;
    if (!b_packed_) {
      if (b.dtype() != DataType::kFloat32 || b.rank() != 2)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "B must be a 2-D float32 tensor, got " + b.shape().ToString());
      kb = static_cast<size_t>(trans_b_ ? b.dim(1) : b.dim(0));
      n = static_cast<size_t>(trans_b_ ? b.dim(0) : b.dim(1));
    }
    if (k != kb)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "inner dims differ: A " + a.shape().ToString() + " has " +
                           std::to_string(k) + ", B has " + std::to_string(kb));
    // C as (rows, cols) broadcast to (m, n).
    const float* c_data = nullptr;
    float c_scale = 1.0f;
    Shape c_shape;
    if (c_const_) {
      c_data = c_values_.data();
      c_shape = c_shape_;
    } else if (ctx.has_input(2)) {
      const Tensor& c = ctx.input(2);
      if (c.dtype() != DataType::kFloat32 || c.rank() > 2)
        return ctx.Error(StatusCode::kInvalidArgument, "C must be float32 of rank <= 2");
      c_data = c.data<float>();
      c_scale = beta_;
      c_shape = c.shape();
    }
    size_t c_rows = 1, c_cols = 1;
    if (c_data) {
      if (c_shape.rank() == 2) c_rows = static_cast<size_t>(c_shape[0]);
      if (c_shape.rank() >= 1) c_cols = static_cast<size_t>(c_shape[c_shape.rank() - 1]);
      if ((c_rows != 1 && c_rows != m) || (c_cols != 1 && c_cols != n))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "C " + c_shape.ToString() + " cannot be broadcast to [" +
                             std::to_string(m) + "," + std::to_string(n) + "]");
    }
    TERN_ASSIGN_OR_RETURN(
        Tensor * y,
        ctx.Output(0, DataType::kFloat32, Shape{static_cast<int64_t>(m), static_cast<int64_t>(n)}));
    if (m == 0 || n == 0) return Status::Ok();

    GemmProblem p;
    p.m = m;
    p.n = n;
    p.k = k;
    p.a = a.data<float>();
    p.lda = static_cast<size_t>(a.dim(1));
    p.a_trans = trans_a_;
    if (b_packed_) {
      p.b_packed = &packed_b_;
    } else {
      p.b = b.data<float>();
      p.ldb = static_cast<size_t>(b.dim(1));
      p.b_trans = trans_b_;
    }
    p.c = y->data<float>();
    p.ldc = n;
    const float scale = b_packed_ ? 1.0f : alpha_;
    // A bias per column or per row (already scaled) goes into the epilogue with the activation.
    const bool per_col = c_data && c_rows == 1 && c_cols == n;
    const bool per_row = c_data && !per_col && c_rows == m && c_cols == 1;
    const bool in_epilogue =
        scale == 1.0f && (!c_data || (c_scale == 1.0f && (per_col || per_row)));
    if (in_epilogue) {
      p.epilogue = activation_;
      p.epilogue.bias = c_data;
      p.epilogue.bias_per_row = per_row;
    }
    RunGemm(p, GemmUkernel(), ctx.thread_pool());
    if (in_epilogue) return Status::Ok();
    const size_t rs = c_rows == 1 ? 0 : c_cols, cs = c_cols == 1 ? 0 : 1;
    for (size_t i = 0; i < m; ++i) {
      float* row = y->data<float>() + i * n;
      if (scale != 1.0f)
        for (size_t j = 0; j < n; ++j) row[j] *= scale;
      if (c_data)
        for (size_t j = 0; j < n; ++j) row[j] += c_scale * c_data[i * rs + j * cs];
      ApplyActivation(row, n, activation_);
    }
    return Status::Ok();
  }

 private:
  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1, beta_ = 1;
  Epilogue activation_;
  PackedMatrix packed_b_;  // alpha * op(B), when B is constant
  bool b_packed_ = false;
  size_t k_ = 0, n_ = 0;
  std::vector<float> c_values_;  // beta * C, when C is constant
  Shape c_shape_;
  bool c_const_ = false;
};

}  // namespace

void Register_gemm(KernelRegistry& r) {
  // Gemm before opset 7 had a `broadcast` attribute: left to the reference provider.
  r.Add("", "Gemm", Create<GemmKernel>, 7);
  r.Add(kTernDomain, "FusedGemm", Create<GemmKernel>);
}

}  // namespace tern::cpu
