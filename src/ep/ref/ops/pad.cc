// Pad with modes constant, reflect, edge (and wrap, opset 19). Pads come from the `paddings`
// (opset 1) or `pads` (opset 2-10) attribute, or the pads input (opset 11+, with the optional
// axes input from opset 18). Negative pads crop.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

class PadKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string mode = info.GetString("mode", "constant");
    if (mode == "constant")
      mode_ = PadMode::kConstant;
    else if (mode == "reflect")
      mode_ = PadMode::kReflect;
    else if (mode == "edge")
      mode_ = PadMode::kEdge;
    else if (mode == "wrap" && info.opset() >= 19)
      mode_ = PadMode::kWrap;
    else
      return info.Error(StatusCode::kInvalidModel, "unknown pad mode '" + mode + "'");
    from_attrs_ = info.opset() < 11;
    if (from_attrs_) {
      const char* name = info.opset() < 2 ? "paddings" : "pads";
      if (!info.has_attr(name))
        return info.Error(StatusCode::kInvalidModel,
                          std::string("Pad needs the ") + name + " attribute");
      attr_pads_ = info.GetInts(name);
      value_ = info.GetFloat("value", 0.f);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> pads = attr_pads_;
    std::vector<int64_t> axes;
    if (!from_attrs_) {
      TERN_ASSIGN_OR_RETURN(pads, ReadIntInput(ctx, 1, "pads"));
      if (ctx.has_input(3)) {
        TERN_ASSIGN_OR_RETURN(std::vector<int64_t> raw_axes, ReadIntInput(ctx, 3, "axes"));
        auto norm = NormalizeAxes(raw_axes, rank);
        if (!norm.ok()) return norm.status().WithContext(ctx.node().Describe());
        axes = *norm;
      }
    }
    if (axes.empty() && !(ctx.has_input(3))) {
      for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
    }
    const size_t na = axes.size();
    if (pads.size() != 2 * na)
      return ctx.Error(StatusCode::kInvalidArgument, "pads has " + std::to_string(pads.size()) +
                                                         " entries, expected " +
                                                         std::to_string(2 * na));
    std::vector<int64_t> begin(rank, 0);
    std::vector<int64_t> out_dims = x.shape().ToVector();
    for (size_t i = 0; i < na; ++i) {
      const int64_t a = axes[i], b = pads[i], e = pads[i + na];
      const int64_t lim = int64_t{1} << 40;
      if (b > lim || e > lim || b < -lim || e < -lim)
        return ctx.Error(StatusCode::kInvalidArgument, "pad value out of range");
      begin[a] = b;
      out_dims[a] = x.dim(a) + b + e;
      if (out_dims[a] < 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "pads make axis " + std::to_string(a) + " negative");
      if (mode_ != PadMode::kConstant && x.dim(a) == 0 && out_dims[a] > 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "cannot pad an empty axis in reflect, edge or wrap mode");
    }
    {
      auto n = CheckedNumElements(out_dims, "Pad output");
      if (!n.ok()) return n.status().WithContext(ctx.node().Describe());
    }
    const Tensor* cv = nullptr;
    if (!from_attrs_ && ctx.has_input(2) && ctx.input(2).numel() > 0) {
      cv = &ctx.input(2);
      if (cv->dtype() != x.dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "constant_value type differs from data");
    }
    const Shape out_shape(out_dims);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const std::vector<int64_t> strides = Strides(x.shape());
    return Visit<kAllTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      T pad_value{};
      if (cv) {
        pad_value = cv->data<T>()[0];
      } else if constexpr (!std::is_same_v<T, std::string>) {
        pad_value = static_cast<T>(static_cast<AccT<T>>(value_));
      }
      const T* in = x.data<T>();
      T* o = out->data<T>();
      ForEachIndex(out_shape, [&](int64_t i, const int64_t* c) {
        int64_t off = 0;
        for (int64_t d = 0; d < rank; ++d) {
          int64_t k = c[d] - begin[d];
          const int64_t n = x.dim(d);
          if (k < 0 || k >= n) {
            if (mode_ == PadMode::kConstant) {
              o[i] = pad_value;
              return;
            } else if (mode_ == PadMode::kEdge) {
              k = k < 0 ? 0 : n - 1;
            } else if (mode_ == PadMode::kWrap) {
              k = ((k % n) + n) % n;
            } else if (n == 1) {
              k = 0;
            } else {
              const int64_t period = 2 * (n - 1);
              k = ((k % period) + period) % period;
              if (k >= n) k = period - k;
            }
          }
          off += k * strides[d];
        }
        o[i] = in[off];
      });
      return Status::Ok();
    });
  }

 private:
  PadMode mode_ = PadMode::kConstant;
  bool from_attrs_ = false;
  std::vector<int64_t> attr_pads_;
  float value_ = 0.f;
};

}  // namespace

void Register_pad(KernelRegistry& r) { r.Add("", "Pad", Create<PadKernel>); }

}  // namespace tern::ref
