#include "ep/cpu/qgemm.h"

#include <algorithm>
#include <cmath>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/qgemm/f32_quantize.h"

namespace tern::cpu {

namespace {

constexpr size_t kPanelsPerBlock = 4;
constexpr size_t kBlockCols = kPanelsPerBlock * kS16GemmNr;
// Below this many multiply-adds a GEMM runs on the calling thread.
constexpr size_t kParallelMacs = size_t{1} << 18;

/// Round half to even for |x| < 2^51 in the default rounding mode: adding 1.5 * 2^52 leaves no
/// fraction bits, so the FPU rounds (to even) and subtracting restores the magnitude. Unlike
/// std::nearbyint it compiles to two vector adds at the baseline ISA.
inline double RoundEven(double x) {
  constexpr double kMagic = 6755399441055744.0;
  return (x + kMagic) - kMagic;
}

template <typename Q>
inline Q SaturateRounded(double v, int32_t zero) {
  constexpr double lo = static_cast<double>(std::numeric_limits<Q>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<Q>::max());
  if (!(v == v)) return Q{0};  // NaN, as the reference kernel
  v = std::clamp(v, -1e15, 1e15);
  return static_cast<Q>(std::clamp(RoundEven(v) + zero, lo, hi));
}

template <typename Q>
void WriteQuantized(const int32_t* acc, size_t count, const IntEpilogue& e, size_t c0,
                    bool per_element, Q* out) {
  const bool bias = !e.bias_i.empty();
  if (!per_element) {
    const double mult = e.mult[c0];
    const int32_t b = bias ? e.bias_i[c0] : 0;
    for (size_t j = 0; j < count; ++j)
      out[j] = SaturateRounded<Q>(static_cast<double>(static_cast<int32_t>(
                                      static_cast<uint32_t>(acc[j]) + static_cast<uint32_t>(b))) *
                                      mult,
                                  e.y_zero);
    return;
  }
  for (size_t j = 0; j < count; ++j) {
    const int32_t b = bias ? e.bias_i[c0 + j] : 0;
    const int32_t a =
        static_cast<int32_t>(static_cast<uint32_t>(acc[j]) + static_cast<uint32_t>(b));
    out[j] =
        SaturateRounded<Q>(static_cast<double>(a) * static_cast<double>(e.mult[c0 + j]), e.y_zero);
  }
}

}  // namespace

template <typename T>
S16Panels PackS16B(const T* b, size_t k_count, size_t n, bool trans,
                   const std::vector<int32_t>& zp) {
  S16Panels out;
  out.n = n;
  out.kpairs = KPairs(k_count);
  const size_t panels = (n + kS16GemmNr - 1) / kS16GemmNr;
  out.data.assign(panels * out.kpairs * 2 * kS16GemmNr, 0);
  for (size_t j = 0; j < n; ++j) {
    const int32_t z = zp.size() == 1 ? zp[0] : zp[j];
    int16_t* panel = out.data.data() + (j / kS16GemmNr) * out.kpairs * 2 * kS16GemmNr;
    const size_t lane = j % kS16GemmNr;
    for (size_t k = 0; k < k_count; ++k) {
      const T v = trans ? b[j * k_count + k] : b[k * n + j];
      panel[(k / 2) * 2 * kS16GemmNr + lane * 2 + (k & 1)] =
          static_cast<int16_t>(static_cast<int32_t>(v) - z);
    }
  }
  return out;
}

template <typename T>
void WidenS16Rows(const T* a, size_t m, size_t k, size_t lda, const std::vector<int32_t>& zp,
                  int16_t* dst, size_t ldd) {
  for (size_t i = 0; i < m; ++i) {
    const int32_t z = zp.size() == 1 ? zp[0] : zp[i];
    const T* src = a + i * lda;
    int16_t* row = dst + i * ldd;
    for (size_t kk = 0; kk < k; ++kk)
      row[kk] = static_cast<int16_t>(static_cast<int32_t>(src[kk]) - z);
    for (size_t kk = k; kk < ldd; ++kk) row[kk] = 0;
  }
}

template S16Panels PackS16B<uint8_t>(const uint8_t*, size_t, size_t, bool,
                                     const std::vector<int32_t>&);
template S16Panels PackS16B<int8_t>(const int8_t*, size_t, size_t, bool,
                                    const std::vector<int32_t>&);
template void WidenS16Rows<uint8_t>(const uint8_t*, size_t, size_t, size_t,
                                    const std::vector<int32_t>&, int16_t*, size_t);
template void WidenS16Rows<int8_t>(const int8_t*, size_t, size_t, size_t,
                                   const std::vector<int32_t>&, int16_t*, size_t);

void RunS16Gemm(const S16GemmJob& job, ThreadPool* pool) {
  const S16GemmUkernel uk = BestS16GemmUkernel().fn;
  const size_t panel_elems = job.kpairs * 2 * kS16GemmNr;
  const int64_t blocks = static_cast<int64_t>((job.n + kBlockCols - 1) / kBlockCols);
  auto run = [&](int64_t b0, int64_t b1) {
    // Per-thread scratch, grown once: no allocation in steady state.
    thread_local std::vector<int16_t> b_block;
    thread_local std::vector<int32_t> acc;
    if (job.pack_b && b_block.size() < panel_elems * kPanelsPerBlock)
      b_block.resize(panel_elems * kPanelsPerBlock);
    if (acc.size() < job.m * kBlockCols) acc.resize(job.m * kBlockCols);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const size_t j0 = static_cast<size_t>(blk) * kBlockCols;
      const size_t nc = std::min(kBlockCols, job.n - j0);
      const int16_t* panels;
      if (job.pack_b) {
        (*job.pack_b)(j0, nc, b_block.data());
        panels = b_block.data();
      } else {
        panels = job.b->panel(j0 / kS16GemmNr);
      }
      for (size_t i = 0; i < job.m; i += kS16GemmMr) {
        const size_t mr = std::min(kS16GemmMr, job.m - i);
        for (size_t p = 0; p * kS16GemmNr < nc; ++p)
          uk(mr, std::min(kS16GemmNr, nc - p * kS16GemmNr), job.kpairs, job.a + i * job.lda,
             job.lda, panels + p * panel_elems, acc.data() + i * kBlockCols + p * kS16GemmNr,
             kBlockCols);
      }
      (*job.finish)(acc.data(), kBlockCols, j0, nc);
    }
  };
  const size_t macs = job.m * job.n * job.kpairs * 2;
  if (macs < kParallelMacs || blocks < 2)
    run(0, blocks);
  else
    ParallelRange(pool, blocks, 1, run);
}

