#include "ep/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tern::cpu {

namespace {
constexpr size_t kMcRows = 96;   ///< rows of A packed per block (multiple of every MR we use)
constexpr size_t kNcCols = 512;  ///< columns of B packed per block
/// Below this many flops (tens of microseconds of one core) waking the other threads costs more
/// than it saves.
constexpr double kMinParallelFlops = 2e6;

size_t RoundUp(size_t x, size_t m) { return (x + m - 1) / m * m; }

void PackAPanels(float* dst, const float* a, size_t m, size_t lda, bool trans, size_t i0,
                 size_t rows, size_t k0, size_t kc, size_t mr) {
  for (size_t p = 0; p < rows; p += mr) {
    for (size_t k = 0; k < kc; ++k)
      for (size_t r = 0; r < mr; ++r) {
        size_t i = i0 + p + r;
        float v = 0;
        if (i < m) v = trans ? a[(k0 + k) * lda + i] : a[i * lda + k0 + k];
        *dst++ = v;
      }
  }
}

void PackBPanels(float* dst, const float* b, size_t n, size_t ldb, bool trans, size_t j0,
                 size_t cols, size_t k0, size_t kc, size_t nr) {
  for (size_t p = 0; p < cols; p += nr) {
    if (!trans && j0 + p + nr <= n) {
      // A full panel of a row-major B: kc contiguous row pieces.
      for (size_t k = 0; k < kc; ++k, dst += nr) CopyPanelRow(dst, b + (k0 + k) * ldb + j0 + p, nr);
      continue;
    }
    for (size_t k = 0; k < kc; ++k) {
      for (size_t c = 0; c < nr; ++c) {
        size_t j = j0 + p + c;
        float v = 0;
        if (j < n) v = trans ? b[j * ldb + k0 + k] : b[(k0 + k) * ldb + j];
        *dst++ = v;
      }
    }
  }
}

struct Scratch {
  AlignedFloats a, b;
  std::vector<ptrdiff_t> koff;  ///< row offsets of a strided B read in place
};
thread_local Scratch t_scratch;

void ApplyEpilogue(const GemmProblem& p, size_t r0, size_t r1, size_t c0, size_t c1) {
  const Epilogue& e = p.epilogue;
  if (!e.bias && e.act == Activation::kNone) return;
  for (size_t i = r0; i < r1; ++i) {
    float* row = p.c + i * p.ldc;
    if (e.bias) {
      if (e.bias_per_row) {
        const float bv = e.bias[i];
        for (size_t j = c0; j < c1; ++j) row[j] += bv;
      } else {
        for (size_t j = c0; j < c1; ++j) row[j] += e.bias[j];
      }
    }
    if (e.act != Activation::kNone) ApplyActivation(row + c0, c1 - c0, e);
  }
}

void RunRegion(const GemmProblem& p, const F32GemmUkernelInfo& uk, size_t r0, size_t r1, size_t c0,
               size_t c1) {
  const size_t mr = uk.mr, nr = uk.nr;
  const size_t m_pad = RoundUp(p.m, mr), n_pad = RoundUp(p.n, nr);
  const size_t mc_max = RoundUp(kMcRows, mr);
  const size_t nc_max = RoundUp(kNcCols, nr);
  Scratch& s = t_scratch;
  for (size_t jc = c0; jc < c1; jc += nc_max) {
    const size_t nc = std::min(nc_max, c1 - jc);
    const size_t nc_pad = RoundUp(nc, nr);
    for (size_t k0 = 0; k0 < p.k; k0 += kKc) {
      const size_t kc = std::min(kKc, p.k - k0);
      if (!p.b_packed && r1 - r0 <= mc_max) {
        // One A block: pack each B micro-panel right before the microkernels use it, so it is
        // still in L1 (packing the whole kc x nc block first pushes it out to L2 or memory).
        if (s.b.size < kc * nr) s.b.Resize(kKc * nr);
        const float* a_block = nullptr;
        if (p.a_packed) {
          a_block = p.a_packed->data.data() + k0 * m_pad + (r0 / mr) * kc * mr;
        } else {
          if (s.a.size < kc * RoundUp(r1 - r0, mr)) s.a.Resize(kKc * mc_max);
          PackAPanels(s.a.data(), p.a, p.m, p.lda, p.a_trans, r0, r1 - r0, k0, kc, mr);
          a_block = s.a.data();
        }
        // A full panel of a row-major B, or one the packer says is contiguous in memory, is
        // read in place by the indirect microkernel: no copy at all.
        const bool strided = !p.b_pack && !p.b_trans;
        if (strided) {
          s.koff.resize(kc);
          for (size_t k = 0; k < kc; ++k) s.koff[k] = static_cast<ptrdiff_t>((k0 + k) * p.ldb);
        }
        for (size_t jp = 0; jp < nc; jp += nr) {
          const size_t nv = std::min(nr, nc - jp);
          const float* direct = nullptr;
          const ptrdiff_t* koff = nullptr;
          if (nv == nr && strided) {
            direct = p.b + jc + jp;
            koff = s.koff.data();
          } else if (nv == nr && p.b_direct) {
            direct = (*p.b_direct)(jc + jp);
            koff = p.b_koff + k0;
          }
          if (!direct) {
            if (p.b_pack)
              (*p.b_pack)(s.b.data(), k0, kc, jc + jp, nv);
            else
              PackBPanels(s.b.data(), p.b, p.n, p.ldb, p.b_trans, jc + jp, nv, k0, kc, nr);
          }
          for (size_t ip = 0; ip < r1 - r0; ip += mr) {
            const float* ap = a_block + (ip / mr) * kc * mr;
            float* cp = p.c + (r0 + ip) * p.ldc + jc + jp;
            const size_t mv = std::min(mr, r1 - r0 - ip);
            if (direct)
              uk.indirect(kc, ap, direct, koff, cp, p.ldc, mv, nv, k0 > 0);
            else
              uk.fn(kc, ap, s.b.data(), cp, p.ldc, mv, nv, k0 > 0);
          }
        }
        continue;
      }
      const float* b_block;
      if (p.b_packed) {
        b_block = p.b_packed->data.data() + k0 * n_pad + (jc / nr) * kc * nr;
      } else {
        if (s.b.size < kc * nc_pad) s.b.Resize(kKc * nc_max);
        if (p.b_pack)
          (*p.b_pack)(s.b.data(), k0, kc, jc, nc);
        else
          PackBPanels(s.b.data(), p.b, p.n, p.ldb, p.b_trans, jc, nc, k0, kc, nr);
        b_block = s.b.data();
      }
      for (size_t ic = r0; ic < r1; ic += mc_max) {
        const size_t mc = std::min(mc_max, r1 - ic);
        const float* a_block;
        if (p.a_packed) {
          a_block = p.a_packed->data.data() + k0 * m_pad + (ic / mr) * kc * mr;
        } else {
          if (s.a.size < kc * RoundUp(mc, mr)) s.a.Resize(kKc * mc_max);
          PackAPanels(s.a.data(), p.a, p.m, p.lda, p.a_trans, ic, mc, k0, kc, mr);
          a_block = s.a.data();
        }
        // BLIS order: one B micro-panel stays in L1 while the A block (L2) streams past it.
        for (size_t jp = 0; jp < nc; jp += nr) {
          const float* bp = b_block + (jp / nr) * kc * nr;
          const size_t nv = std::min(nr, nc - jp);
          for (size_t ip = 0; ip < mc; ip += mr) {
            const float* ap = a_block + (ip / mr) * kc * mr;
            uk.fn(kc, ap, bp, p.c + (ic + ip) * p.ldc + jc + jp, p.ldc, std::min(mr, mc - ip), nv,
                  k0 > 0);
          }
        }
      }
    }
    ApplyEpilogue(p, r0, r1, jc, jc + nc);
  }
}

}  // namespace

