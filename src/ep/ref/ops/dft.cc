// DFT (opset 17: axis, inverse, onesided attributes; optional dft_length input) and STFT.
// Signals are real ([..., 1]) or complex ([..., 2]) in the trailing dimension; outputs are
// complex ([..., 2]). Computed in double with a plain O(n^2) transform.
#include "ep/ref/ref_common.h"
#include "ep/ref/signal_util.h"

namespace tern::ref {
namespace {

using Complex = std::complex<double>;

/// Reads an optional scalar integer input; `fallback` when absent.
Result<int64_t> ScalarInt(KernelContext& ctx, size_t i, int64_t fallback, const char* what) {
  if (!ctx.has_input(i)) return fallback;
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1)
    return ctx.Error(StatusCode::kInvalidArgument, std::string(what) + " must be a scalar");
  auto v = ReadInts(t, what);
  if (!v.ok()) return ctx.Error(v.status().code(), v.status().message());
  return (*v)[0];
}

Status CheckWork(KernelContext& ctx, int64_t transforms, int64_t out_len, int64_t in_len) {
  const double work =
      static_cast<double>(transforms) * static_cast<double>(out_len) * static_cast<double>(in_len);
  if (work > static_cast<double>(signal::kMaxDftWork))
    return ctx.Error(StatusCode::kResourceExhausted,
                     "transform is too large for the reference kernel");
  return Status::Ok();
}

class DftKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 1);
    inverse_ = info.GetInt("inverse", 0) != 0;
    onesided_ = info.GetInt("onesided", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "input is required");
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank < 2 || (x.shape().back() != 1 && x.shape().back() != 2))
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "input must have rank >= 2 and a last dimension of 1 or 2, got " + x.shape().ToString());
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok() || *axis_r == rank - 1)
      return ctx.Error(StatusCode::kOutOfRange, "axis " + std::to_string(axis_) +
                                                    " is out of range for input of rank " +
                                                    std::to_string(rank));
    const size_t axis = static_cast<size_t>(*axis_r);
    const int64_t len = x.dim(axis);
    TERN_ASSIGN_OR_RETURN(int64_t n, ScalarInt(ctx, 1, len, "dft_length"));
    if (n <= 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "dft_length must be positive, got " + std::to_string(n));
    const int64_t out_len = onesided_ ? n / 2 + 1 : n;
    Shape out_shape = x.shape();
    out_shape[axis] = out_len;
    out_shape[static_cast<size_t>(rank - 1)] = 2;
    const int64_t comps = x.shape().back();
    const int64_t outer = x.shape().Product(0, axis);
    const int64_t inner = x.shape().Product(axis + 1, static_cast<size_t>(rank - 1));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), out_shape));
    TERN_RETURN_IF_ERROR(CheckWork(ctx, outer * inner, out_len, std::min(len, n)));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* py = y->data<T>();
      signal::Dft dft(n, inverse_);
      std::vector<Complex> in(static_cast<size_t>(std::min(len, n)));
      std::vector<Complex> out(static_cast<size_t>(out_len));
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          for (size_t j = 0; j < in.size(); ++j) {
            const T* e = px + ((o * len + static_cast<int64_t>(j)) * inner + i) * comps;
            const double re = static_cast<double>(static_cast<AccT<T>>(e[0]));
            const double im = comps == 2 ? static_cast<double>(static_cast<AccT<T>>(e[1])) : 0.0;
            in[j] = Complex(re, im);
          }
          dft.Transform(in, out_len, out.data());
          for (int64_t k = 0; k < out_len; ++k) {
            T* e = py + ((o * out_len + k) * inner + i) * 2;
            e[0] = static_cast<T>(static_cast<AccT<T>>(out[static_cast<size_t>(k)].real()));
            e[1] = static_cast<T>(static_cast<AccT<T>>(out[static_cast<size_t>(k)].imag()));
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_ = 1;
  bool inverse_ = false;
  bool onesided_ = false;
};

class StftKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    onesided_ = info.GetInt("onesided", 1) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "signal and frame_step are required");
    const Tensor& x = ctx.input(0);
    if (x.rank() != 3 || (x.dim(2) != 1 && x.dim(2) != 2))
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "signal must have shape [batch, length, 1 or 2], got " + x.shape().ToString());
    TERN_ASSIGN_OR_RETURN(int64_t step, ScalarInt(ctx, 1, 0, "frame_step"));
    if (step <= 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "frame_step must be positive, got " + std::to_string(step));
    const Tensor* window = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (window && (window->rank() != 1 || window->dtype() != x.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "window must be a 1-D tensor of the signal's type");
    TERN_ASSIGN_OR_RETURN(int64_t frame_len,
                          ScalarInt(ctx, 3, window ? window->dim(0) : -1, "frame_length"));
    if (frame_len <= 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "frame_length must be positive (give frame_length or a window)");
    if (window && window->dim(0) != frame_len)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "window length " + std::to_string(window->dim(0)) +
                           " differs from frame_length " + std::to_string(frame_len));
    const int64_t batch = x.dim(0), len = x.dim(1), comps = x.dim(2);
    if (len < frame_len)
      return ctx.Error(StatusCode::kInvalidArgument, "signal length " + std::to_string(len) +
                                                         " is shorter than frame_length " +
                                                         std::to_string(frame_len));
    const int64_t frames = (len - frame_len) / step + 1;
    const int64_t bins = onesided_ ? frame_len / 2 + 1 : frame_len;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), Shape{batch, frames, bins, 2}));
    TERN_RETURN_IF_ERROR(CheckWork(ctx, batch * frames, bins, frame_len));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      auto get = [](const T& v) { return static_cast<double>(static_cast<AccT<T>>(v)); };
      const T* px = x.data<T>();
      T* py = y->data<T>();
      signal::Dft dft(frame_len, false);
      std::vector<Complex> in(static_cast<size_t>(frame_len));
      std::vector<Complex> out(static_cast<size_t>(bins));
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t f = 0; f < frames; ++f) {
          for (int64_t j = 0; j < frame_len; ++j) {
            const T* e = px + (b * len + f * step + j) * comps;
            const double w = window ? get(window->data<T>()[j]) : 1.0;
            in[static_cast<size_t>(j)] = Complex(get(e[0]) * w, comps == 2 ? get(e[1]) * w : 0.0);
          }
          dft.Transform(in, bins, out.data());
          T* o = py + (b * frames + f) * bins * 2;
          for (int64_t k = 0; k < bins; ++k) {
            o[2 * k] = static_cast<T>(static_cast<AccT<T>>(out[static_cast<size_t>(k)].real()));
            o[2 * k + 1] = static_cast<T>(static_cast<AccT<T>>(out[static_cast<size_t>(k)].imag()));
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool onesided_ = true;
};

}  // namespace

void Register_dft(KernelRegistry& r) {
  r.Add("", "DFT", Create<DftKernel>, 17);
  r.Add("", "STFT", Create<StftKernel>, 17);
}

}  // namespace tern::ref
