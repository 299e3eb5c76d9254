// f32 GEMM per microkernel variant on the shapes convolutions produce (M = output channels,
// N = output positions, K = input channels x kernel size), with A prepacked as the cpu provider
// does for weights and B packed per block. Reports GFLOP/s as the "GFLOPS" counter.
//
//   build/release/bench/bench_gemm [--benchmark_filter=avx2]
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ep/cpu/gemm.h"

namespace {

using tern::cpu::F32GemmUkernelInfo;

struct Shape3 {
  const char* what;
  size_t m, n, k;
};

// From PP-OCR det / cls and openWakeWord: pointwise, 3x3 and a fully connected layer.
constexpr Shape3 kShapes[] = {
    {"pw_16x25600x16", 16, 25600, 16},   {"pw_64x6400x32", 64, 6400, 32},
    {"pw_128x1600x128", 128, 1600, 128}, {"pw_256x400x256", 256, 400, 256},
    {"c3x3_32x6400x288", 32, 6400, 288}, {"c3x3_96x400x864", 96, 400, 864},
    {"fc_1x1000x1280", 1, 1000, 1280},   {"sq_256", 256, 256, 256},
};

void BenchGemm(benchmark::State& state, const F32GemmUkernelInfo* uk, Shape3 s, int threads) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (auto& v : a) v = d(rng);
  for (auto& v : b) v = d(rng);
  tern::cpu::PackedMatrix pa = tern::cpu::PackA(a.data(), s.m, s.k, s.k, false, *uk);
  tern::ThreadPool pool(threads);
  tern::cpu::GemmProblem p;
  p.m = s.m;
  p.n = s.n;
  p.k = s.k;
  p.a_packed = &pa;
  p.b = b.data();
  p.ldb = s.n;
  p.c = c.data();
  p.ldc = s.n;
  for (auto _ : state) {
    tern::cpu::RunGemm(p, *uk, &pool);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * double(s.m) * double(s.n) * double(s.k) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

int RegisterAll() {
  size_t count = 0;
  const F32GemmUkernelInfo* all = tern::cpu::F32GemmUkernels(&count);
  for (size_t i = 0; i < count; ++i) {
    if (static_cast<int>(all[i].isa) > static_cast<int>(tern::BestIsa())) continue;
    for (const Shape3& s : kShapes)
      for (int threads : {1, 2})
        benchmark::RegisterBenchmark(
            (std::string(all[i].name) + "/" + s.what + "/threads:" + std::to_string(threads))
                .c_str(),
            BenchGemm, &all[i], s, threads)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
  }
  return 0;
}

const int kRegistered = RegisterAll();

}  // namespace

BENCHMARK_MAIN();