void AlignedFloats::Resize(size_t n) {
  size_t bytes = RoundUp(std::max<size_t>(n, 1) * sizeof(float), 64);
  ptr = std::unique_ptr<float, void (*)(void*)>(static_cast<float*>(std::aligned_alloc(64, bytes)),
                                                std::free);
  size = ptr ? n : 0;
}

void ApplyActivation(float* x, size_t n, const Epilogue& e) {
  if (e.act == Activation::kNone) return;
  BestF32ElementwiseUkernels().activation(n, x, x, ActivationParams{e.act, e.alpha, e.beta});
}

PackedMatrix PackA(const float* a, size_t m, size_t k, size_t lda, bool trans,
                   const F32GemmUkernelInfo& uk) {
  PackedMatrix pm;
  pm.rows = m;
  pm.cols = k;
  pm.panel = uk.mr;
  const size_t m_pad = RoundUp(m, uk.mr);
  pm.data.Resize(m_pad * std::max<size_t>(k, 1));
  for (size_t k0 = 0; k0 < k; k0 += kKc) {
    const size_t kc = std::min(kKc, k - k0);
    PackAPanels(pm.data.data() + k0 * m_pad, a, m, lda, trans, 0, m_pad, k0, kc, uk.mr);
  }
  return pm;
}

PackedMatrix PackB(const float* b, size_t k, size_t n, size_t ldb, bool trans,
                   const F32GemmUkernelInfo& uk) {
  PackedMatrix pm;
  pm.rows = k;
  pm.cols = n;
  pm.panel = uk.nr;
  const size_t n_pad = RoundUp(n, uk.nr);
  pm.data.Resize(n_pad * std::max<size_t>(k, 1));
  for (size_t k0 = 0; k0 < k; k0 += kKc) {
    const size_t kc = std::min(kKc, k - k0);
    PackBPanels(pm.data.data() + k0 * n_pad, b, n, ldb, trans, 0, n_pad, k0, kc, uk.nr);
  }
  return pm;
}

void RunGemm(const GemmProblem& p, const F32GemmUkernelInfo& uk, ThreadPool* pool) {
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {
    for (size_t i = 0; i < p.m; ++i) std::memset(p.c + i * p.ldc, 0, p.n * sizeof(float));
    ApplyEpilogue(p, 0, p.m, 0, p.n);
    return;
  }
  const size_t m_tiles = (p.m + uk.mr - 1) / uk.mr;
  const size_t n_tiles = (p.n + uk.nr - 1) / uk.nr;
  const int threads = pool ? pool->threads() : 1;
  // Small problems are not worth waking threads for.
  const double flops = 2.0 * double(p.m) * double(p.n) * double(p.k);
  if (threads <= 1 || flops < kMinParallelFlops || (m_tiles < 2 && n_tiles < 2)) {
    RunRegion(p, uk, 0, p.m, 0, p.n);
    return;
  }
  if (n_tiles >= m_tiles) {
    pool->ParallelFor(static_cast<int64_t>(n_tiles), [&](int64_t t0, int64_t t1) {
      RunRegion(p, uk, 0, p.m, static_cast<size_t>(t0) * uk.nr,
                std::min(p.n, static_cast<size_t>(t1) * uk.nr));
    });
  } else {
    pool->ParallelFor(static_cast<int64_t>(m_tiles), [&](int64_t t0, int64_t t1) {
      RunRegion(p, uk, static_cast<size_t>(t0) * uk.mr,
                std::min(p.m, static_cast<size_t>(t1) * uk.mr), 0, p.n);
    });
  }
}

}  // namespace tern::cpu
