// Depthwise convolution for AVX2+FMA. Per output row and kernel row, the columns where every tap
// is inside the image are done 8 at a time with all kw taps accumulated in a register (stride 1:
// unaligned loads; stride 2: two loads deinterleaved); the border columns take the scalar path.
// Compiled with -mavx2 -mfma; only called when the CPU has them.
#include <immintrin.h>

#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"

namespace tern::cpu {

namespace {

// Every other float of p[0..15].
inline __m256 LoadEven(const float* p) {
  const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
  const __m256 mixed = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)));
}

}  // namespace

void f32_dwconv__avx2(const float* x, const float* w, float bias, float* y, const DwConvShape& s) {
  if (s.sw > 2 || s.kw > 16) {
    f32_dwconv__scalar(x, w, bias, y, s);
    return;
  }
  // Output columns where every tap is inside: from the first tap's lower bound to the last
  // tap's upper bound.
  size_t lo, hi, unused;
  DwConvValidColumns(s, 0, &lo, &unused);
  DwConvValidColumns(s, s.kw - 1, &unused, &hi);
  // The stride-2 load reads 16 floats from the first tap's column: keep it inside the row.
  size_t vec_end = lo;
  for (size_t ox = lo; ox + 8 <= hi; ox += 8) {
    const size_t last_read = (ox * s.sw + (s.kw - 1) * s.dw - s.pl) + (s.sw == 2 ? 15 : 7);
    if (last_read >= s.iw) break;
    vec_end = ox + 8;
  }
  const __m256 vbias = _mm256_set1_ps(bias);
  for (size_t oy = 0; oy < s.oh; ++oy) {
    float* yr = y + oy * s.ow;
    size_t ox = 0;
    for (; ox + 8 <= s.ow; ox += 8) _mm256_storeu_ps(yr + ox, vbias);
    for (; ox < s.ow; ++ox) yr[ox] = bias;
    for (size_t ky = 0; ky < s.kh; ++ky) {
      const long iy = static_cast<long>(oy * s.sh + ky * s.dh) - static_cast<long>(s.pt);
      if (iy < 0 || iy >= static_cast<long>(s.ih)) continue;
      const float* xr = x + static_cast<size_t>(iy) * s.iw;
      const float* wr = w + ky * s.kw;
      __m256 wv[16];
      for (size_t kx = 0; kx < s.kw; ++kx) wv[kx] = _mm256_set1_ps(wr[kx]);
      for (size_t o = lo; o < vec_end; o += 8) {
        __m256 acc = _mm256_loadu_ps(yr + o);
        const float* xp = xr + o * s.sw - s.pl;
        if (s.sw == 1) {
          for (size_t kx = 0; kx < s.kw; ++kx)
            acc = _mm256_fmadd_ps(wv[kx], _mm256_loadu_ps(xp + kx * s.dw), acc);
        } else {
          for (size_t kx = 0; kx < s.kw; ++kx)
            acc = _mm256_fmadd_ps(wv[kx], LoadEven(xp + kx * s.dw), acc);
        }
        _mm256_storeu_ps(yr + o, acc);
      }
      // Border columns (and the vector remainder), tap by tap with per-tap bounds.
      for (size_t kx = 0; kx < s.kw; ++kx) {
        size_t tlo, thi;
        DwConvValidColumns(s, kx, &tlo, &thi);
        const float wk = wr[kx];
        for (size_t o = tlo; o < thi; ++o) {
          if (o >= lo && o < vec_end) {
            o = vec_end - 1;
            continue;
          }
          yr[o] += wk * xr[o * s.sw + kx * s.dw - s.pl];
        }
      }
    }
  }
}

}  // namespace tern::cpu
