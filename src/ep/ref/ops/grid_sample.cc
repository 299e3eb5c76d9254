// GridSample (opset 16 2-D; opset 20 names linear/cubic accepted too): samples X (N,C,H,W) at
// the normalised (x, y) positions of grid (N,Ho,Wo,2) with nearest, bilinear or bicubic
// interpolation and zeros, border or reflection padding.
#include <cmath>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Padding { kZeros, kBorder, kReflection };

double Reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const double n = std::floor(dx / range);
    const double r = dx - n * range;
    return std::fmod(n, 2.0) == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const double n = std::floor(dx / range);
    const double r = dx - n * range;
    return std::fmod(n, 2.0) == 0 ? hi - r : lo + r;
  }
  return x;
}

class GridSampleKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string mode = info.GetString("mode", info.opset() >= 20 ? "linear" : "bilinear");
    if (mode == "bilinear" || mode == "linear") {
      mode_ = Mode::kLinear;
    } else if (mode == "nearest") {
      mode_ = Mode::kNearest;
    } else if (mode == "bicubic" || mode == "cubic") {
      mode_ = Mode::kCubic;
    } else {
      return info.Error(StatusCode::kInvalidModel, "unknown mode '" + mode + "'");
    }
    const std::string pad = info.GetString("padding_mode", "zeros");
    if (pad == "zeros") {
      padding_ = Padding::kZeros;
    } else if (pad == "border") {
      padding_ = Padding::kBorder;
    } else if (pad == "reflection") {
      padding_ = Padding::kReflection;
    } else {
      return info.Error(StatusCode::kInvalidModel, "unknown padding_mode '" + pad + "'");
    }
    align_corners_ = info.GetInt("align_corners", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "GridSample needs X and grid");
    const Tensor& x = ctx.input(0);
    const Tensor& grid = ctx.input(1);
    if (x.rank() != 4)
      return ctx.Error(StatusCode::kNotImplemented,
                       "only 4-D X is supported, got " + x.shape().ToString());
    if (grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "grid must be (N, Ho, Wo, 2) with X's N, got " + grid.shape().ToString());
    if (!IsFloatType(grid.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "grid must be a float tensor");
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    const int64_t ho = grid.dim(1), wo = grid.dim(2);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), Shape{n, c, ho, wo}));
    auto g = nn::ReadFloats<double>(grid, "grid");
    if (!g.ok()) return ctx.Error(StatusCode::kInvalidArgument, g.status().message());
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const double xmin = align_corners_ ? 0 : -0.5, xmax = align_corners_ ? w - 1 : w - 0.5;
      const double ymin = align_corners_ ? 0 : -0.5, ymax = align_corners_ ? h - 1 : h - 0.5;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ci = 0; ci < c; ++ci) {
          const T* plane = x.data<T>() + (b * c + ci) * h * w;
          auto pixel = [&](int64_t r, int64_t col) -> double {
            if (h == 0 || w == 0) return 0.0;
            if (padding_ == Padding::kZeros) {
              if (r < 0 || r >= h || col < 0 || col >= w) return 0.0;
            } else if (padding_ == Padding::kBorder) {
              r = std::clamp<int64_t>(r, 0, h - 1);
              col = std::clamp<int64_t>(col, 0, w - 1);
            } else {
              r = static_cast<int64_t>(Reflect(static_cast<double>(r), ymin, ymax));
              col = static_cast<int64_t>(Reflect(static_cast<double>(col), xmin, xmax));
              r = std::clamp<int64_t>(r, 0, h - 1);
              col = std::clamp<int64_t>(col, 0, w - 1);
            }
            return static_cast<double>(static_cast<A>(plane[r * w + col]));
          };
          for (int64_t oy = 0; oy < ho; ++oy)
            for (int64_t ox = 0; ox < wo; ++ox) {
              const double* gp = g->data() + ((b * ho + oy) * wo + ox) * 2;
              double fx = align_corners_ ? (gp[0] + 1) / 2 * (w - 1) : ((gp[0] + 1) * w - 1) / 2;
              double fy = align_corners_ ? (gp[1] + 1) / 2 * (h - 1) : ((gp[1] + 1) * h - 1) / 2;
              if (padding_ == Padding::kBorder) {
                fx = std::clamp(fx, 0.0, static_cast<double>(w - 1));
                fy = std::clamp(fy, 0.0, static_cast<double>(h - 1));
              } else if (padding_ == Padding::kReflection) {
                fx = Reflect(fx, xmin, xmax);
                fy = Reflect(fy, ymin, ymax);
              }
              double v = 0;
              if (!std::isfinite(fx) || !std::isfinite(fy) || std::abs(fx) > 1e15 ||
                  std::abs(fy) > 1e15) {
                v = 0;
              } else if (mode_ == Mode::kNearest) {
                v = pixel(static_cast<int64_t>(std::nearbyint(fy)),
                          static_cast<int64_t>(std::nearbyint(fx)));
              } else if (mode_ == Mode::kLinear) {
                const double x0 = std::floor(fx), y0 = std::floor(fy);
                const double dx = fx - x0, dy = fy - y0;
                const int64_t ix = static_cast<int64_t>(x0), iy = static_cast<int64_t>(y0);
                v = (1 - dy) * ((1 - dx) * pixel(iy, ix) + dx * pixel(iy, ix + 1)) +
                    dy * ((1 - dx) * pixel(iy + 1, ix) + dx * pixel(iy + 1, ix + 1));
              } else {
                const double x0 = std::floor(fx), y0 = std::floor(fy);
                double wx[4], wy[4];
                nn::CubicWeights(fx - x0, -0.75, wx);
                nn::CubicWeights(fy - y0, -0.75, wy);
                const int64_t ix = static_cast<int64_t>(x0) - 1, iy = static_cast<int64_t>(y0) - 1;
                for (int i = 0; i < 4; ++i) {
                  double row = 0;
                  for (int j = 0; j < 4; ++j) row += wx[j] * pixel(iy + i, ix + j);
                  v += wy[i] * row;
                }
              }
              y->data<T>()[((b * c + ci) * ho + oy) * wo + ox] = static_cast<T>(static_cast<A>(v));
            }
        }
      return Status::Ok();
    });
  }

 private:
  Mode mode_ = Mode::kLinear;
  Padding padding_ = Padding::kZeros;
  bool align_corners_ = false;
};

}  // namespace

void Register_grid_sample(KernelRegistry& r) { r.Add("", "GridSample", Create<GridSampleKernel>); }

}  // namespace tern::ref
