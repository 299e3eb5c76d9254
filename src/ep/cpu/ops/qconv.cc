// Integer convolutions: ConvInteger (int32 out), QLinearConv (requantized 8-bit out) and ai.tern
// QConv (the fused form of DequantizeLinear -> Conv -> [activation] [-> QuantizeLinear] that the
// qdq_fusion pass makes: float bias, float activation, float32 or 8-bit out; contract in
// ep/ref/ops/qfused.cc).
//
// Algorithm: per image and group, C[out channel, pixel] = W[oc, k] x im2col[k, pixel] on the s16
// GEMM (qgemm.h): the weights, minus their zero points, are widened to int16 rows once at load;
// image patches minus the input zero point are packed straight into 16-pixel panels, 64 pixels at
// a time, by the thread that multiplies them (no full im2col buffer), and padding packs as 0,
// which is what the zero point stands for. Depthwise convolutions (one input and one output
// channel per group) take a direct loop instead: a GEMM with one row would waste the tile.
// Scales, zero points, weights and bias must be constants (they are in quantized models);
// otherwise the node falls back.
#include <algorithm>
#include <string>
#include <type_traits>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/qgemm.h"
#include "ep/cpu/ukernels/qgemm/s16_pack.h"
#include "ep/ref/quant_util.h"

