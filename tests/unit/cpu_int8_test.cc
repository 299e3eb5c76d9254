// The cpu provider's int8 kernels (QLinearConv, ConvInteger, QLinearMatMul, MatMulInteger, the
// ai.tern QConv/QMatMul fused forms, QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear)
// against the reference provider, exactly: shapes below, at, above and not divisible by the GEMM
// tile (4 rows x 16 columns, 64-column blocks), odd K, groups and depthwise, per-tensor and
// per-channel parameters, zero points and saturating values. Also every s16 GEMM microkernel this
// CPU runs against the scalar one.
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cpu_test_util.h"
#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cputest {
namespace {

Tensor RandomInts(DataType type, const Shape& shape, unsigned seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  const size_t n = static_cast<size_t>(shape.NumElements());
  if (type == DataType::kUInt8) {
    std::vector<uint8_t> v(n);
    for (auto& x : v) x = static_cast<uint8_t>(d(rng));
    return Tensor::FromVector(type, shape, v);
  }
  if (type == DataType::kInt8) {
    std::vector<int8_t> v(n);
    for (auto& x : v) x = static_cast<int8_t>(d(rng));
    return Tensor::FromVector(type, shape, v);
  }
  std::vector<int32_t> v(n);
  for (auto& x : v) x = d(rng);
  return Tensor::FromVector(type, shape, v);
}

Tensor Scalar8(DataType type, int v) { return RandomInts(type, Shape{}, 0, v, v); }
Tensor Floats1(const std::vector<float>& v, bool scalar = false) {
  return Tensor::FromVector(DataType::kFloat32,
                            scalar ? Shape{} : Shape{static_cast<int64_t>(v.size())}, v);
}
std::vector<float> Scales(size_t n, float base, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(0.5f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = base * d(rng);
  return v;
}

/// cpu (strict, 1 and 2 threads) against ref: identical bytes for integer outputs, close values
/// for float32 ones.
void ExpectSame(const std::vector<NodeSpec>& nodes, const std::vector<Arg>& args, int opset = 17) {
  auto want = RunGraph(nodes, args, {{"ref"}, true, 1}, opset);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  for (int threads = 1; threads <= 2; ++threads) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    auto got = RunGraph(nodes, args, {{"cpu"}, true, threads}, opset);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->dtype(), want->dtype());
    if (got->dtype() == DataType::kFloat32) {
      ExpectClose(*got, *want, 1e-4f, 1e-5f);
      continue;
    }
    ASSERT_EQ(got->shape(), want->shape());
    const size_t bytes = static_cast<size_t>(got->numel()) * DataTypeSize(got->dtype());
    ASSERT_EQ(std::memcmp(got->raw(), want->raw(), bytes), 0);
  }
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, stride, pad, dilation, group;
};

const std::vector<ConvCase>& ConvCases() {
  static const std::vector<ConvCase> cases = {
      {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1},      // 64 pixels: one block; M = MR
      {1, 5, 7, 9, 17, 3, 3, 1, 1, 1, 1},     // 63 pixels, M above the tile, odd K
      {2, 8, 9, 11, 3, 1, 1, 1, 0, 1, 1},     // pointwise, M below the tile, 2 images
      {1, 4, 13, 13, 16, 3, 3, 2, 1, 1, 1},   // stride 2
      {1, 6, 10, 10, 6, 3, 3, 1, 2, 2, 2},    // groups, dilation
      {1, 8, 12, 15, 8, 3, 3, 1, 1, 1, 8},    // depthwise
      {1, 5, 11, 11, 5, 5, 5, 2, 2, 1, 5},    // depthwise 5x5 stride 2
      {1, 4, 9, 12, 4, 3, 3, 2, 1, 2, 4},     // depthwise, stride 2 and dilation 2
      {1, 16, 17, 17, 33, 1, 1, 1, 0, 1, 1},  // 289 pixels: several blocks and a partial panel
      {1, 2, 1, 1, 1, 1, 1, 1, 0, 1, 1},      // one pixel, one channel
      {1, 5, 8, 16, 7, 1, 1, 1, 0, 1, 1},     // pointwise, odd K, two full 64-pixel blocks
  };
  return cases;
}

