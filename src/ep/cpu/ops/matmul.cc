// MatMul and ai.tern FusedMatMul, float32, numpy semantics: 1-D operands are promoted (and the
// added dim dropped from Y), batch dims broadcast. A 2-D constant B is packed once at load and
// the batch dims of A fold into M (one GEMM). Otherwise one GEMM per batch: each split over the
// thread pool when large, or the batches split over it when each is small.
#include <algorithm>
#include <functional>
#include <string>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

constexpr size_t kMaxRank = 16;
// Below this many flops per batch, threads take whole batches instead of splitting one GEMM.
constexpr double kSmallBatchFlops = 4e6;

class MatMulKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "A"));
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 1, "B"));
    if (info.node().domain == kTernDomain)
      TERN_RETURN_IF_ERROR(ParseFusedActivation(info, &epilogue_));
    if (const Tensor* b = info.constant_input(1); b && b->rank() == 2) {
      k_ = static_cast<size_t>(b->dim(0));
      n_ = static_cast<size_t>(b->dim(1));
      packed_b_ = PackB(b->data<float>(), k_, n_, n_, false, GemmUkernel());
      b_packed_ = true;
      b_shape_ = b->shape();
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Shape& bs = b_packed_ ? b_shape_ : b.shape();
    if (a.dtype() != DataType::kFloat32 || (!b_packed_ && b.dtype() != DataType::kFloat32))
      return ctx.Error(StatusCode::kInvalidArgument, "A and B must be float32");
    const size_t ar = a.rank(), br = bs.rank();
    if (ar == 0 || br == 0 || ar > kMaxRank || br > kMaxRank)
      return ctx.Error(StatusCode::kInvalidArgument, "A " + a.shape().ToString() + " and B " +
                                                         bs.ToString() + " must have rank 1 to " +
                                                         std::to_string(kMaxRank));
    const size_t m = ar == 1 ? 1 : static_cast<size_t>(a.dim(ar - 2));
    const size_t k = static_cast<size_t>(a.dim(ar - 1));
    const size_t kb = static_cast<size_t>(br == 1 ? bs[0] : bs[br - 2]);
    const size_t n = br == 1 ? 1 : static_cast<size_t>(bs[br - 1]);
    if (k != kb)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "inner dims differ: A " + a.shape().ToString() + ", B " + bs.ToString());
    // Broadcast the batch dims (right-aligned).
    const size_t a_batch_rank = ar > 2 ? ar - 2 : 0, b_batch_rank = br > 2 ? br - 2 : 0;
    const size_t rank = std::max(a_batch_rank, b_batch_rank);
    int64_t dims[kMaxRank], a_stride[kMaxRank], b_stride[kMaxRank];
    int64_t a_step = static_cast<int64_t>(m * k), b_step = static_cast<int64_t>(k * n);
    size_t batches = 1;
    for (size_t i = rank; i-- > 0;) {
      const size_t off = rank - 1 - i;  // distance from the last batch dim
      const int64_t ad = off < a_batch_rank ? a.dim(a_batch_rank - 1 - off) : 1;
      const int64_t bd = off < b_batch_rank ? bs[b_batch_rank - 1 - off] : 1;
      if (ad != bd && ad != 1 && bd != 1)
        return ctx.Error(StatusCode::kInvalidArgument, "batch dims of A " + a.shape().ToString() +
                                                           " and B " + bs.ToString() +
                                                           " do not broadcast");
      dims[i] = std::max(ad, bd);
      a_stride[i] = ad == 1 ? 0 : a_step;
      b_stride[i] = bd == 1 ? 0 : b_step;
      a_step *= ad;
      b_step *= bd;
      batches *= static_cast<size_t>(dims[i]);
    }
    Shape out_shape;
    for (size_t i = 0; i < rank; ++i) out_shape.push_back(dims[i]);
    if (ar > 1) out_shape.push_back(static_cast<int64_t>(m));
    if (br > 1) out_shape.push_back(static_cast<int64_t>(n));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
    if (y->numel() == 0) return Status::Ok();

    const F32GemmUkernelInfo& uk = GemmUkernel();
    GemmProblem p;
    p.n = n;
    p.k = k;
    p.lda = k;
    p.ldc = n;
    p.epilogue = epilogue_;
    if (b_packed_)
      p.b_packed = &packed_b_;
    else
      p.ldb = n;
    if (b_batch_rank == 0) {
      // Every batch of A meets the same B: one GEMM with the batches stacked in M.
      p.m = m * batches;
      p.a = a.data<float>();
      if (!b_packed_) p.b = b.data<float>();
      p.c = y->data<float>();
      RunGemm(p, uk, ctx.thread_pool());
      return Status::Ok();
    }
    p.m = m;
    const float* pa = a.data<float>();
    const float* pb = b.data<float>();
    float* py = y->data<float>();
    auto run_batches = [&](int64_t t0, int64_t t1, ThreadPool* pool) {
      for (int64_t t = t0; t < t1; ++t) {
        int64_t rem = t, a_off = 0, b_off = 0;
        for (size_t i = rank; i-- > 0;) {
          const int64_t idx = rem % dims[i];
          rem /= dims[i];
          a_off += idx * a_stride[i];
          b_off += idx * b_stride[i];
        }
        GemmProblem q = p;
        q.a = pa + a_off;
        q.b = pb + b_off;
        q.c = py + t * static_cast<int64_t>(m * n);
        RunGemm(q, uk, pool);
      }
    };
    ThreadPool* pool = ctx.thread_pool();
    const double flops = 2.0 * double(m) * double(n) * double(k);
    if (pool && pool->threads() > 1 && flops < kSmallBatchFlops && batches > 1) {
      auto body = [&](int64_t t0, int64_t t1) { run_batches(t0, t1, nullptr); };
      pool->ParallelFor(static_cast<int64_t>(batches), std::cref(body));
    } else {
      run_batches(0, static_cast<int64_t>(batches), pool);
    }
    return Status::Ok();
  }

 private:
  Epilogue epilogue_;
  PackedMatrix packed_b_;  // when B is a 2-D constant
  bool b_packed_ = false;
  Shape b_shape_;
  size_t k_ = 0, n_ = 0;
};

}  // namespace

void Register_matmul(KernelRegistry& r) {
  r.Add("", "MatMul", Create<MatMulKernel>);
  r.Add(kTernDomain, "FusedMatMul", Create<MatMulKernel>);
}

}  // namespace tern::cpu
