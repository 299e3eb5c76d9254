// Unit tests for the reference neural-network kernels: error paths (bad shapes, attributes and
// indices) and configurations the conformance data does not cover (the real models' 1-D convs,
// depthwise convs with asymmetric strides/pads, ConvTranspose 2x2/2, Resize nearest from a
// constant, MaxPool 1x2, MatMul 1-D operands, Einsum diagonals/ellipsis, float16).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/float16.h"
#include "onnx/onnx_internal.h"
#include "tern/session.h"

namespace {

using tern::DataType;
using tern::Shape;
using tern::Tensor;
using tern::Value;

struct Arg {
  std::string name;  // "" for an omitted optional input
  Tensor t;
  bool constant = false;  // an initializer instead of a graph input
};

struct Attr {
  std::string name;
  std::vector<int64_t> ints;
  bool is_int = false;
  int64_t i = 0;
  std::string s;
  bool is_string = false;
  float f = 0;
  bool is_float = false;
};
Attr Ints(const std::string& n, std::vector<int64_t> v) { return {n, std::move(v)}; }
Attr Int(const std::string& n, int64_t v) {
  Attr a{n};
  a.is_int = true;
  a.i = v;
  return a;
}
Attr Str(const std::string& n, const std::string& v) {
  Attr a{n};
  a.is_string = true;
  a.s = v;
  return a;
}

// Builds a one-node model, runs it, returns the status; outputs in *out.
tern::Status RunOp(const std::string& op, const std::vector<Arg>& ins, int num_outputs,
                   const std::vector<Attr>& attrs, std::vector<Value>* out, int opset = 17) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  ::onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  ::onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node");
  std::vector<Value> feeds;
  for (const Arg& a : ins) {
    n->add_input(a.name);
    if (a.name.empty()) continue;
    if (a.constant) {
      tern::onnx::TensorToProto(a.t, a.name, g->add_initializer());
      continue;
    }
    ::onnx::ValueInfoProto* vi = g->add_input();
    vi->set_name(a.name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(a.t.dtype()));
    auto* sh = tt->mutable_shape();
    for (int64_t d : a.t.shape()) sh->add_dim()->set_dim_value(d);
    feeds.push_back(a.t);
  }
  for (int i = 0; i < num_outputs; ++i) {
    const std::string name = "out" + std::to_string(i);
    n->add_output(name);
    g->add_output()->set_name(name);
  }
  for (const Attr& a : attrs) {
    ::onnx::AttributeProto* p = n->add_attribute();
    p->set_name(a.name);
    if (a.is_int) {
      p->set_type(::onnx::AttributeProto::INT);
      p->set_i(a.i);
    } else if (a.is_string) {
      p->set_type(::onnx::AttributeProto::STRING);
      p->set_s(a.s);
    } else if (a.is_float) {
      p->set_type(::onnx::AttributeProto::FLOAT);
      p->set_f(a.f);
    } else {
      p->set_type(::onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) p->add_ints(v);
    }
  }
  std::string bytes = m.SerializeAsString();
  auto s = tern::Session::LoadFromMemory(bytes.data(), bytes.size());
  if (!s.ok()) return s.status();
  return (*s)->Run(feeds, out);
}

