// Integer matrix products with a constant 2-D B (the weights): MatMulInteger (int32 out),
// QLinearMatMul (requantized 8-bit out) and ai.tern QMatMul (the fused form of
// DequantizeLinear -> MatMul/Gemm -> [activation] [-> QuantizeLinear] from the qdq_fusion pass;
// contract in ep/ref/ops/qfused.cc). B minus its zero points is packed once at load into s16
// panels (qgemm.h); A's leading dimensions fold into rows, which are widened to int16 minus the
// zero point per run. Per-row A zero points or scales, per-column output parameters and run-time
// B fall back to the reference kernel.
#include <string>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/qgemm.h"
#include "ep/ref/quant_util.h"

namespace tern::cpu {
namespace {

namespace quant = ref::quant;

enum class QMatMulOp { kMatMulInteger, kQLinearMatMul, kFused };

using quant::Is8Bit;

class QMatMulKernel : public OpKernel {
 public:
  explicit QMatMulKernel(QMatMulOp op) : op_(op) {}

  Status Init(const KernelInfo& info) {
    // Slots: a, a_scale, a_zero, b, b_scale, b_zero, bias, y_scale, y_zero.
    int s[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    if (op_ == QMatMulOp::kMatMulInteger) {
      const int v[9] = {0, -1, 2, 1, -1, 3, -1, -1, -1};
      std::copy(v, v + 9, s);
    } else if (op_ == QMatMulOp::kQLinearMatMul) {
      const int v[9] = {0, 1, 2, 3, 4, 5, -1, 6, 7};
      std::copy(v, v + 9, s);
    }
    const Tensor* t[9] = {};
    for (int i = 1; i < 9; ++i) {
      if (s[i] < 0 || !info.has_input(static_cast<size_t>(s[i]))) continue;
      t[i] = info.constant_input(static_cast<size_t>(s[i]));
      if (!t[i]) return NotImplemented("input " + std::to_string(s[i]) + " must be a constant");
    }
    const Tensor* b = t[3];
    if (!b || b->rank() != 2) return NotImplemented("B must be a 2-D constant");
    a_type_ = info.input_type(0).elem;
    if (!Is8Bit(a_type_) || !Is8Bit(b->dtype()))
      return NotImplemented("A and B must be int8 or uint8");
    if ((t[2] && (t[2]->dtype() != a_type_ || t[2]->numel() != 1)) || (t[1] && t[1]->numel() != 1))
      return NotImplemented("A's scale and zero point must be scalars of A's type");
    trans_b_ = op_ == QMatMulOp::kFused && info.GetInt("transB", 0) != 0;
    k_ = static_cast<size_t>(trans_b_ ? b->dim(1) : b->dim(0));
    n_ = static_cast<size_t>(trans_b_ ? b->dim(0) : b->dim(1));
    a_zero_ = {quant::ReadZeroPoint(t[2], 0)};
    if (t[5] && t[5]->dtype() != b->dtype()) return NotImplemented("b_zero_point type");
    TERN_ASSIGN_OR_RETURN(auto b_zero,
                          quant::ReadZeroPoints(t[5], static_cast<int64_t>(n_), "b_zero_point"));
    if (b->dtype() == DataType::kInt8)
      b_ = PackS16B(b->data<int8_t>(), k_, n_, trans_b_, b_zero);
    else
      b_ = PackS16B(b->data<uint8_t>(), k_, n_, trans_b_, b_zero);
    if (op_ == QMatMulOp::kMatMulInteger) {
      epi_.kind = IntEpilogue::Kind::kInt32;
      epi_.out_type = DataType::kInt32;
      return Status::Ok();
    }
    if (!t[1] || !t[4]) return NotImplemented("scales are required");
    const int64_t n = static_cast<int64_t>(n_);
    TERN_ASSIGN_OR_RETURN(auto a_s, quant::ReadScales(*t[1], 1, "a_scale"));
    TERN_ASSIGN_OR_RETURN(auto b_s, quant::ReadScales(*t[4], n, "b_scale"));
    float y_s = 1;
    if (t[7]) {
      if (t[7]->numel() != 1) return NotImplemented("y_scale must be a scalar");
      TERN_ASSIGN_OR_RETURN(auto v, quant::ReadScales(*t[7], 1, "y_scale"));
      y_s = v[0];
    }
    if (op_ == QMatMulOp::kQLinearMatMul && !t[7]) return NotImplemented("y_scale is required");
    if (t[8] && (!Is8Bit(t[8]->dtype()) || t[8]->numel() != 1))
      return NotImplemented("y_zero_point must be an int8 or uint8 scalar");
    epi_.out_type = t[8] ? t[8]->dtype() : DataType::kUInt8;
    epi_.y_zero = quant::ReadZeroPoint(t[8], 0);
    epi_.mult.resize(n_);
    for (size_t j = 0; j < n_; ++j) {
      const float bs = b_s.size() == 1 ? b_s[0] : b_s[j];
      // The same float expressions as the reference kernels, so results agree exactly.
      epi_.mult[j] = op_ == QMatMulOp::kQLinearMatMul ? a_s[0] * bs / y_s : a_s[0] * bs;
    }
    if (op_ == QMatMulOp::kQLinearMatMul) {
      epi_.kind = IntEpilogue::Kind::kQuantized;
      return Status::Ok();
    }
    epi_.kind = IntEpilogue::Kind::kFloat;
    if (const Tensor* bias = t[6]) {
      if (bias->dtype() != DataType::kFloat32 || bias->numel() != n)
        return InvalidArgument("bias must be float32 [N]");
      epi_.bias_f.assign(bias->data<float>(), bias->data<float>() + n);
    }
    TERN_RETURN_IF_ERROR(ParseFusedActivation(info, &epi_.act));
    epi_.requantize = t[7] != nullptr;
    if (!t[7]) epi_.out_type = DataType::kFloat32;
    epi_.y_scale = y_s;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    if (a.dtype() != a_type_ || a.rank() == 0 || a.dim(a.rank() - 1) != static_cast<int64_t>(k_))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "A " + a.shape().ToString() + " must end in K=" + std::to_string(k_));
    Shape out_shape = a.shape();
    out_shape[out_shape.rank() - 1] = static_cast<int64_t>(n_);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, epi_.out_type, out_shape));
    if (y->numel() == 0) return Status::Ok();
    const size_t rows = static_cast<size_t>(a.numel()) / k_;
    const size_t lda = b_.kpairs * 2;
    thread_local std::vector<int16_t> wide;  // grows once: no allocation in steady state
    if (wide.size() < rows * lda) wide.resize(rows * lda);
    if (a_type_ == DataType::kUInt8)
      WidenS16Rows(a.data<uint8_t>(), rows, k_, k_, a_zero_, wide.data(), lda);
    else
      WidenS16Rows(a.data<int8_t>(), rows, k_, k_, a_zero_, wide.data(), lda);
    void* out = y->raw();
    const S16FinishFn finish = [&](const int32_t* acc, size_t ld, size_t j0, size_t nc) {
      for (size_t i = 0; i < rows; ++i) epi_.Write(acc + i * ld, nc, j0, true, out, i * n_ + j0);
    };
    S16GemmJob job;
    job.m = rows;
    job.n = n_;
    job.kpairs = b_.kpairs;
    job.a = wide.data();
    job.lda = lda;
    job.b = &b_;
    job.finish = &finish;
    RunS16Gemm(job, ctx.thread_pool());
    return Status::Ok();
  }

 private:
  QMatMulOp op_;
  DataType a_type_ = DataType::kUInt8;
  bool trans_b_ = false;
  size_t k_ = 0, n_ = 0;
  std::vector<int32_t> a_zero_;
  S16Panels b_;
  IntEpilogue epi_;
};

}  // namespace

void Register_qmatmul(KernelRegistry& r) {
  r.Add("", "MatMulInteger", Create<QMatMulKernel, QMatMulOp::kMatMulInteger>, 10);
  r.Add("", "QLinearMatMul", Create<QMatMulKernel, QMatMulOp::kQLinearMatMul>, 10);
  r.Add(kTernDomain, "QMatMul", Create<QMatMulKernel, QMatMulOp::kFused>);
}

}  // namespace tern::cpu
