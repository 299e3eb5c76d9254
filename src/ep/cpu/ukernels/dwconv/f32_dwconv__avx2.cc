// Depthwise convolution for AVX2+FMA. The channel plane is first copied into a zero-padded
// scratch plane (wide enough that every vector load of every tap is inside it), so no output
// column needs a bounds check. Then each output row is computed in blocks of up to 4 x 8 columns
// with every tap accumulated in registers (independent accumulators hide the FMA latency) and
// written once; the last partial vector uses a masked store. Stride 1: unaligned loads; stride
// 2: two loads deinterleaved. Compiled with -mavx2 -mfma; only called when the CPU has them.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"

namespace tern::cpu {

namespace {

/// The padded plane; it only grows, so steady state does not allocate.
thread_local std::vector<float> t_padded;

// Every other float of p[0..15].
inline __m256 LoadEven(const float* p) {
  const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
  const __m256 mixed = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

template <int kStride>
inline __m256 LoadTap(const float* p) {
  if constexpr (kStride == 1)
    return _mm256_loadu_ps(p);
  else
    return LoadEven(p);
}

/// Output columns [o, o + 8*kVecs) of one row; `rows` points at the padded rows of the kh taps
/// (already offset to this output row). The last vector keeps only `last` columns (1..8).
template <int kStride, int kVecs>
inline void RowBlock(const float* rows, size_t pw, const float* w, const DwConvShape& s, size_t o,
                     __m256 vbias, float* yr, size_t last) {
  __m256 acc[kVecs];
#pragma GCC unroll 4
  for (int v = 0; v < kVecs; ++v) acc[v] = vbias;
  const float* base = rows + o * kStride;
  for (size_t ky = 0; ky < s.kh; ++ky, base += s.dh * pw) {
    const float* wr = w + ky * s.kw;
    for (size_t kx = 0; kx < s.kw; ++kx) {
      const __m256 wv = _mm256_broadcast_ss(wr + kx);
      const float* p = base + kx * s.dw;
#pragma GCC unroll 4
      for (int v = 0; v < kVecs; ++v)
        acc[v] = _mm256_fmadd_ps(wv, LoadTap<kStride>(p + v * 8 * kStride), acc[v]);
    }
  }
#pragma GCC unroll 4
  for (int v = 0; v + 1 < kVecs; ++v) _mm256_storeu_ps(yr + o + v * 8, acc[v]);
  float* tail = yr + o + (kVecs - 1) * 8;
  if (last == 8) {
    _mm256_storeu_ps(tail, acc[kVecs - 1]);
  } else {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(last)), lane);
    _mm256_maskstore_ps(tail, mask, acc[kVecs - 1]);
  }
}

template <int kStride>
void Rows(const float* padded, size_t pw, const float* w, float bias, float* y,
          const DwConvShape& s) {
  const __m256 vbias = _mm256_set1_ps(bias);
  for (size_t oy = 0; oy < s.oh; ++oy) {
    const float* rows = padded + oy * s.sh * pw;
    float* yr = y + oy * s.ow;
    size_t o = 0;
    for (; o + 32 <= s.ow; o += 32) RowBlock<kStride, 4>(rows, pw, w, s, o, vbias, yr, 8);
    const size_t left = s.ow - o;
    if (left == 0) continue;
    const size_t last = left - (left - 1) / 8 * 8;
    if (left > 24)
      RowBlock<kStride, 4>(rows, pw, w, s, o, vbias, yr, last);
    else if (left > 16)
      RowBlock<kStride, 3>(rows, pw, w, s, o, vbias, yr, last);
    else if (left > 8)
      RowBlock<kStride, 2>(rows, pw, w, s, o, vbias, yr, last);
    else
      RowBlock<kStride, 1>(rows, pw, w, s, o, vbias, yr, last);
  }
}

}  // namespace

void f32_dwconv__avx2(const float* x, const float* w, float bias, float* y, const DwConvShape& s) {
  if (s.sw > 2) {
    f32_dwconv__scalar(x, w, bias, y, s);
    return;
  }
  // Padded plane: padded (r, c) holds x(r - pt, c - pl), zero outside. It spans every row a tap
  // reads and every column a vector load reads, the last vector of a row included (the stride-2
  // load reads 16 floats).
  const size_t ow8 = (s.ow + 7) / 8 * 8;
  const size_t pw = (ow8 - 8) * s.sw + (s.kw - 1) * s.dw + (s.sw == 2 ? 16 : 8);
  const size_t ph = (s.oh - 1) * s.sh + (s.kh - 1) * s.dh + 1;
  std::vector<float>& padded = t_padded;
  if (padded.size() < ph * pw) padded.resize(ph * pw);
  for (size_t r = 0; r < ph; ++r) {
    float* dst = padded.data() + r * pw;
    const long iy = static_cast<long>(r) - static_cast<long>(s.pt);
    if (iy < 0 || iy >= static_cast<long>(s.ih)) {
      std::memset(dst, 0, pw * sizeof(float));
      continue;
    }
    const size_t left = std::min(s.pl, pw);
    const size_t cols = std::min(s.iw, pw - left);
    std::memset(dst, 0, left * sizeof(float));
    std::memcpy(dst + left, x + static_cast<size_t>(iy) * s.iw, cols * sizeof(float));
    std::memset(dst + left + cols, 0, (pw - left - cols) * sizeof(float));
  }
  if (s.sw == 1)
    Rows<1>(padded.data(), pw, w, bias, y, s);
  else
    Rows<2>(padded.data(), pw, w, bias, y, s);
}

}  // namespace tern::cpu