Tensor Floats(const Shape& shape, const std::vector<float>& v) {
  return Tensor::FromVector(DataType::kFloat32, shape, v);
}

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<float> Data(const Value& v) {
  const Tensor& t = v.tensor;
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// Naive 2-D convolution (N=1) for cross-checking.
std::vector<float> NaiveConv2d(const std::vector<float>& x, int64_t c, int64_t h, int64_t w,
                               const std::vector<float>& wt, int64_t m, int64_t kh, int64_t kw,
                               int64_t group, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                               int64_t oh, int64_t ow) {
  std::vector<float> y(static_cast<size_t>(m * oh * ow), 0.0f);
  const int64_t cg = c / group, mg = m / group;
  for (int64_t mo = 0; mo < m; ++mo)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        double acc = 0;
        const int64_t g = mo / mg;
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              acc += static_cast<double>(x[((g * cg + ci) * h + iy) * w + ix]) *
                     wt[((mo * cg + ci) * kh + ky) * kw + kx];
            }
        y[(mo * oh + oy) * ow + ox] = static_cast<float>(acc);
      }
  return y;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want, float tol = 1e-4f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(RefNn, Conv1dLongKernelStride) {
  // Like the melspectrogram front end: kernel 512, stride 160.
  const int64_t len = 1600, k = 512, s = 160, m = 3;
  auto x = Random(len, 1), w = Random(m * k, 2);
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Conv", {{"x", Floats({1, 1, len}, x)}, {"w", Floats({m, 1, k}, w)}}, 1,
                    {Ints("strides", {s})}, &out)
                  .ok());
  const int64_t ol = (len - k) / s + 1;
  ASSERT_EQ(out[0].tensor.shape(), (Shape{1, m, ol}));
  auto want = NaiveConv2d(x, 1, 1, len, w, m, 1, k, 1, 1, s, 0, 0, 1, ol);
  ExpectNear(Data(out[0]), want);
}

TEST(RefNn, DepthwiseAsymmetricStridesAndPads) {
  const int64_t c = 6, h = 9, w = 7;
  auto x = Random(c * h * w, 3), wt = Random(c * 5 * 5, 4);
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Conv", {{"x", Floats({1, c, h, w}, x)}, {"w", Floats({c, 1, 5, 5}, wt)}}, 1,
                    {Int("group", c), Ints("strides", {2, 1}), Ints("pads", {2, 1, 1, 2})}, &out)
                  .ok());
  const int64_t oh = (h + 3 - 5) / 2 + 1, ow = (w + 3 - 5) / 1 + 1;
  ASSERT_EQ(out[0].tensor.shape(), (Shape{1, c, oh, ow}));
  ExpectNear(Data(out[0]), NaiveConv2d(x, c, h, w, wt, c, 5, 5, c, 2, 1, 2, 1, oh, ow));
}

TEST(RefNn, ConvFloat16) {
  std::vector<tern::Float16> x(16, tern::Float16(1.0f)), w(4, tern::Float16(0.5f));
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Conv",
                    {{"x", Tensor::FromVector(DataType::kFloat16, {1, 1, 4, 4}, x)},
                     {"w", Tensor::FromVector(DataType::kFloat16, {1, 1, 2, 2}, w)}},
                    1, {}, &out)
                  .ok());
  ASSERT_EQ(out[0].tensor.shape(), (Shape{1, 1, 3, 3}));
  EXPECT_EQ(static_cast<float>(out[0].tensor.data<tern::Float16>()[4]), 2.0f);
}

TEST(RefNn, ConvErrors) {
  std::vector<Value> out;
  auto x = Floats({1, 4, 5, 5}, std::vector<float>(100, 1.0f));
  // Channel mismatch.
  EXPECT_FALSE(
      RunOp("Conv", {{"x", x}, {"w", Floats({2, 3, 3, 3}, std::vector<float>(54))}}, 1, {}, &out)
          .ok());
  // Output channels not divisible by group.
  EXPECT_FALSE(RunOp("Conv", {{"x", x}, {"w", Floats({3, 2, 3, 3}, std::vector<float>(54))}}, 1,
                     {Int("group", 2)}, &out)
                   .ok());
  auto w = Floats({2, 4, 3, 3}, std::vector<float>(72));
  EXPECT_FALSE(RunOp("Conv", {{"x", x}, {"w", w}}, 1, {Ints("strides", {0, 1})}, &out).ok());
  EXPECT_FALSE(RunOp("Conv", {{"x", x}, {"w", w}}, 1, {Ints("dilations", {1, -1})}, &out).ok());
  EXPECT_FALSE(RunOp("Conv", {{"x", x}, {"w", w}}, 1, {Ints("kernel_shape", {2, 2})}, &out).ok());
  EXPECT_FALSE(RunOp("Conv", {{"x", x}, {"w", w}}, 1, {Ints("pads", {1, 1})}, &out).ok());
  // Kernel larger than the input.
  EXPECT_FALSE(
      RunOp("Conv", {{"x", x}, {"w", Floats({1, 4, 7, 7}, std::vector<float>(196))}}, 1, {}, &out)
          .ok());
  // Bias of the wrong size.
  EXPECT_FALSE(
      RunOp("Conv", {{"x", x}, {"w", w}, {"b", Floats({3}, {1, 2, 3})}}, 1, {}, &out).ok());
}

