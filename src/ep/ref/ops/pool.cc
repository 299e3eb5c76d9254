// MaxPool (with Indices, ceil_mode, dilations, storage_order), AveragePool (count_include_pad,
// ceil_mode, dilations), LpPool, and GlobalAveragePool / GlobalMaxPool / GlobalLpPool over any
// number of spatial dims. Windows are separable, so each output position visits the cartesian
// product of per-dim lists of input coordinates.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

enum class PoolKind { kMax, kAvg, kLp };

/// Per spatial dim and output index: the input coordinates the window covers inside the input,
/// and how many window taps fall inside input + pads (for count_include_pad).
struct DimTaps {
  std::vector<std::vector<int64_t>> coords;
  std::vector<int64_t> padded_count;
};

std::vector<DimTaps> BuildTaps(const nn::Window& w) {
  std::vector<DimTaps> taps(w.nd);
  for (size_t d = 0; d < w.nd; ++d) {
    taps[d].coords.resize(static_cast<size_t>(w.out[d]));
    taps[d].padded_count.resize(static_cast<size_t>(w.out[d]));
    for (int64_t o = 0; o < w.out[d]; ++o) {
      int64_t padded = 0;
      for (int64_t k = 0; k < w.kernel[d]; ++k) {
        const int64_t p = o * w.strides[d] - w.pad_begin[d] + k * w.dilations[d];
        if (p >= -w.pad_begin[d] && p < w.in[d] + w.pad_end[d]) ++padded;
        if (p >= 0 && p < w.in[d]) taps[d].coords[o].push_back(p);
      }
      taps[d].padded_count[o] = padded;
    }
  }
  return taps;
}

class PoolKernel : public OpKernel {
 public:
  explicit PoolKernel(PoolKind kind, bool global) : kind_(kind), global_(global) {}

