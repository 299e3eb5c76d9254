// HannWindow, HammingWindow and BlackmanWindow (opset 17): generalized cosine windows
// w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic) or size - 1
// (symmetric). Computed in double and cast to output_datatype.
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

struct CosineCoeffs {
  double a0, a1, a2;
};

constexpr CosineCoeffs kHann{0.5, 0.5, 0.0};
constexpr CosineCoeffs kHamming{25.0 / 46.0, 21.0 / 46.0, 0.0};
constexpr CosineCoeffs kBlackman{0.42, 0.5, 0.08};

/// Validates an output_datatype attribute value (numeric types only).
Result<DataType> OutputDataType(const KernelInfo& info, int64_t fallback) {
  const int64_t v = info.GetInt("output_datatype", fallback);
  if (v < INT32_MIN || v > INT32_MAX || !IsValidDataType(static_cast<int32_t>(v)))
    return info.Error(StatusCode::kInvalidModel, "invalid output_datatype " + std::to_string(v));
  const DataType t = static_cast<DataType>(v);
  if (t == DataType::kString || t == DataType::kBool || t == DataType::kUndefined ||
      t == DataType::kComplex64 || t == DataType::kComplex128)
    return info.Error(StatusCode::kInvalidModel,
                      std::string("unsupported output_datatype ") + DataTypeName(t));
  return t;
}

template <const CosineCoeffs& C>
class WindowKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_ASSIGN_OR_RETURN(out_type_, OutputDataType(info, 1));
    periodic_ = info.GetInt("periodic", 1) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "size is required");
    const Tensor& s = ctx.input(0);
    if (s.numel() != 1) return ctx.Error(StatusCode::kInvalidArgument, "size must be a scalar");
    auto v = ReadInts(s, "size");
    if (!v.ok()) return ctx.Error(v.status().code(), v.status().message());
    const int64_t size = (*v)[0];
    if (size < 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "size must be non-negative, got " + std::to_string(size));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type_, Shape{size}));
    const int64_t denom = periodic_ ? size : size - 1;
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    return Visit<kNumeric>(out_type_, [&](auto tag) -> Status {
      using T = decltype(tag);
      T* py = y->data<T>();
      for (int64_t i = 0; i < size; ++i) {
        double w = 1.0;  // a one-point symmetric window
        if (denom > 0) {
          const double x = kTwoPi * static_cast<double>(i) / static_cast<double>(denom);
          w = C.a0 - C.a1 * std::cos(x) + C.a2 * std::cos(2 * x);
        }
        py[i] = static_cast<T>(static_cast<AccT<T>>(w));
      }
      return Status::Ok();
    });
  }

 private:
  DataType out_type_ = DataType::kFloat32;
  bool periodic_ = true;
};

/// MelWeightMatrix: triangular filters on the mel scale mel(f) = 2595 log10(1 + f / 700); the
/// output is [floor(dft_length / 2) + 1, num_mel_bins]. Follows the ONNX reference formulation
/// (band edges floored to spectrogram bins).
class MelWeightMatrixKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_ASSIGN_OR_RETURN(out_type_, OutputDataType(info, 1));
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    int64_t ints[3];
    const char* names[3] = {"num_mel_bins", "dft_length", "sample_rate"};
    for (size_t i = 0; i < 3; ++i) {
      if (!ctx.has_input(i) || ctx.input(i).numel() != 1)
        return ctx.Error(StatusCode::kInvalidArgument, std::string(names[i]) + " must be a scalar");
      auto v = ReadInts(ctx.input(i), names[i]);
      if (!v.ok()) return ctx.Error(v.status().code(), v.status().message());
      ints[i] = (*v)[0];
      if (ints[i] <= 0)
        return ctx.Error(StatusCode::kInvalidArgument, std::string(names[i]) + " must be positive");
    }
    double edges[2];
    for (size_t i = 0; i < 2; ++i) {
      if (!ctx.has_input(3 + i) || ctx.input(3 + i).numel() != 1 ||
          !IsFloatType(ctx.input(3 + i).dtype()))
        return ctx.Error(StatusCode::kInvalidArgument,
                         i == 0 ? "lower_edge_hertz must be a float scalar"
                                : "upper_edge_hertz must be a float scalar");
      edges[i] = ReadAsDouble(ctx.input(3 + i), 0);
      if (!std::isfinite(edges[i]))
        return ctx.Error(StatusCode::kInvalidArgument, "band edges must be finite");
    }
    const int64_t mels = ints[0], dft_length = ints[1], rate = ints[2];
    const int64_t spec_bins = dft_length / 2 + 1;
    if (mels > (int64_t{1} << 32))
      return ctx.Error(StatusCode::kInvalidArgument, "num_mel_bins is too large");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type_, Shape{spec_bins, mels}));

    const double low_mel = 2595.0 * std::log10(1.0 + edges[0] / 700.0);
    const double high_mel = 2595.0 * std::log10(1.0 + edges[1] / 700.0);
    const double mel_step = (high_mel - low_mel) / static_cast<double>(mels + 2);
    std::vector<int64_t> bin(static_cast<size_t>(mels + 2));
    for (int64_t i = 0; i < mels + 2; ++i) {
      const double mel = static_cast<double>(i) * mel_step + low_mel;
      const double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
      const double b =
          std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(rate));
      if (!(b >= 0 && b < static_cast<double>(spec_bins)))
        return ctx.Error(StatusCode::kOutOfRange,
                         "mel band edge " + std::to_string(i) +
                             " falls outside the spectrogram bins (check the band edges "
                             "against sample_rate / 2)");
      bin[static_cast<size_t>(i)] = static_cast<int64_t>(b);
    }
    std::vector<double> w(static_cast<size_t>(spec_bins * mels), 0.0);
    auto at = [&](int64_t j, int64_t i) -> double& { return w[static_cast<size_t>(j * mels + i)]; };
    for (int64_t i = 0; i < mels; ++i) {
      const int64_t lo = bin[static_cast<size_t>(i)], mid = bin[static_cast<size_t>(i + 1)],
                    hi = bin[static_cast<size_t>(i + 2)];
      if (mid == lo) {
        at(mid, i) = 1.0;
      } else {
        for (int64_t j = lo; j <= mid; ++j)
          at(j, i) = static_cast<double>(j - lo) / static_cast<double>(mid - lo);
      }
      if (hi > mid)
        for (int64_t j = mid; j < hi; ++j)
          at(j, i) = static_cast<double>(hi - j) / static_cast<double>(hi - mid);
    }
    return Visit<kNumeric>(out_type_, [&](auto tag) -> Status {
      using T = decltype(tag);
      T* py = y->data<T>();
      for (size_t k = 0; k < w.size(); ++k) py[k] = static_cast<T>(static_cast<AccT<T>>(w[k]));
      return Status::Ok();
    });
  }

 private:
  DataType out_type_ = DataType::kFloat32;
};

}  // namespace

void Register_window(KernelRegistry& r) {
  r.Add("", "HannWindow", Create<WindowKernel<kHann>>, 17);
  r.Add("", "HammingWindow", Create<WindowKernel<kHamming>>, 17);
  r.Add("", "BlackmanWindow", Create<WindowKernel<kBlackman>>, 17);
  r.Add("", "MelWeightMatrix", Create<MelWeightMatrixKernel>, 17);
}

}  // namespace tern::ref