TEST(RefNn, ConvTranspose2x2Stride2) {
  const int64_t c = 2, m = 3, h = 3, w = 4;
  auto x = Random(c * h * w, 5), wt = Random(c * m * 4, 6);
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("ConvTranspose",
                    {{"x", Floats({1, c, h, w}, x)}, {"w", Floats({c, m, 2, 2}, wt)}}, 1,
                    {Ints("strides", {2, 2})}, &out)
                  .ok());
  ASSERT_EQ(out[0].tensor.shape(), (Shape{1, m, 2 * h, 2 * w}));
  std::vector<float> want(static_cast<size_t>(m * 4 * h * w), 0.0f);
  for (int64_t ci = 0; ci < c; ++ci)
    for (int64_t mo = 0; mo < m; ++mo)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t xx = 0; xx < w; ++xx)
          for (int64_t ky = 0; ky < 2; ++ky)
            for (int64_t kx = 0; kx < 2; ++kx)
              want[(mo * 2 * h + 2 * y + ky) * 2 * w + 2 * xx + kx] +=
                  x[(ci * h + y) * w + xx] * wt[((ci * m + mo) * 2 + ky) * 2 + kx];
  ExpectNear(Data(out[0]), want);
  // W's first dim must match X's channels.
  EXPECT_FALSE(RunOp("ConvTranspose",
                     {{"x", Floats({1, c, h, w}, x)}, {"w", Floats({m, c, 2, 2}, wt)}}, 1, {}, &out)
                   .ok());
}

TEST(RefNn, MaxPool1x2AndIndices) {
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("MaxPool", {{"x", Floats({1, 1, 2, 4}, {1, 5, 3, 2, 7, 0, 4, 8})}}, 2,
                    {Ints("kernel_shape", {1, 2}), Ints("strides", {1, 2})}, &out)
                  .ok());
  ExpectNear(Data(out[0]), {5, 3, 7, 8});
  const int64_t* idx = out[1].tensor.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + 4), (std::vector<int64_t>{1, 2, 4, 7}));
  // Column-major indices.
  ASSERT_TRUE(
      RunOp("MaxPool", {{"x", Floats({1, 1, 2, 4}, {1, 5, 3, 2, 7, 0, 4, 8})}}, 2,
            {Ints("kernel_shape", {1, 2}), Ints("strides", {1, 2}), Int("storage_order", 1)}, &out)
          .ok());
  idx = out[1].tensor.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(idx, idx + 4), (std::vector<int64_t>{2, 4, 1, 7}));
  EXPECT_FALSE(RunOp("MaxPool", {{"x", Floats({1, 1, 2, 4}, std::vector<float>(8))}}, 1,
                     {Ints("kernel_shape", {2})}, &out)
                   .ok());
  EXPECT_FALSE(
      RunOp("MaxPool", {{"x", Floats({1, 1, 2, 4}, std::vector<float>(8))}}, 1, {}, &out).ok());
}

TEST(RefNn, AveragePoolCountIncludePadCeil) {
  std::vector<Value> out;
  // 1-D input of 6 ones, kernel 2, stride 2, pad 1 on both sides, ceil_mode: the last window
  // covers one input and one pad element.
  ASSERT_TRUE(RunOp("AveragePool", {{"x", Floats({1, 1, 6}, std::vector<float>(6, 1.0f))}}, 1,
                    {Ints("kernel_shape", {2}), Ints("strides", {2}), Ints("pads", {1, 1}),
                     Int("count_include_pad", 1), Int("ceil_mode", 1)},
                    &out)
                  .ok());
  ExpectNear(Data(out[0]), {0.5f, 1.0f, 1.0f, 0.5f});
  // Without pads, the ceil_mode window past the end averages only the inputs it covers.
  ASSERT_TRUE(RunOp("AveragePool", {{"x", Floats({1, 1, 5}, {1, 2, 3, 4, 5})}}, 1,
                    {Ints("kernel_shape", {2}), Ints("strides", {2}), Int("count_include_pad", 1),
                     Int("ceil_mode", 1)},
                    &out)
                  .ok());
  ExpectNear(Data(out[0]), {1.5f, 3.5f, 5.0f});
}

