// Add, Sub, Mul, Div and two-input Max, Min on float32 with numpy broadcasting.
// The broadcast is reduced to the fewest dims first: output dims of size 1 are dropped and
// neighbouring dims merge when each input is either present on both or broadcast on both. The
// innermost merged dim is then a contiguous run handled by one microkernel call: vector-vector,
// or vector-scalar when one input is broadcast along it (a per-channel bias over H*W, a scalar).
// Rows of the outer dims, or pieces of a long single row, are split over the thread pool.
#include <algorithm>
#include <string>

#include "ep/cpu/cpu_common.h"
#include "ep/ref/ref_common.h"

namespace tern::cpu {
namespace {

constexpr size_t kMaxRank = 8;               ///< merged dims handled here; more go to ref
constexpr int64_t kParallelGrain = 1 << 14;  ///< floats per piece before threads pay off

// The merged broadcast: dims[0..rank), and per input its element strides (0 when broadcast).
struct Plan {
  size_t rank = 0;
  int64_t dims[kMaxRank];
  int64_t stride[2][kMaxRank];
};

// False when more than kMaxRank dims remain after merging.
bool MakePlan(const Shape& out, const Shape& a, const Shape& b, Plan* p) {
  const size_t r = out.rank();
  const Shape* in[2] = {&a, &b};
  int64_t dims[64];
  bool bcast[2][64];
  size_t k = 0;
  if (r > 64) return false;
  for (size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    bool flag[2];
    for (int i = 0; i < 2; ++i) {
      const size_t off = r - in[i]->rank();
      flag[i] = d < off || (*in[i])[d - off] == 1;
    }
    if (k > 0 && bcast[0][k - 1] == flag[0] && bcast[1][k - 1] == flag[1]) {
      dims[k - 1] *= out[d];
      continue;
    }
    dims[k] = out[d];
    bcast[0][k] = flag[0];
    bcast[1][k] = flag[1];
    ++k;
  }
  if (k > kMaxRank) return false;
  p->rank = k;
  for (int i = 0; i < 2; ++i) {
    int64_t s = 1;
    for (size_t d = k; d-- > 0;) {
      p->dims[d] = dims[d];
      p->stride[i][d] = bcast[i][d] ? 0 : s;
      if (!bcast[i][d]) s *= dims[d];
    }
  }
  return true;
}

class BinaryKernel : public OpKernel {
 public:
  explicit BinaryKernel(BinaryOp op) : op_(op) {}

  Status Init(const KernelInfo& info) {
    if (info.num_inputs() != 2 || !info.has_input(0) || !info.has_input(1))
      return NotImplemented("only the two-input form runs on cpu");
    // Before opset 7 Add/Sub/Mul/Div broadcast with the legacy `broadcast`/`axis` attributes.
    if (info.opset() < 7 || info.has_attr("broadcast"))
      return NotImplemented("legacy broadcast (opset < 7)");
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "A"));
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 1, "B"));
    TERN_ASSIGN_OR_RETURN(ref_, MakeRefKernel(info));
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != DataType::kFloat32 || b.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kInvalidArgument, std::string("inputs must be float32, got ") +
                                                         DataTypeName(a.dtype()) + " and " +
                                                         DataTypeName(b.dtype()));
    TERN_ASSIGN_OR_RETURN(Shape shape, ref::BroadcastShapes({&a.shape(), &b.shape()}));
    Plan plan;
    if (!MakePlan(shape, a.shape(), b.shape(), &plan)) return ref_->Compute(ctx);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kFloat32, shape));
    if (out->numel() == 0) return Status::Ok();
    Run(plan, a.data<float>(), b.data<float>(), out->data<float>(), ctx.thread_pool());
    return Status::Ok();
  }

 private:
  void Run(const Plan& p, const float* a, const float* b, float* y, ThreadPool* pool) const {
    const F32ElementwiseUkernels& uk = ElementwiseUkernels();
    const size_t op = static_cast<size_t>(op_);
    if (p.rank == 0) {  // one element
      uk.vv[op](1, a, b, y);
      return;
    }
    const size_t last = p.rank - 1;
    const int64_t inner = p.dims[last];
    int64_t rows = 1;
    for (size_t d = 0; d < last; ++d) rows *= p.dims[d];
    // Work items are (row, piece of the row); long rows are cut so that every thread gets work.
    const int64_t pieces_per_row =
        rows >= 8 ? 1 : std::max<int64_t>(1, std::min<int64_t>(8, inner / kParallelGrain));
    const int64_t piece = (inner + pieces_per_row - 1) / pieces_per_row;
    const bool a_vec = p.stride[0][last] != 0, b_vec = p.stride[1][last] != 0;
    auto body = [&](int64_t i0, int64_t i1) {
      for (int64_t item = i0; item < i1; ++item) {
        int64_t row = item / pieces_per_row;
        const int64_t c0 = (item % pieces_per_row) * piece;
        const size_t n = static_cast<size_t>(std::min(inner, c0 + piece) - c0);
        int64_t ao = 0, bo = 0;
        for (size_t d = last; d-- > 0;) {
          const int64_t idx = row % p.dims[d];
          row /= p.dims[d];
          ao += idx * p.stride[0][d];
          bo += idx * p.stride[1][d];
        }
        float* yr = y + (item / pieces_per_row) * inner + c0;
        if (a_vec && b_vec)
          uk.vv[op](n, a + ao + c0, b + bo + c0, yr);
        else if (a_vec)
          uk.vs[op](n, a + ao + c0, b[bo], yr);
        else
          uk.sv[op](n, b + bo + c0, a[ao], yr);
      }
    };
    const int64_t items = rows * pieces_per_row;
    ParallelRange(pool, items, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(piece, 1)),
                  std::cref(body));
  }

  BinaryOp op_;
  std::unique_ptr<OpKernel> ref_;  // merged ranks above kMaxRank
};

}  // namespace

void Register_binary(KernelRegistry& r) {
  r.Add("", "Add", Create<BinaryKernel, BinaryOp::kAdd>);
  r.Add("", "Sub", Create<BinaryKernel, BinaryOp::kSub>);
  r.Add("", "Mul", Create<BinaryKernel, BinaryOp::kMul>);
  r.Add("", "Div", Create<BinaryKernel, BinaryOp::kDiv>);
  r.Add("", "Max", Create<BinaryKernel, BinaryOp::kMax>);
  r.Add("", "Min", Create<BinaryKernel, BinaryOp::kMin>);
}

}  // namespace tern::cpu
