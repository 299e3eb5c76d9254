// Slice on the cpu provider, for the common case of constant starts/ends/axes/steps (attributes
// before opset 10, initializers from 10 on; anything else falls back to ref). The parameters are
// read once at load; a run only normalises them against the input's shape (clamping as the
// reference does) and copies, a whole contiguous row at a time where the innermost step is 1,
// with no heap allocation: the small shape-manipulating Slices exporters emit cost little.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

constexpr size_t kMaxRank = 16;

bool ConstantInts(const KernelInfo& info, size_t i, std::vector<int64_t>* out) {
  const Tensor* t = info.constant_input(i);
  if (!t || t->rank() > 1) return false;
  if (t->dtype() == DataType::kInt64)
    out->assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  else if (t->dtype() == DataType::kInt32)
    out->assign(t->data<int32_t>(), t->data<int32_t>() + t->numel());
  else
    return false;
  return true;
}

class SliceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (info.opset() < 10) {
      if (!info.has_attr("starts") || !info.has_attr("ends"))
        return NotImplemented("starts and ends attributes are missing");
      starts_ = info.GetInts("starts");
      ends_ = info.GetInts("ends");
      if (info.has_attr("axes")) axes_ = info.GetInts("axes");
      else have_axes_ = false;
    } else {
      if (!ConstantInts(info, 1, &starts_) || !ConstantInts(info, 2, &ends_))
        return NotImplemented("starts and ends are not constant");
      if (info.has_input(3)) {
        if (!ConstantInts(info, 3, &axes_)) return NotImplemented("axes are not constant");
      } else {
        have_axes_ = false;
      }
      if (info.has_input(4) && !ConstantInts(info, 4, &steps_))
        return NotImplemented("steps are not constant");
    }
    const size_t n = starts_.size();
    if (ends_.size() != n || (have_axes_ && axes_.size() != n) ||
        (!steps_.empty() && steps_.size() != n) || n > kMaxRank)
      return NotImplemented("starts, ends, axes and steps differ in length");
    if (!have_axes_)
      for (size_t i = 0; i < n; ++i) axes_.push_back(static_cast<int64_t>(i));
    if (steps_.empty()) steps_.assign(n, 1);
    for (int64_t s : steps_)
      if (s == 0) return NotImplemented("a step is 0");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.input_value(0)->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument, "data is required");
    const Tensor& x = ctx.input(0);
    const size_t rank = x.rank();
    if (rank > kMaxRank)
      return ctx.Error(StatusCode::kNotImplemented, "rank above 16 is not supported on cpu");
    int64_t start[kMaxRank], step[kMaxRank], count[kMaxRank], stride[kMaxRank];
    bool seen[kMaxRank] = {};
    Shape out_shape = x.shape();
    int64_t s_acc = 1;
    for (size_t d = rank; d-- > 0;) {
      stride[d] = s_acc;
      s_acc *= x.dim(d);
      start[d] = 0;
      step[d] = 1;
      count[d] = x.dim(d);
    }
    const int64_t r = static_cast<int64_t>(rank);
    for (size_t i = 0; i < axes_.size(); ++i) {
      int64_t a = axes_[i];
      if (a < -r || a >= r)
        return ctx.Error(StatusCode::kOutOfRange, "axis " + std::to_string(a) +
                                                      " is out of range for rank " +
                                                      std::to_string(r));
      if (a < 0) a += r;
      if (seen[a])
        return ctx.Error(StatusCode::kInvalidArgument,
                         "axis " + std::to_string(axes_[i]) + " is repeated");
      seen[a] = true;
      const int64_t dim = x.dim(static_cast<size_t>(a));
      const int64_t st = steps_[i];
      int64_t s = starts_[i], e = ends_[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      int64_t n;
      if (st > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        n = e > s ? 1 + (e - s - 1) / st : 0;
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        const int64_t mag = st == std::numeric_limits<int64_t>::min() ? dim + 1 : -st;
        n = s > e ? 1 + (s - e - 1) / mag : 0;
      }
      start[a] = s;
      step[a] = st;
      count[a] = n;
      out_shape[static_cast<size_t>(a)] = n;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    if (out->numel() == 0) return Status::Ok();
    const size_t es = DataTypeSize(x.dtype());
    const bool strings = x.dtype() == DataType::kString;
    const uint8_t* src = static_cast<const uint8_t*>(x.raw());
    uint8_t* dst = static_cast<uint8_t*>(out->raw());
    if (rank == 0) {
      CopyElement(dst, 0, src, 0, es, strings);
      return Status::Ok();
    }
    int64_t base = 0;
    for (size_t d = 0; d < rank; ++d) base += start[d] * stride[d];
    // Odometer over all dims but the last; the last is one row copy.
    const size_t last = rank - 1;
    const int64_t row = count[last];
    const int64_t row_step = step[last] * stride[last];
    int64_t idx[kMaxRank] = {};
    int64_t off = base;
    int64_t o = 0;
    while (true) {
      if (row_step == 1 && !strings) {
        std::memcpy(dst + o * es, src + off * es, static_cast<size_t>(row) * es);
      } else {
        for (int64_t j = 0; j < row; ++j) CopyElement(dst, o + j, src, off + j * row_step, es, strings);
      }
      o += row;
      size_t d = last;
      while (d-- > 0) {
        off += step[d] * stride[d];
        if (++idx[d] < count[d]) break;
        off -= idx[d] * step[d] * stride[d];
        idx[d] = 0;
      }
      if (d == static_cast<size_t>(-1)) break;
    }
    return Status::Ok();
  }

 private:
  static void CopyElement(uint8_t* dst, int64_t di, const uint8_t* src, int64_t si, size_t es,
                          bool strings) {
    if (strings) {
      reinterpret_cast<std::string*>(dst)[di] = reinterpret_cast<const std::string*>(src)[si];
      return;
    }
    std::memcpy(dst + di * es, src + si * es, es);
  }

  std::vector<int64_t> starts_, ends_, axes_, steps_;
  bool have_axes_ = true;
};

}  // namespace

void Register_slice(KernelRegistry& r) { r.Add("", "Slice", Create<SliceKernel>); }

}  // namespace tern::cpu
