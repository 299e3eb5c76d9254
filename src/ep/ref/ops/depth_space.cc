// DepthToSpace (modes DCR and CRD) and SpaceToDepth on NCHW tensors of any dtype.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

template <bool kToSpace>
class DepthSpaceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (!info.has_attr("blocksize"))
      return info.Error(StatusCode::kInvalidModel, "blocksize is required");
    block_ = info.GetInt("blocksize", 0);
    if (block_ < 1 || block_ > (int64_t{1} << 20))
      return info.Error(StatusCode::kInvalidModel, "invalid blocksize " + std::to_string(block_));
    const std::string mode = info.GetString("mode", "DCR");
    if (kToSpace && mode != "DCR" && mode != "CRD")
      return info.Error(StatusCode::kInvalidModel, "unknown mode '" + mode + "'");
    crd_ = mode == "CRD";
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    if (x.rank() != 4)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input must be 4-D (NCHW), got " + x.shape().ToString());
    const int64_t b = block_, bb = block_ * block_;
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    Shape out_shape;
    if (kToSpace) {
      if (C % bb != 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "channels " + std::to_string(C) + " are not divisible by blocksize^2");
      out_shape = Shape{N, C / bb, H * b, W * b};
    } else {
      if (H % b != 0 || W % b != 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "height and width must be divisible by blocksize");
      auto c = CheckedMul(C, bb, "SpaceToDepth output");
      if (!c.ok()) return c.status().WithContext(ctx.node().Describe());
      out_shape = Shape{N, *c, H / b, W / b};
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    ElemCopier copy(x.dtype());
    // Walk the space-side tensor [N, Cs, Hs, Ws] (Cs = channels on the space side).
    const int64_t Cs = kToSpace ? C / bb : C;
    const int64_t Hs = kToSpace ? H * b : H;
    const int64_t Ws = kToSpace ? W * b : W;
    const int64_t Hd = Hs / b, Wd = Ws / b;  // depth side spatial size
    const int64_t Cd = Cs * bb;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < Cs; ++c)
        for (int64_t h = 0; h < Hs; ++h)
          for (int64_t w = 0; w < Ws; ++w) {
            const int64_t i = h % b, j = w % b;
            const int64_t cd = crd_ ? c * bb + i * b + j : (i * b + j) * Cs + c;
            const int64_t space = ((n * Cs + c) * Hs + h) * Ws + w;
            const int64_t depth = ((n * Cd + cd) * Hd + h / b) * Wd + w / b;
            if (kToSpace)
              copy(out->raw(), space, x.raw(), depth);
            else
              copy(out->raw(), depth, x.raw(), space);
          }
    return Status::Ok();
  }

 private:
  int64_t block_ = 1;
  bool crd_ = false;
};

}  // namespace

void Register_depth_space(KernelRegistry& r) {
  r.Add("", "DepthToSpace", Create<DepthSpaceKernel<true>>);
  r.Add("", "SpaceToDepth", Create<DepthSpaceKernel<false>>);
}

}  // namespace tern::ref
