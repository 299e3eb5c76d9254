// com.microsoft MatMulNBits (4-bit codes, layout in core/nbits.h). The weights stay packed in
// memory (4.x bits per weight); per-block scales and zero points are folded at load into
// w = code * scale + offset. Two paths:
//  - few rows (M <= kGemvRows, e.g. token-by-token decoding): a direct product that reads each
//    packed block once per row: sum_k w_k a_k = scale * sum_k code_k a_k + offset * sum_k a_k,
//    with the code dot product in a per-ISA microkernel (ukernels/nbits) and the block sums of A
//    computed once per run. It moves 8x fewer weight bytes than a float GEMV.
//  - more rows: the f32 GEMM driver asks for one kc x nc block of B at a time and this kernel
//    dequantizes it straight into the microkernel's panels, so the float copy of B never exists
//    and the dequantization is amortized over the rows of A.
// B, scales and zero points must be constants (they always are in quantized models); otherwise
// the node falls back to the reference kernel.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/nbits.h"
#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/nbits/q4_dot.h"

namespace tern::cpu {
namespace {

constexpr int64_t kGemvRows = 8;
// Below this many weights a run is not worth waking threads for.
constexpr int64_t kParallelWeights = int64_t{1} << 16;

class MatMulNBitsKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "A"));
    auto layout = nbits::MakeLayout(info.GetInt("K", 0), info.GetInt("N", 0),
                                    info.GetInt("bits", 4), info.GetInt("block_size", 0));
    if (!layout.ok()) return layout.status();
    layout_ = *layout;
    if (info.has_input(4)) return NotImplemented("g_idx (input 4) is not supported");
    const Tensor* b = info.constant_input(1);
    const Tensor* scales = info.constant_input(2);
    const Tensor* zp = info.has_input(3) ? info.constant_input(3) : nullptr;
    if (!b || !scales || (info.has_input(3) && !zp))
      return NotImplemented("B, scales and zero_points must be constants");
    TERN_RETURN_IF_ERROR(nbits::CheckInputs(layout_, *b, *scales, zp));
    b_ = *b;  // shares the initializer's memory
    const int64_t blocks = layout_.blocks_per_col();
    scale_.resize(static_cast<size_t>(layout_.n * blocks));
    offset_.resize(scale_.size());
    for (int64_t n = 0; n < layout_.n; ++n) {
      const uint8_t* col_zp = zp ? zp->data<uint8_t>() + n * layout_.zp_bytes_per_col() : nullptr;
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const size_t i = static_cast<size_t>(n * blocks + blk);
        scale_[i] = scales->data<float>()[i];
        offset_[i] = -static_cast<float>(nbits::ZeroPoint(col_zp, blk)) * scale_[i];
      }
    }
    if (info.has_input(5)) {
      const Tensor* bias = info.constant_input(5);
      if (!bias) return NotImplemented("bias must be a constant");
      if (bias->dtype() != DataType::kFloat32 || bias->numel() != layout_.n)
        return InvalidArgument("bias must be float32 [N]");
      bias_.assign(bias->data<float>(), bias->data<float>() + bias->numel());
    }
    pack_ = [this](float* dst, size_t k0, size_t kc, size_t j0, size_t nc) {
      PackPanels(dst, k0, kc, j0, nc);
    };
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    if (a.dtype() != DataType::kFloat32 || a.rank() == 0 || a.dim(a.rank() - 1) != layout_.k)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "A " + a.shape().ToString() +
                           " must be float32 ending in K=" + std::to_string(layout_.k));
    Shape out_shape = a.shape();
    out_shape[out_shape.rank() - 1] = layout_.n;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
    if (y->numel() == 0) return Status::Ok();
    const int64_t rows = a.numel() / layout_.k;  // leading dims of A fold into M
    if (rows <= kGemvRows) {
      Gemv(a.data<float>(), rows, y->data<float>(), ctx.thread_pool());
      return Status::Ok();
    }
    GemmProblem p;
    p.m = static_cast<size_t>(rows);
    p.n = static_cast<size_t>(layout_.n);
    p.k = static_cast<size_t>(layout_.k);
    p.a = a.data<float>();
    p.lda = p.k;
    p.b_pack = &pack_;
    p.c = y->data<float>();
    p.ldc = p.n;
    if (!bias_.empty()) {
      p.epilogue.bias = bias_.data();
      p.epilogue.bias_per_row = false;
    }
    RunGemm(p, GemmUkernel(), ctx.thread_pool());
    return Status::Ok();
  }

 private:
  /// Panel p of dst holds rows [k0, k0 + kc) of columns j0 + p*NR ..., column fastest; columns
  /// past N are zero.
  void PackPanels(float* dst, size_t k0, size_t kc, size_t j0, size_t nc) const {
    const size_t nr = GemmUkernel().nr;
    const int64_t blocks = layout_.blocks_per_col();
    const size_t bs = static_cast<size_t>(layout_.block_size);
    for (size_t p = 0; p < nc; p += nr) {
      float* panel = dst + (p / nr) * kc * nr;
      for (size_t c = 0; c < nr; ++c) {
        const size_t j = j0 + p + c;
        float* out = panel + c;
        if (j >= static_cast<size_t>(layout_.n)) {
          for (size_t k = 0; k < kc; ++k) out[k * nr] = 0;
          continue;
        }
        const uint8_t* col = b_.data<uint8_t>() + static_cast<int64_t>(j) * layout_.col_bytes();
        const float* scale = scale_.data() + static_cast<int64_t>(j) * blocks;
        const float* offset = offset_.data() + static_cast<int64_t>(j) * blocks;
        size_t k = k0;
        const size_t k_end = k0 + kc;
        while (k < k_end) {
          // One block segment: a 16-entry table turns each code into its weight with one load,
          // and each byte yields two rows.
          const size_t blk = k / bs;
          const size_t stop = std::min(k_end, (blk + 1) * bs);
          float lut[16];
          for (int q = 0; q < 16; ++q) lut[q] = static_cast<float>(q) * scale[blk] + offset[blk];
          if (k & 1) {
            out[(k - k0) * nr] = lut[col[k >> 1] >> 4];
            ++k;
          }
          for (; k + 2 <= stop; k += 2) {
            const uint8_t byte = col[k >> 1];
            out[(k - k0) * nr] = lut[byte & 0x0F];
            out[(k + 1 - k0) * nr] = lut[byte >> 4];
          }
          if (k < stop) {
            out[(k - k0) * nr] = lut[col[k >> 1] & 0x0F];
            ++k;
          }
        }
      }
    }
  }

  void Gemv(const float* a, int64_t rows, float* y, ThreadPool* pool) const {
    const int64_t blocks = layout_.blocks_per_col(), bs = layout_.block_size, k = layout_.k;
    // Block sums of A, reused by every column. thread_local: no allocation in steady state.
    thread_local std::vector<float> a_sums;
    a_sums.assign(static_cast<size_t>(rows * blocks), 0.0f);
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t kk = 0; kk < k; ++kk)
        a_sums[static_cast<size_t>(m * blocks + kk / bs)] += a[m * k + kk];
    const float* sums = a_sums.data();
    const Q4DotUkernel dot = BestQ4DotUkernel().fn;
    auto columns = [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n) {
        const uint8_t* col = b_.data<uint8_t>() + n * layout_.col_bytes();
        const float* scale = scale_.data() + n * blocks;
        const float* offset = offset_.data() + n * blocks;
        for (int64_t m = 0; m < rows; ++m) {
          float acc = bias_.empty() ? 0.0f : bias_[static_cast<size_t>(n)];
          for (int64_t blk = 0; blk < blocks; ++blk) {
            const int64_t k0 = blk * bs;
            const size_t count = static_cast<size_t>(std::min(bs, k - k0));
            acc += scale[blk] * dot(col + blk * layout_.blob_size(), a + m * k + k0, count) +
                   offset[blk] * sums[m * blocks + blk];
          }
          y[m * layout_.n + n] = acc;
        }
      }
    };
    if (pool && pool->threads() > 1 && layout_.n * k >= kParallelWeights)
      pool->ParallelFor(layout_.n, std::cref(columns));
    else
      columns(0, layout_.n);
  }

  nbits::Int4Layout layout_;
  Tensor b_;
  std::vector<float> scale_, offset_;  // per (column, block): w = code * scale + offset
  std::vector<float> bias_;
  PackBFn pack_;
};

}  // namespace

void Register_matmul_nbits(KernelRegistry& r) {
  r.Add("com.microsoft", "MatMulNBits", Create<MatMulNBitsKernel>);
}

}  // namespace tern::cpu