TEST(RefNn, MaxUnpoolBadIndex) {
  std::vector<Value> out;
  auto idx = Tensor::FromVector(DataType::kInt64, {1, 1, 1, 1}, std::vector<int64_t>{4});
  EXPECT_EQ(RunOp("MaxUnpool", {{"x", Floats({1, 1, 1, 1}, {1})}, {"i", idx}}, 1,
                  {Ints("kernel_shape", {2, 2})}, &out)
                .code(),
            tern::StatusCode::kOutOfRange);
  idx = Tensor::FromVector(DataType::kInt64, {1, 1, 1, 1}, std::vector<int64_t>{3});
  ASSERT_TRUE(RunOp("MaxUnpool", {{"x", Floats({1, 1, 1, 1}, {7})}, {"i", idx}}, 1,
                    {Ints("kernel_shape", {2, 2})}, &out)
                  .ok());
  ExpectNear(Data(out[0]), {0, 0, 0, 7});
}

TEST(RefNn, GemmAndMatMul) {
  std::vector<Value> out;
  EXPECT_FALSE(RunOp("Gemm",
                     {{"a", Floats({2, 3}, std::vector<float>(6))},
                      {"b", Floats({2, 3}, std::vector<float>(6))}},
                     1, {}, &out)
                   .ok());
  EXPECT_FALSE(RunOp("Gemm",
                     {{"a", Floats({2, 3}, std::vector<float>(6))},
                      {"b", Floats({3, 2}, std::vector<float>(6))},
                      {"c", Floats({3}, {1, 2, 3})}},
                     1, {}, &out)
                   .ok());
  ASSERT_TRUE(
      RunOp("MatMul", {{"a", Floats({3}, {1, 2, 3})}, {"b", Floats({3}, {4, 5, 6})}}, 1, {}, &out)
          .ok());
  EXPECT_EQ(out[0].tensor.rank(), 0u);
  ExpectNear(Data(out[0]), {32});
  // Batch broadcast: (2,1,2,3) x (3,3,2) -> (2,3,2,2).
  auto a = Random(12, 7), b = Random(18, 8);
  ASSERT_TRUE(
      RunOp("MatMul", {{"a", Floats({2, 1, 2, 3}, a)}, {"b", Floats({3, 3, 2}, b)}}, 1, {}, &out)
          .ok());
  ASSERT_EQ(out[0].tensor.shape(), (Shape{2, 3, 2, 2}));
  const float* y = out[0].tensor.data<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int r = 0; r < 2; ++r)
        for (int cc = 0; cc < 2; ++cc) {
          float want = 0;
          for (int k = 0; k < 3; ++k) want += a[i * 6 + r * 3 + k] * b[j * 6 + k * 2 + cc];
          EXPECT_NEAR(y[((i * 3 + j) * 2 + r) * 2 + cc], want, 1e-5f);
        }
  EXPECT_FALSE(RunOp("MatMul",
                     {{"a", Floats({2, 3}, std::vector<float>(6))},
                      {"b", Floats({2, 3}, std::vector<float>(6))}},
                     1, {}, &out)
                   .ok());
}

