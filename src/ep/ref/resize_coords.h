// Resize geometry shared by the reference and the cpu provider: the ONNX coordinate
// transformation modes (output index -> input coordinate) and the nearest-mode rounding. One
// definition keeps the fast path exactly on the oracle's coordinates.
#pragma once

#include <cstdint>
#include <string>

namespace tern::ref::resize {

enum class Ctm {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize
};
/// kSimple is Upsample's and opset < 11 Resize's rule: round up only when downsampling.
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kSimple };

/// False for a name that is not an ONNX coordinate_transformation_mode.
inline bool ParseCtm(const std::string& s, Ctm* out) {
  static const char* const kNames[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  for (int i = 0; i < 7; ++i)
    if (s == kNames[i]) {
      *out = static_cast<Ctm>(i);
      return true;
    }
  return false;
}

/// False for a name that is not an ONNX nearest_mode.
inline bool ParseNearest(const std::string& s, Nearest* out) {
  static const char* const kNames[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  for (int i = 0; i < 4; ++i)
    if (s == kNames[i]) {
      *out = static_cast<Nearest>(i);
      return true;
    }
  return false;
}

/// Input coordinate of output index `xo` along an axis of `in` -> `out` elements at `scale`
/// (start/end: the crop box of tf_crop_and_resize, normalized).
inline double InputCoordinate(Ctm ctm, double xo, int64_t in, int64_t out, double scale,
                              double start = 0, double end = 1) {
  const double out_w = scale * static_cast<double>(in);
  switch (ctm) {
    case Ctm::kHalfPixel:
      return (xo + 0.5) / scale - 0.5;
    case Ctm::kHalfPixelSymmetric: {
      const double adj = static_cast<double>(out) / out_w;
      const double center = static_cast<double>(in) / 2;
      return center * (1 - adj) + (xo + 0.5) / scale - 0.5;
    }
    case Ctm::kPytorchHalfPixel:
      return out_w == 1 ? -0.5 : (xo + 0.5) / scale - 0.5;
    case Ctm::kAlignCorners:
      return out_w == 1 ? 0.0 : xo * static_cast<double>(in - 1) / (out_w - 1);
    case Ctm::kAsymmetric:
      return xo / scale;
    case Ctm::kTfHalfPixelForNn:
      return (xo + 0.5) / scale;
    case Ctm::kTfCropAndResize:
      if (out == 1)
        return (end - start) * static_cast<double>(in - 1) / 2 +
               start * static_cast<double>(in - 1);
      return xo * (end - start) * static_cast<double>(in - 1) / (out_w - 1) +
             start * static_cast<double>(in - 1);
  }
  return 0;
}

/// 0 or 1: whether nearest mode picks the index above floor(x), for fraction t = x - floor(x).
inline int64_t NearestOffset(Nearest mode, double t, double scale) {
  if (t == 0) return 0;
  switch (mode) {
    case Nearest::kRoundPreferFloor:
      return t > 0.5 ? 1 : 0;
    case Nearest::kRoundPreferCeil:
      return t >= 0.5 ? 1 : 0;
    case Nearest::kFloor:
      return 0;
    case Nearest::kCeil:
      return 1;
    case Nearest::kSimple:
      return scale < 1 ? 1 : 0;
  }
  return 0;
}

}  // namespace tern::ref::resize