  Status Init(const KernelInfo& info) {
    if (!global_) {
      TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, true, &attrs_));
      if (attrs_.kernel_shape.empty())
        return info.Error(StatusCode::kInvalidModel, "kernel_shape is required");
    }
    count_include_pad_ = info.GetInt("count_include_pad", 0) != 0;
    storage_order_ = info.GetInt("storage_order", 0);
    if (storage_order_ != 0 && storage_order_ != 1)
      return info.Error(StatusCode::kInvalidModel, "storage_order must be 0 or 1");
    if (kind_ == PoolKind::kLp) {
      const ir::Attribute* a = info.node().attr("p");
      if (a && a->type == ir::AttrType::kFloat) {
        p_ = a->f;
      } else {
        p_ = static_cast<double>(info.GetInt("p", 2));
      }
      if (!(p_ > 0)) return info.Error(StatusCode::kInvalidModel, "p must be positive");
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input X");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have rank >= 3, got " + x.shape().ToString());
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    nn::Window win;
    if (global_) {
      nn::WindowAttrs ga;
      ga.auto_pad = nn::AutoPad::kValid;
      Status st = nn::ResolveWindow(ga, in, in, true, &win);
      if (!st.ok()) return ctx.Error(st.code(), st.message());
    } else {
      if (attrs_.kernel_shape.size() != in.size())
        return ctx.Error(StatusCode::kInvalidArgument,
                         "kernel_shape has " + std::to_string(attrs_.kernel_shape.size()) +
                             " dims but X " + x.shape().ToString() + " has " +
                             std::to_string(in.size()) + " spatial dims");
      Status st = nn::ResolveWindow(attrs_, in, attrs_.kernel_shape, true, &win);
      if (!st.ok()) return ctx.Error(st.code(), st.message());
    }
    Shape out_shape{x.dim(0), x.dim(1)};
    for (int64_t o : win.out) out_shape.push_back(o);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), out_shape));
    Tensor* idx = nullptr;
    if (kind_ == PoolKind::kMax && ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(idx, ctx.Output(1, DataType::kInt64, out_shape));
    }
    constexpr unsigned kMaxTypes = kFloats | kSigned | kUnsigned;
    if (kind_ == PoolKind::kMax) {
      return Visit<kMaxTypes>(x.dtype(), [&](auto tag) -> Status {
        using T = decltype(tag);
        RunMax<T>(x, win, y, idx);
        return Status::Ok();
      });
    }
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      RunSum<T>(x, win, y);
      return Status::Ok();
    });
  }

 private:
  // Calls fn(linear input offset within the plane, spatial coords) for each tap of output o.
  template <typename Fn>
  static void ForTaps(const std::vector<DimTaps>& taps, const std::vector<int64_t>& oidx,
                      const nn::Window& w, std::vector<int64_t>& t, Fn&& fn) {
    const size_t nd = w.nd;
    for (size_t d = 0; d < nd; ++d)
      if (taps[d].coords[oidx[d]].empty()) return;
    std::fill(t.begin(), t.end(), 0);
    std::vector<int64_t> coord(nd);
    while (true) {
      int64_t lin = 0;
      for (size_t d = 0; d < nd; ++d) {
        coord[d] = taps[d].coords[oidx[d]][t[d]];
        lin = lin * w.in[d] + coord[d];
      }
      fn(lin, coord);
      size_t d = nd;
      while (d-- > 0) {
        if (++t[d] < static_cast<int64_t>(taps[d].coords[oidx[d]].size())) break;
        t[d] = 0;
      }
      if (d == static_cast<size_t>(-1)) return;
    }
  }

  template <typename T>
  void RunMax(const Tensor& x, const nn::Window& w, Tensor* y, Tensor* idx) const {
    using A = AccT<T>;
    const auto taps = BuildTaps(w);
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t in_size = x.shape().Product(2, x.rank());
    const int64_t out_size = y->shape().Product(2, y->rank());
    const T* px = x.data<T>();
    T* py = y->data<T>();
    std::vector<int64_t> t(w.nd), oidx(w.nd);
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* xp = px + pl * in_size;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t o = 0; o < out_size; ++o) {
        A best = std::numeric_limits<A>::lowest();
        if constexpr (std::numeric_limits<A>::has_infinity)
          best = -std::numeric_limits<A>::infinity();
        int64_t best_lin = -1;
        std::vector<int64_t> best_coord;
        ForTaps(taps, oidx, w, t, [&](int64_t lin, const std::vector<int64_t>& coord) {
          const A v = static_cast<A>(xp[lin]);
          if (best_lin < 0 || v > best) {
            best = v;
            best_lin = lin;
            if (idx && storage_order_ == 1) best_coord = coord;
          }
        });
        py[pl * out_size + o] = static_cast<T>(best);
        if (idx) {
          int64_t i = best_lin < 0 ? 0 : best_lin;
          if (storage_order_ == 1 && best_lin >= 0) {
            i = 0;
            for (size_t d = w.nd; d-- > 0;) i = i * w.in[d] + best_coord[d];
          }
          idx->data<int64_t>()[pl * out_size + o] = pl * in_size + i;
        }
        nn::NextIndex(oidx, w.out);
      }
    }
  }

  template <typename T>
  void RunSum(const Tensor& x, const nn::Window& w, Tensor* y) const {
    using A = AccT<T>;
    const auto taps = BuildTaps(w);
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t in_size = x.shape().Product(2, x.rank());
    const int64_t out_size = y->shape().Product(2, y->rank());
    const T* px = x.data<T>();
    T* py = y->data<T>();
    const A p = static_cast<A>(p_);
    std::vector<int64_t> t(w.nd), oidx(w.nd);
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* xp = px + pl * in_size;
      std::fill(oidx.begin(), oidx.end(), 0);
      for (int64_t o = 0; o < out_size; ++o) {
        A sum = 0;
        int64_t valid = 0;
        ForTaps(taps, oidx, w, t, [&](int64_t lin, const std::vector<int64_t>&) {
          const A v = static_cast<A>(xp[lin]);
          if (kind_ == PoolKind::kLp) {
            sum += p == A(2) ? v * v : (p == A(1) ? std::abs(v) : std::pow(std::abs(v), p));
          } else {
            sum += v;
          }
          ++valid;
        });
        A r;
        if (kind_ == PoolKind::kLp) {
          r = p == A(2) ? std::sqrt(sum) : (p == A(1) ? sum : std::pow(sum, A(1) / p));
        } else {
          int64_t count = valid;
          if (count_include_pad_) {
            count = 1;
            for (size_t d = 0; d < w.nd; ++d) count *= taps[d].padded_count[oidx[d]];
          }
          r = count > 0 ? sum / static_cast<A>(count) : A(0);
        }
        py[pl * out_size + o] = static_cast<T>(r);
        nn::NextIndex(oidx, w.out);
      }
    }
  }

  PoolKind kind_;
  bool global_;
  nn::WindowAttrs attrs_;
  bool count_include_pad_ = false;
  int64_t storage_order_ = 0;
  double p_ = 2;
};

template <PoolKind K, bool G>
class Pool : public PoolKernel {
 public:
  Pool() : PoolKernel(K, G) {}
};

}  // namespace

void Register_pool(KernelRegistry& r) {
  r.Add("", "MaxPool", Create<Pool<PoolKind::kMax, false>>);
  r.Add("", "AveragePool", Create<Pool<PoolKind::kAvg, false>>);
  r.Add("", "LpPool", Create<Pool<PoolKind::kLp, false>>);
  r.Add("", "GlobalMaxPool", Create<Pool<PoolKind::kMax, true>>);
  r.Add("", "GlobalAveragePool", Create<Pool<PoolKind::kAvg, true>>);
  r.Add("", "GlobalLpPool", Create<Pool<PoolKind::kLp, true>>);
}

}  // namespace tern::ref