TEST(RefNn, ResizeNearestFromConstant) {
  std::vector<Value> out;
  auto roi = Floats({0}, {});
  auto scales = Floats({4}, {1, 1, 2, 2});
  ASSERT_TRUE(
      RunOp(
          "Resize",
          {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"roi", roi, true}, {"scales", scales, true}},
          1,
          {Str("mode", "nearest"), Str("coordinate_transformation_mode", "asymmetric"),
           Str("nearest_mode", "floor")},
          &out, 13)
          .ok());
  ExpectNear(Data(out[0]), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Both scales and sizes.
  auto sizes = Tensor::FromVector(DataType::kInt64, {4}, std::vector<int64_t>{1, 1, 4, 4});
  EXPECT_FALSE(RunOp("Resize",
                     {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})},
                      {"roi", roi},
                      {"scales", scales},
                      {"sizes", sizes}},
                     1, {}, &out, 13)
                   .ok());
  // Wrong number of scales; non-positive scale.
  EXPECT_FALSE(RunOp("Resize",
                     {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})},
                      {"roi", roi},
                      {"scales", Floats({2}, {2, 2})}},
                     1, {}, &out, 13)
                   .ok());
  EXPECT_FALSE(RunOp("Resize",
                     {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})},
                      {"roi", roi},
                      {"scales", Floats({4}, {1, 1, -2, 2})}},
                     1, {}, &out, 13)
                   .ok());
  EXPECT_FALSE(RunOp("Resize", {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}}, 1,
                     {Str("mode", "bogus")}, &out, 13)
                   .ok());
}

TEST(RefNn, IntegerMatMulWrapsAndResizeSaturates) {
  std::vector<Value> out;
  const int32_t big = 2147483647;
  auto a = Tensor::FromVector(DataType::kInt32, {1, 2}, std::vector<int32_t>{big, big});
  auto b = Tensor::FromVector(DataType::kInt32, {2, 1}, std::vector<int32_t>{2, 1});
  ASSERT_TRUE(RunOp("MatMul", {{"a", a}, {"b", b}}, 1, {}, &out).ok());
  EXPECT_EQ(out[0].tensor.data<int32_t>()[0], static_cast<int32_t>(3u * 2147483647u));
  // Cubic overshoot on uint8 saturates instead of wrapping.
  auto x = Tensor::FromVector(DataType::kUInt8, {1, 4}, std::vector<uint8_t>{0, 0, 255, 255});
  ASSERT_TRUE(RunOp("Resize",
                    {{"x", x},
                     {"", Tensor()},
                     {"", Tensor()},
                     {"sizes",
                      Tensor::FromVector(DataType::kInt64, {2}, std::vector<int64_t>{1, 8}), true}},
                    1, {Str("mode", "cubic")}, &out, 13)
                  .ok());
  const uint8_t* y = out[0].tensor.data<uint8_t>();
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[7], 255);
  for (int i = 1; i < 7; ++i) EXPECT_LE(y[i - 1], y[i] + 20);
}

TEST(RefNn, ResizeAntialiasAxes) {
  // Opset 18: linear antialias downsampling over one axis averages neighbours.
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Resize",
                    {{"x", Floats({1, 4}, {0, 4, 8, 12})},
                     {"", Tensor()},
                     {"scales", Floats({1}, {0.5f}), true}},
                    1, {Str("mode", "linear"), Int("antialias", 1), Ints("axes", {1})}, &out, 18)
                  .ok());
  ASSERT_EQ(out[0].tensor.shape(), (Shape{1, 2}));
  // x_orig = 0.5 and 2.5; triangle of half-width 2 gives weights 1/8,3/8,3/8,1/8.
  // Taps clamp at the edges: (0+0*3+4*3+8)/8 and (4+8*3+12*3+12)/8.
  ExpectNear(Data(out[0]), {2.5f, 9.5f});
}