std::string Describe(const ConvCase& c) {
  char buf[160];
  std::snprintf(
      buf, sizeof(buf), "n%lld c%lld %lldx%lld m%lld k%lldx%lld s%lld p%lld d%lld g%lld",
      static_cast<long long>(c.n), static_cast<long long>(c.c), static_cast<long long>(c.h),
      static_cast<long long>(c.w), static_cast<long long>(c.m), static_cast<long long>(c.kh),
      static_cast<long long>(c.kw), static_cast<long long>(c.stride), static_cast<long long>(c.pad),
      static_cast<long long>(c.dilation), static_cast<long long>(c.group));
  return buf;
}

std::vector<Attr> ConvAttrs(const ConvCase& c) {
  return {Ints("kernel_shape", {c.kh, c.kw}), Ints("strides", {c.stride, c.stride}),
          Ints("pads", {c.pad, c.pad, c.pad, c.pad}), Ints("dilations", {c.dilation, c.dilation}),
          Int("group", c.group)};
}

TEST(CpuInt8Conv, QLinearConvMatchesRef) {
  unsigned seed = 1;
  for (const ConvCase& c : ConvCases())
    for (int variant = 0; variant < 3; ++variant) {
      SCOPED_TRACE(Describe(c) + " variant " + std::to_string(variant));
      // 0: u8 x, s8 w per channel, u8 y, bias; 1: s8 x, u8 w per tensor with zero point, s8 y;
      // 2: u8 x, s8 w, tiny y_scale so most outputs saturate.
      const DataType xt = variant == 1 ? DataType::kInt8 : DataType::kUInt8;
      const DataType wt = variant == 1 ? DataType::kUInt8 : DataType::kInt8;
      const DataType yt = variant == 1 ? DataType::kInt8 : DataType::kUInt8;
      const bool per_channel = variant != 1;
      const int xlo = xt == DataType::kUInt8 ? 0 : -128, xhi = xlo + 255;
      const int wlo = wt == DataType::kUInt8 ? 0 : -128, whi = wlo + 255;
      const size_t wscales = per_channel ? static_cast<size_t>(c.m) : 1;
      std::vector<Arg> args = {
          {"x", RandomInts(xt, Shape{c.n, c.c, c.h, c.w}, seed++, xlo, xhi)},
          {"xs", Floats1({0.02f}, true), true},
          {"xz", Scalar8(xt, variant == 1 ? -3 : 131), true},
          {"w", RandomInts(wt, Shape{c.m, c.c / c.group, c.kh, c.kw}, seed++, wlo, whi), true},
          {"ws", Floats1(Scales(wscales, 0.01f, seed++)), true},
          {"wz",
           per_channel ? RandomInts(wt, Shape{c.m}, seed++, wlo / 8, whi / 8)
                       : Scalar8(wt, variant == 1 ? 120 : 0),
           true},
          {"ys", Floats1({variant == 2 ? 1e-4f : 0.05f}, true), true},
          {"yz", Scalar8(yt, variant == 1 ? 5 : 128), true},
      };
      std::vector<std::string> inputs = {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"};
      if (variant != 1) {
        args.push_back({"b", RandomInts(DataType::kInt32, Shape{c.m}, seed++, -5000, 5000), true});
        inputs.push_back("b");
      }
      ExpectSame({{"QLinearConv", inputs, {"y"}, ConvAttrs(c)}}, args);
      if (HasFatalFailure()) return;
    }
}

TEST(CpuInt8Conv, ConvIntegerMatchesRef) {
  unsigned seed = 100;
  for (const ConvCase& c : ConvCases()) {
    SCOPED_TRACE(Describe(c));
    // Extreme values: x at 255 with zero point 0 against w at -128 maximizes |acc|.
    std::vector<Arg> args = {
        {"x", RandomInts(DataType::kUInt8, Shape{c.n, c.c, c.h, c.w}, seed++, 250, 255)},
        {"w",
         RandomInts(DataType::kInt8, Shape{c.m, c.c / c.group, c.kh, c.kw}, seed++, -128, -120),
         true},
        {"xz", Scalar8(DataType::kUInt8, 0), true},
        {"wz", Scalar8(DataType::kInt8, 127), true},
    };
    ExpectSame({{"ConvInteger", {"x", "w", "xz", "wz"}, {"y"}, ConvAttrs(c)}}, args);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuInt8Conv, FusedQConvMatchesRef) {
  unsigned seed = 200;
  for (const ConvCase& c : ConvCases())
    for (int quantized_out = 0; quantized_out < 2; ++quantized_out) {
      SCOPED_TRACE(Describe(c) + (quantized_out ? " u8 out" : " float out"));
      std::vector<Arg> args = {
          {"x", RandomInts(DataType::kUInt8, Shape{c.n, c.c, c.h, c.w}, seed++, 0, 255)},
          {"xs", Floats1({0.02f}, true), true},
          {"xz", Scalar8(DataType::kUInt8, 100), true},
          {"w",
           RandomInts(DataType::kInt8, Shape{c.m, c.c / c.group, c.kh, c.kw}, seed++, -127, 127),
           true},
          {"ws", Floats1(Scales(static_cast<size_t>(c.m), 0.01f, seed++)), true},
          {"wz", RandomInts(DataType::kInt8, Shape{c.m}, 0, 0, 0), true},
          {"b", RandomTensor(Shape{c.m}, seed++), true},
      };
      std::vector<std::string> inputs = {"x", "xs", "xz", "w", "ws", "wz", "b"};
      if (quantized_out) {
        args.push_back({"ys", Floats1({0.03f}, true), true});
        args.push_back({"yz", Scalar8(DataType::kUInt8, 7), true});
        inputs.push_back("ys");
        inputs.push_back("yz");
      }
      std::vector<Attr> attrs = ConvAttrs(c);
      attrs.push_back(Str("activation", quantized_out ? "Relu" : "HardSwish"));
      ExpectSame({{"QConv", inputs, {"y"}, attrs, "ai.tern"}}, args);
      if (HasFatalFailure()) return;
    }
}

TEST(CpuInt8MatMul, QLinearAndIntegerMatchRef) {
  struct Case {
    std::vector<int64_t> a_shape;
    int64_t n;
    bool per_column;
  };
  const std::vector<Case> cases = {
      {{1, 1}, 1, false},     {{3, 5}, 7, true},      {{4, 16}, 16, false}, {{5, 33}, 17, true},
      {{2, 9, 64}, 65, true}, {{70, 31}, 130, false}, {{31}, 20, true},
  };
  unsigned seed = 300;
  for (const Case& c : cases) {
    const int64_t k = c.a_shape.back();
    SCOPED_TRACE("A " + Shape(c.a_shape).ToString() + " N=" + std::to_string(c.n));
    const size_t cols = c.per_column ? static_cast<size_t>(c.n) : 1;
    Tensor b = RandomInts(DataType::kInt8, Shape{k, c.n}, seed++, -128, 127);
    Tensor bz = c.per_column ? RandomInts(DataType::kInt8, Shape{c.n}, seed++, -10, 10)
                             : Scalar8(DataType::kInt8, 0);
    std::vector<Arg> q = {
        {"a", RandomInts(DataType::kUInt8, Shape(c.a_shape), seed++, 0, 255)},
        {"as", Floats1({0.03f}, true), true},
        {"az", Scalar8(DataType::kUInt8, 128), true},
        {"b", b, true},
        {"bs", Floats1(Scales(cols, 0.005f, seed++)), true},
        {"bz", bz, true},
        {"ys", Floats1({0.2f}, true), true},
        {"yz", Scalar8(DataType::kInt8, -10), true},
    };
    ExpectSame({{"QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"}}}, q);
    if (HasFatalFailure()) return;
    std::vector<Arg> i = {q[0], q[2], q[3], q[5]};
    ExpectSame({{"MatMulInteger", {"a", "b", "az", "bz"}, {"y"}}}, i);
    if (HasFatalFailure()) return;
    // ai.tern QMatMul: float out with bias and Relu, and B stored transposed.
    Tensor bt = RandomInts(DataType::kInt8, Shape{c.n, k}, seed++, -127, 127);
    std::vector<Arg> f = {q[0],
                          q[1],
                          q[2],
                          {"b", bt, true},
                          q[4],
                          q[5],
                          {"bias", RandomTensor(Shape{c.n}, seed++), true}};
    ExpectSame({{"QMatMul",
                 {"a", "as", "az", "b", "bs", "bz", "bias"},
                 {"y"},
                 {Int("transB", 1), Str("activation", "Relu")},
                 "ai.tern"}},
               f);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuInt8Quantize, QuantizeDequantizeDynamicMatchRef) {
  for (int64_t n : {1, 15, 16, 17, 1000}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    Tensor x = RandomTensor(Shape{n}, static_cast<unsigned>(n));
    // Values exactly halfway between steps round to even; large ones saturate.
    x.data<float>()[0] = n > 1 ? 2.5f * 0.1f : -50.0f;
    if (n > 16) {  // NaN quantizes to 0; infinities and large values saturate
      x.data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
      x.data<float>()[2] = std::numeric_limits<float>::infinity();
      x.data<float>()[3] = -std::numeric_limits<float>::infinity();
      x.data<float>()[4] = 1e30f;
      for (int64_t i = 5; i < 16; ++i) x.data<float>()[i] = (static_cast<float>(i) - 10.5f) * 0.1f;
    }
    for (DataType t : {DataType::kUInt8, DataType::kInt8}) {
      std::vector<Arg> args = {{"x", x},
                               {"s", Floats1({0.1f}, true), true},
                               {"z", Scalar8(t, t == DataType::kUInt8 ? 128 : -2), true}};
      ExpectSame({{"QuantizeLinear", {"x", "s", "z"}, {"y"}}}, args, 13);
      if (HasFatalFailure()) return;
      std::vector<Arg> dq = {{"x", RandomInts(t, Shape{n}, 7, t == DataType::kUInt8 ? 0 : -128,
                                              t == DataType::kUInt8 ? 255 : 127)},
                             args[1],
                             args[2]};
      ExpectSame({{"DequantizeLinear", {"x", "s", "z"}, {"y"}}}, dq, 13);
      if (HasFatalFailure()) return;
    }
    ExpectSame({{"DynamicQuantizeLinear", {"x"}, {"y", "ys", "yz"}}}, {{"x", x}}, 13);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuInt8Ukernel, EveryVariantMatchesScalar) {
  size_t count = 0;
  const cpu::S16GemmUkernelInfo* kernels = cpu::S16GemmUkernels(&count);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-255, 255);
  for (size_t kpairs : {1, 2, 7, 64}) {
    std::vector<int16_t> a(4 * kpairs * 2), b(kpairs * 2 * cpu::kS16GemmNr);
    for (auto& v : a) v = static_cast<int16_t>(d(rng));
    for (auto& v : b) v = static_cast<int16_t>(d(rng));
    a[0] = -255;  // the extremes of widened 8-bit values with zero points
    b[0] = -255;
    for (size_t mr = 1; mr <= cpu::kS16GemmMr; ++mr)
      for (size_t nc : {1, 15, 16}) {
        std::vector<int32_t> want(4 * 16, -1), got(4 * 16, -1);
        cpu::s16_gemm_4x16__scalar(mr, nc, kpairs, a.data(), kpairs * 2, b.data(), want.data(), 16);
        for (size_t i = 1; i < count; ++i) {
          if (!kernels[i].supported()) continue;
          SCOPED_TRACE(std::string(kernels[i].name) + " mr=" + std::to_string(mr) +
                       " nc=" + std::to_string(nc) + " kpairs=" + std::to_string(kpairs));
          std::fill(got.begin(), got.end(), -1);
          kernels[i].fn(mr, nc, kpairs, a.data(), kpairs * 2, b.data(), got.data(), 16);
          ASSERT_EQ(got, want);
        }
      }
  }
}

}  // namespace
}  // namespace tern::cputest