namespace tern::cpu {
namespace {

namespace quant = ref::quant;

enum class QConvOp { kConvInteger, kQLinearConv, kFused };

struct Slots {
  int x_scale = -1, x_zero = -1, w = -1, w_scale = -1, w_zero = -1, bias = -1, y_scale = -1,
      y_zero = -1;
};

Slots SlotsOf(QConvOp op) {
  switch (op) {
    case QConvOp::kConvInteger:
      return {-1, 2, 1, -1, 3, -1, -1, -1};
    case QConvOp::kQLinearConv:
      return {1, 2, 3, 4, 5, 8, 6, 7};
    case QConvOp::kFused:
      break;
  }
  return {1, 2, 3, 4, 5, 6, 7, 8};
}

using quant::Is8Bit;

/// A constant input as a pointer (nullptr when the slot is absent); NotImplemented when present
/// but computed at run time.
Status ConstantSlot(const KernelInfo& info, int slot, const char* what, const Tensor** out) {
  *out = nullptr;
  if (slot < 0 || !info.has_input(static_cast<size_t>(slot))) return Status::Ok();
  *out = info.constant_input(static_cast<size_t>(slot));
  if (!*out) return NotImplemented(std::string(what) + " must be a constant");
  return Status::Ok();
}

class QConvKernel : public OpKernel {
 public:
  explicit QConvKernel(QConvOp op) : op_(op), slots_(SlotsOf(op)) {}

  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(attrs_.Init(info));
    const Tensor *xs, *xz, *w, *ws, *wz, *b, *ys, *yz;
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.x_scale, "x_scale", &xs));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.x_zero, "x_zero_point", &xz));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.w, "w", &w));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.w_scale, "w_scale", &ws));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.w_zero, "w_zero_point", &wz));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.bias, "B", &b));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.y_scale, "y_scale", &ys));
    TERN_RETURN_IF_ERROR(ConstantSlot(info, slots_.y_zero, "y_zero_point", &yz));
    if (!w) return NotImplemented("w must be a constant");
    if (slots_.x_scale >= 0 && !xs) return NotImplemented("x_scale is required");
    if (slots_.w_scale >= 0 && !ws) return NotImplemented("w_scale is required");
    if (op_ == QConvOp::kQLinearConv && !ys) return NotImplemented("y_scale is required");
    const DataType x_type = info.input_type(0).elem;
    if (!Is8Bit(x_type) || !Is8Bit(w->dtype()))
      return NotImplemented("x and w must be int8 or uint8");
    if ((xz && xz->dtype() != x_type) || (wz && wz->dtype() != w->dtype()))
      return NotImplemented("zero point types must match their inputs");
    if (xz && xz->numel() != 1) return NotImplemented("x_zero_point must be a scalar");
    x_type_ = x_type;
    x_zero_ = quant::ReadZeroPoint(xz, 0);
    if (w->rank() < 3 || w->rank() > 4) return NotImplemented("only 1-D and 2-D convolutions");
    const int64_t oc = w->dim(0);
    w_shape_ = w->shape();
    auto w_zero = quant::ReadZeroPoints(wz, oc, "w_zero_point");
    if (!w_zero.ok()) return w_zero.status();
    const int64_t group = attrs_.group;
    if (group < 1 || oc % group != 0) return InvalidArgument("bad group for w");
    k_ = static_cast<size_t>(w->numel() / oc);
    lda_ = KPairs(k_) * 2;
    weights_.assign(static_cast<size_t>(oc) * lda_, 0);
    if (w->dtype() == DataType::kInt8)
      WidenS16Rows(w->data<int8_t>(), static_cast<size_t>(oc), k_, k_, *w_zero, weights_.data(),
                   lda_);
    else
      WidenS16Rows(w->data<uint8_t>(), static_cast<size_t>(oc), k_, k_, *w_zero, weights_.data(),
                   lda_);
    return MakeEpilogue(info, oc, xs, ws, b, ys, yz);
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != x_type_)
      return ctx.Error(StatusCode::kInvalidArgument, "x type changed since load");
    auto geo = attrs_.Resolve(x.shape(), w_shape_);
    if (!geo.ok()) return ctx.Error(geo.status().code(), geo.status().message());
    const quant::ConvGeometry& g = *geo;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, epi_.out_type, g.OutputShape()));
    if (y->numel() == 0) return Status::Ok();
    if (x.dtype() == DataType::kUInt8)
      Run(g, x.data<uint8_t>(), y->raw(), ctx.thread_pool());
    else
      Run(g, x.data<int8_t>(), y->raw(), ctx.thread_pool());
    return Status::Ok();
  }

 private:
  Status MakeEpilogue(const KernelInfo& info, int64_t oc, const Tensor* xs, const Tensor* ws,
                      const Tensor* b, const Tensor* ys, const Tensor* yz) {
    const size_t channels = static_cast<size_t>(oc);
    if (op_ == QConvOp::kConvInteger) {
      epi_.kind = IntEpilogue::Kind::kInt32;
      epi_.out_type = DataType::kInt32;
      return Status::Ok();
    }
    TERN_ASSIGN_OR_RETURN(auto x_s, quant::ReadScales(*xs, 1, "x_scale"));
    TERN_ASSIGN_OR_RETURN(auto w_s, quant::ReadScales(*ws, oc, "w_scale"));
    float y_s = 1;
    if (ys) {
      TERN_ASSIGN_OR_RETURN(auto v, quant::ReadScales(*ys, 1, "y_scale"));
      y_s = v[0];
    }
    if (yz && (!Is8Bit(yz->dtype()) || yz->numel() != 1))
      return NotImplemented("y_zero_point must be an int8 or uint8 scalar");
    epi_.out_type = yz ? yz->dtype() : DataType::kUInt8;
    epi_.y_zero = quant::ReadZeroPoint(yz, 0);
    epi_.mult.resize(channels);
    for (size_t c = 0; c < channels; ++c) {
      const float wsc = w_s.size() == 1 ? w_s[0] : w_s[c];
      // The same float expressions as the reference kernels, so results agree exactly.
      epi_.mult[c] = op_ == QConvOp::kQLinearConv ? x_s[0] * wsc / y_s : x_s[0] * wsc;
    }
    if (b && (b->rank() != 1 || b->dim(0) != oc))
      return InvalidArgument("B must be 1-D of " + std::to_string(oc) + " elements");
    if (op_ == QConvOp::kQLinearConv) {
      epi_.kind = IntEpilogue::Kind::kQuantized;
      if (b) {
        if (b->dtype() != DataType::kInt32) return InvalidArgument("B must be int32");
        epi_.bias_i.assign(b->data<int32_t>(), b->data<int32_t>() + oc);
      }
      return Status::Ok();
    }
    epi_.kind = IntEpilogue::Kind::kFloat;
    if (b) {
      if (b->dtype() != DataType::kFloat32) return InvalidArgument("B must be float32");
      epi_.bias_f.assign(b->data<float>(), b->data<float>() + oc);
    }
    TERN_RETURN_IF_ERROR(ParseFusedActivation(info, &epi_.act));
    epi_.requantize = ys != nullptr;
    if (!ys) epi_.out_type = DataType::kFloat32;
    epi_.y_scale = y_s;
    return Status::Ok();
  }

  template <typename T>
  void Run(const quant::ConvGeometry& g, const T* x, void* y, ThreadPool* pool) const {
    const bool one_d = g.kernel.size() == 1;
    const int64_t H = one_d ? 1 : g.in_spatial[0], W = g.in_spatial.back();
    const int64_t OH = one_d ? 1 : g.out_spatial[0], OW = g.out_spatial.back();
    const int64_t KH = one_d ? 1 : g.kernel[0], KW = g.kernel.back();
    const int64_t SH = one_d ? 1 : g.strides[0], SW = g.strides.back();
    const int64_t DH = one_d ? 1 : g.dilations[0], DW = g.dilations.back();
    const size_t nd = g.kernel.size();
    const int64_t PH = one_d ? 0 : g.pads[0], PW = g.pads[nd - 1];
    const int64_t cpg = g.in_channels / g.group, mpg = g.out_channels / g.group;
    const size_t pixels = static_cast<size_t>(OH * OW);
    const size_t kpairs = lda_ / 2;
    const int32_t zx = x_zero_;
    const S16PackUkernels& pk = BestS16PackUkernels();
    const bool is_signed = std::is_same_v<T, int8_t>;
    const bool pointwise =
        KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0 && OH == H && OW == W;
    for (int64_t n = 0; n < g.batch; ++n) {
      if (cpg == 1 && mpg == 1) {
        Depthwise(g, x + n * g.in_channels * H * W, y, n, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PH,
                  PW, pool);
        continue;
      }
      for (int64_t grp = 0; grp < g.group; ++grp) {
        const T* xg = x + (n * g.in_channels + grp * cpg) * H * W;
        const S16PackBFn pack = [&](size_t j0, size_t nc, int16_t* dst) {
          // Pass 1: the block's im2col rows (k-major, 64 int16 per row), walked by output row
          // segments so that the inner loop is a plain strided copy (no per-pixel division or
          // bounds check). Pass 2: interleave row pairs into the panels.
          const size_t panel_elems = kpairs * 2 * kS16GemmNr;
          if (pointwise && nc % kS16GemmNr == 0) {
            // 1x1, stride 1, no padding: B's rows are the input channels themselves, packed
            // straight from the 8-bit input (an odd last channel pairs with the zero point).
            T zero_row[kS16GemmNr];
            std::fill(zero_row, zero_row + kS16GemmNr, static_cast<T>(zx));
            for (size_t pr = 0; pr < kpairs; ++pr) {
              const T* r0 = xg + static_cast<int64_t>(2 * pr) * H * W + j0;
              const bool pair = 2 * pr + 1 < k_;
              for (size_t q = 0; q < nc / kS16GemmNr; ++q)
                pk.pack_pairs16(r0 + q * kS16GemmNr, pair ? r0 + H * W + q * kS16GemmNr : zero_row,
                                is_signed, zx, dst + q * panel_elems + pr * 2 * kS16GemmNr);
            }
            return;
          }
          thread_local std::vector<int16_t> rows;
          constexpr size_t kRow = 64;
          if (rows.size() < (k_ + 1) * kRow) rows.resize((k_ + 1) * kRow);
          std::fill(rows.begin() + static_cast<std::ptrdiff_t>(k_ * kRow),
                    rows.begin() + static_cast<std::ptrdiff_t>((k_ + 1) * kRow), int16_t{0});
          for (size_t j = 0; j < nc;) {
            const int64_t p = static_cast<int64_t>(j0 + j);
            const int64_t oh = p / OW, ow0 = p % OW;
            const int64_t ow1 = std::min<int64_t>(OW, ow0 + static_cast<int64_t>(nc - j));
            size_t k = 0;
            for (int64_t c = 0; c < cpg; ++c) {
              const T* xc = xg + c * H * W;
              for (int64_t kh = 0; kh < KH; ++kh) {
                const int64_t ih = oh * SH - PH + kh * DH;
                for (int64_t kw = 0; kw < KW; ++kw, ++k) {
                  int16_t* r = rows.data() + k * kRow + j - static_cast<size_t>(ow0);
                  const int64_t off = kw * DW - PW;
                  // Output columns whose input column lies inside: [lo, hi).
                  int64_t lo = off >= 0 ? 0 : (-off + SW - 1) / SW;
                  int64_t hi = W - off <= 0 ? 0 : (W - off + SW - 1) / SW;
                  lo = std::max(lo, ow0);
                  hi = std::min(hi, ow1);
                  if (ih < 0 || ih >= H) lo = hi = ow1;
                  for (int64_t ow = ow0; ow < std::min(lo, ow1); ++ow) r[ow] = 0;
                  const T* src = xc + ih * W + off;
                  if (SW == 1) {
                    if (hi > lo)
                      pk.widen(src + lo, is_signed, static_cast<size_t>(hi - lo), zx, r + lo);
                  } else {
                    for (int64_t ow = lo; ow < hi; ++ow)
                      r[ow] = static_cast<int16_t>(static_cast<int32_t>(src[ow * SW]) - zx);
                  }
                  for (int64_t ow = std::max(hi, lo); ow < ow1; ++ow) r[ow] = 0;
                }
              }
            }
            j += static_cast<size_t>(ow1 - ow0);
          }
          const size_t panels = (nc + kS16GemmNr - 1) / kS16GemmNr;
          for (size_t q = 0; q < panels; ++q) {
            for (size_t pr = 0; pr < kpairs; ++pr) {
              const int16_t* r0 = rows.data() + 2 * pr * kRow + q * kS16GemmNr;
              const int16_t* r1 =
                  rows.data() + std::min<size_t>(2 * pr + 1, k_) * kRow + q * kS16GemmNr;
              pk.interleave16(r0, r1, dst + q * panel_elems + pr * 2 * kS16GemmNr);
            }
          }
        };
        const S16FinishFn finish = [&](const int32_t* acc, size_t ld, size_t j0, size_t nc) {
          for (int64_t i = 0; i < mpg; ++i) {
            const int64_t c = grp * mpg + i;
            epi_.Write(acc + static_cast<size_t>(i) * ld, nc, static_cast<size_t>(c), false, y,
                       static_cast<size_t>((n * g.out_channels + c) * OH * OW) + j0);
          }
        };
        S16GemmJob job;
        job.m = static_cast<size_t>(mpg);
        job.n = pixels;
        job.kpairs = kpairs;
        job.a = weights_.data() + static_cast<size_t>(grp * mpg) * lda_;
        job.lda = lda_;
        job.pack_b = &pack;
        job.finish = &finish;
        RunS16Gemm(job, pool);
      }
    }
  }

  /// One input and one output channel per group: out[c, p] = sum over the window.
  template <typename T>
  void Depthwise(const quant::ConvGeometry& g, const T* x, void* y, int64_t n, int64_t H, int64_t W,
                 int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t DH,
                 int64_t DW, int64_t PH, int64_t PW, ThreadPool* pool) const {
    const int32_t zx = x_zero_;
    const S16PackUkernels& pk = BestS16PackUkernels();
    auto channels = [&](int64_t c0, int64_t c1) {
      thread_local std::vector<int32_t> acc;
      thread_local std::vector<int16_t> plane;  // the channel widened, zero point removed
      acc.resize(static_cast<size_t>(OH * OW));
      plane.resize(static_cast<size_t>(H * W));
      // Strided convolutions read the plane split into SW column phases (phase p holds columns
      // p, p + SW, ...), so every window row is a contiguous run for the vector MAC.
      const int64_t WP = (W + SW - 1) / SW;  // columns per phase
      thread_local std::vector<int16_t> phases;
      if (SW > 1) phases.resize(static_cast<size_t>(SW * H * WP));
      for (int64_t c = c0; c < c1; ++c) {
        pk.widen(x + c * H * W, std::is_same_v<T, int8_t>, plane.size(), zx, plane.data());
        if (SW > 1)
          for (int64_t p = 0; p < SW; ++p)
            for (int64_t ih = 0; ih < H; ++ih) {
              const int16_t* src = plane.data() + ih * W + p;
              int16_t* dst = phases.data() + (p * H + ih) * WP;
              for (int64_t j = 0; j * SW + p < W; ++j) dst[j] = src[j * SW];
            }
        const int16_t* xc = plane.data();
        const int16_t* wc = weights_.data() + static_cast<size_t>(c) * lda_;
        std::fill(acc.begin(), acc.end(), 0);
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int32_t wv = wc[kh * KW + kw];
            if (wv == 0) continue;
            // Columns whose input lies inside the row: [lo, hi), the same for every row.
            const int64_t off = kw * DW - PW;
            const int64_t lo = off >= 0 ? 0 : (-off + SW - 1) / SW;
            const int64_t hi = W - off <= 0 ? 0 : std::min(OW, (W - off + SW - 1) / SW);
            if (hi <= lo) continue;
            // Output rows whose input row lies inside: [oh0, oh1); one call covers them all.
            const int64_t top = kh * DH - PH;  // input row of output row 0
            const int64_t oh0 = top >= 0 ? 0 : (-top + SH - 1) / SH;
            const int64_t oh1 = H - top <= 0 ? 0 : std::min(OH, (H - top + SH - 1) / SH);
            if (oh1 <= oh0) continue;
            const int64_t ih0 = oh0 * SH + top;
            const int16_t* row;
            int64_t row_stride;
            if (SW == 1) {
              row = xc + ih0 * W + off;
              row_stride = SH * W;
            } else {
              // Input column ow * SW + off lies in phase off mod SW at ow + floor(off / SW).
              const int64_t phase = ((off % SW) + SW) % SW, shift = (off - phase) / SW;
              row = phases.data() + (phase * H + ih0) * WP + shift;
              row_stride = SH * WP;
            }
            pk.mac_rows(row + lo, static_cast<size_t>(row_stride), static_cast<size_t>(oh1 - oh0),
                        static_cast<size_t>(hi - lo), wv, acc.data() + oh0 * OW + lo,
                        static_cast<size_t>(OW));
          }
        epi_.Write(acc.data(), acc.size(), static_cast<size_t>(c), false, y,
                   static_cast<size_t>((n * g.out_channels + c) * OH * OW));
      }
    };
    ParallelRange(pool, g.out_channels, 1, channels);
  }

  QConvOp op_;
  Slots slots_;
  quant::ConvAttrs attrs_;
  DataType x_type_ = DataType::kUInt8;
  int32_t x_zero_ = 0;
  Shape w_shape_;
  size_t k_ = 0, lda_ = 0;
  std::vector<int16_t> weights_;  // [oc][lda_]: w - w_zero, K padded to even
  IntEpilogue epi_;
};

}  // namespace

void Register_qconv(KernelRegistry& r) {
  r.Add("", "ConvInteger", Create<QConvKernel, QConvOp::kConvInteger>, 10);
  r.Add("", "QLinearConv", Create<QConvKernel, QConvOp::kQLinearConv>, 10);
  r.Add(kTernDomain, "QConv", Create<QConvKernel, QConvOp::kFused>);
}

}  // namespace tern::cpu