void IntEpilogue::Write(const int32_t* acc, size_t count, size_t c0, bool per_element, void* out,
                        size_t offset) const {
  switch (kind) {
    case Kind::kInt32:
      std::copy(acc, acc + count, static_cast<int32_t*>(out) + offset);
      return;
    case Kind::kQuantized:
      if (out_type == DataType::kUInt8)
        WriteQuantized(acc, count, *this, c0, per_element, static_cast<uint8_t*>(out) + offset);
      else
        WriteQuantized(acc, count, *this, c0, per_element, static_cast<int8_t*>(out) + offset);
      return;
    case Kind::kFloat:
      break;
  }
  thread_local std::vector<float> tmp;
  float* y = requantize ? (tmp.resize(std::max(tmp.size(), count)), tmp.data())
                        : static_cast<float*>(out) + offset;
  const bool bias = !bias_f.empty();
  if (per_element) {
    for (size_t j = 0; j < count; ++j)
      y[j] = static_cast<float>(acc[j]) * mult[c0 + j] + (bias ? bias_f[c0 + j] : 0.0f);
  } else {
    const float m = mult[c0], b = bias ? bias_f[c0] : 0.0f;
    for (size_t j = 0; j < count; ++j) y[j] = static_cast<float>(acc[j]) * m + b;
  }
  if (act.act != Activation::kNone) ApplyActivation(y, count, act);
  if (requantize) QuantizeF32(y, count, y_scale, y_zero, out_type, out, offset);
}

void QuantizeF32(const float* x, size_t n, float scale, int32_t zero, DataType type, void* out,
                 size_t offset) {
  BestF32QuantizeUkernel()(x, n, scale, zero, type == DataType::kInt8,
                           static_cast<uint8_t*>(out) + offset);
}

}  // namespace tern::cpu