TEST(RefNn, Einsum) {
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Einsum", {{"x", Floats({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}}, 1,
                    {Str("equation", "ii->i")}, &out)
                  .ok());
  ExpectNear(Data(out[0]), {1, 5, 9});
  ASSERT_TRUE(RunOp("Einsum", {{"x", Floats({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}}, 1,
                    {Str("equation", "ii")}, &out)
                  .ok());
  ExpectNear(Data(out[0]), {15});
  // Ellipsis with broadcasting batch dims.
  auto a = Random(2 * 2 * 3, 9), b = Random(3 * 2, 10);
  ASSERT_TRUE(RunOp("Einsum", {{"a", Floats({2, 2, 3}, a)}, {"b", Floats({1, 3, 2}, b)}}, 1,
                    {Str("equation", "...ij,...jk->...ik")}, &out)
                  .ok());
  ASSERT_EQ(out[0].tensor.shape(), (Shape{2, 2, 2}));
  EXPECT_NEAR(out[0].tensor.data<float>()[7], a[9] * b[1] + a[10] * b[3] + a[11] * b[5], 1e-5f);
  EXPECT_FALSE(RunOp("Einsum", {{"x", Floats({3, 3}, std::vector<float>(9))}}, 1,
                     {Str("equation", "ij->k")}, &out)
                   .ok());
  EXPECT_FALSE(RunOp("Einsum", {{"x", Floats({3, 3}, std::vector<float>(9))}}, 1,
                     {Str("equation", "ijk->i")}, &out)
                   .ok());
  EXPECT_FALSE(RunOp("Einsum", {{"x", Floats({3, 2}, std::vector<float>(6))}}, 1,
                     {Str("equation", "ii->i")}, &out)
                   .ok());
}

TEST(RefNn, NormalizationErrors) {
  std::vector<Value> out;
  auto x = Floats({2, 3}, std::vector<float>(6, 1.0f));
  EXPECT_EQ(RunOp("LayerNormalization", {{"x", x}, {"s", Floats({3}, {1, 1, 1})}}, 1,
                  {Int("axis", 2)}, &out)
                .code(),
            tern::StatusCode::kOutOfRange);
  EXPECT_FALSE(
      RunOp("LayerNormalization", {{"x", x}, {"s", Floats({2}, {1, 1})}}, 1, {}, &out).ok());
  auto p = Floats({2}, {1, 1});
  EXPECT_FALSE(
      RunOp("BatchNormalization", {{"x", x}, {"s", p}, {"b", p}, {"m", p}, {"v", p}}, 1, {}, &out)
          .ok());
  EXPECT_FALSE(RunOp("LRN", {{"x", Floats({1, 3, 1, 1}, {1, 2, 3})}}, 1, {}, &out).ok());
}

TEST(RefNn, RoiAlignBadBatchIndex) {
  std::vector<Value> out;
  auto bi = Tensor::FromVector(DataType::kInt64, {1}, std::vector<int64_t>{1});
  EXPECT_EQ(RunOp("RoiAlign",
                  {{"x", Floats({1, 1, 4, 4}, std::vector<float>(16))},
                   {"rois", Floats({1, 4}, {0, 0, 2, 2})},
                   {"bi", bi}},
                  1, {}, &out)
                .code(),
            tern::StatusCode::kOutOfRange);
}

TEST(RefNn, GridSampleBadGrid) {
  std::vector<Value> out;
  EXPECT_FALSE(
      RunOp("GridSample",
            {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"g", Floats({1, 1, 1, 3}, {0, 0, 0})}}, 1,
            {}, &out, 16)
          .ok());
}

TEST(RefNn, DetAndDropout) {
  std::vector<Value> out;
  ASSERT_TRUE(RunOp("Det", {{"x", Floats({3, 3}, {2, 0, 1, 1, 3, 2, 1, 1, 2})}}, 1, {}, &out).ok());
  ExpectNear(Data(out[0]), {6});
  EXPECT_FALSE(RunOp("Det", {{"x", Floats({2, 3}, std::vector<float>(6))}}, 1, {}, &out).ok());
  auto t = Tensor::FromVector(DataType::kBool, {}, std::vector<uint8_t>{1});
  EXPECT_FALSE(RunOp("Dropout", {{"x", Floats({2}, {1, 2})}, {"r", Floats({}, {1.5f})}, {"t", t}},
                     2, {}, &out)
                   .ok());
  ASSERT_TRUE(RunOp("Dropout", {{"x", Floats({2}, {1, 2})}}, 2, {}, &out).ok());
  ExpectNear(Data(out[0]), {1, 2});
  EXPECT_TRUE(out[1].tensor.data<bool>()[0] && out[1].tensor.data<bool>()[1]);
}

}  // namespace
