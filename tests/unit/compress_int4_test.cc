// int4-weights: the MatMulNBits packing layout, quantization error bounds, the ref kernel against
// a float matmul with the dequantized weights, the cpu kernel against ref on awkward shapes, and
// the quantizer's rewrite of MatMul and Gemm (transB, alpha, beta, bias).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/quantize.h"
#include "compress/report.h"
#include "core/nbits.h"
#include "cpu_test_util.h"
#include "ep/cpu/ukernels/nbits/q4_dot.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"

namespace tern {
namespace {

using cputest::Arg;
using cputest::Int;
using cputest::NodeSpec;

std::vector<float> Normal(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// Packed tensors of a [N, K] weight, as the quantizer stores them.
struct Packed {
  nbits::Int4Layout layout;
  Tensor b, scales, zp;
};

Packed Pack(const std::vector<float>& w_nk, int64_t k, int64_t n, int64_t block, bool symmetric) {
  Packed p;
  p.layout = *nbits::MakeLayout(k, n, 4, block);
  const int64_t blocks = p.layout.blocks_per_col();
  p.b = *Tensor::Allocate(DataType::kUInt8, Shape{n, blocks, p.layout.blob_size()});
  p.scales = *Tensor::Allocate(DataType::kFloat32, Shape{n * blocks});
  if (!symmetric)
    p.zp = *Tensor::Allocate(DataType::kUInt8, Shape{n * p.layout.zp_bytes_per_col()});
  for (int64_t c = 0; c < n; ++c)
    nbits::QuantizeColumn(
        p.layout, w_nk.data() + c * k, symmetric, p.b.data<uint8_t>() + c * p.layout.col_bytes(),
        p.scales.data<float>() + c * blocks,
        symmetric ? nullptr : p.zp.data<uint8_t>() + c * p.layout.zp_bytes_per_col());
  return p;
}

std::vector<float> Dequantized(const Packed& p) {
  std::vector<float> w(static_cast<size_t>(p.layout.n * p.layout.k));
  for (int64_t c = 0; c < p.layout.n; ++c)
    nbits::DequantizeColumn(p.layout, p.b.data<uint8_t>(), p.scales.data<float>(),
                            p.zp.defined() ? p.zp.data<uint8_t>() : nullptr, c,
                            w.data() + c * p.layout.k);
  return w;
}

TEST(Int4Layout, PackingMatchesMatMulNBitsByteOrder) {
  // Codes chosen so that every block holds code 0 (value -8 * s): the symmetric scale is then
  // exactly s and every code round-trips, so the bytes can be predicted independently.
  const int64_t k = 40, n = 3, block = 16;  // K not a multiple of the block: a padded last block
  const float s = 0.25f;
  auto code = [](int64_t c, int64_t kk) { return static_cast<int>((kk + 3 * c) % 16); };
  std::vector<float> w(static_cast<size_t>(n * k));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t kk = 0; kk < k; ++kk) w[static_cast<size_t>(c * k + kk)] = s * (code(c, kk) - 8);
  Packed p = Pack(w, k, n, block, true);
  ASSERT_EQ(p.b.shape(), (Shape{3, 3, 8}));
  ASSERT_EQ(p.scales.numel(), 9);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t blk = 0; blk < 3; ++blk) {
      bool has_min = false;
      for (int64_t kk = blk * 16; kk < std::min(k, (blk + 1) * 16); ++kk)
        has_min |= code(c, kk) == 0;
      if (has_min) {
        EXPECT_FLOAT_EQ(p.scales.data<float>()[c * 3 + blk], s);
      }
    }
    for (int64_t j = 0; j < 20; ++j) {  // the 20 bytes holding real codes of column c
      const uint8_t byte = p.b.data<uint8_t>()[c * 24 + j];
      const int64_t blk = (2 * j) / 16;
      if (p.scales.data<float>()[c * 3 + blk] != s) continue;
      EXPECT_EQ(byte & 0x0F, code(c, 2 * j))
          << "low nibble = even k, column " << c << " byte " << j;
      EXPECT_EQ(byte >> 4, code(c, 2 * j + 1)) << "high nibble = odd k";
    }
    for (int64_t j = 20; j < 24; ++j)  // padding holds the zero point 8: dequantizes to 0
      EXPECT_EQ(p.b.data<uint8_t>()[c * 24 + j], 0x88);
  }
  // And back: the weights of every block whose scale is s are exact. The full blocks hold all
  // 16 codes; only column 0's last block (k 32..39) holds code 0 too.
  const std::vector<float> back = Dequantized(p);
  EXPECT_FLOAT_EQ(p.scales.data<float>()[2], s);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t kk = 0; kk < k; ++kk)
      if (p.scales.data<float>()[c * 3 + kk / 16] == s) {
        EXPECT_FLOAT_EQ(back[static_cast<size_t>(c * k + kk)], w[static_cast<size_t>(c * k + kk)]);
      }
}

TEST(Int4Layout, ZeroPointsPackTwoBlocksPerByte) {
  const int64_t k = 80, n = 2, block = 16;  // 5 blocks: 3 zero-point bytes per column
  std::vector<float> w = Normal(static_cast<size_t>(n * k), 7);
  for (int64_t kk = 0; kk < k; ++kk)
    w[static_cast<size_t>(kk)] = std::fabs(w[static_cast<size_t>(kk)]);
  Packed p = Pack(w, k, n, block, false);
  ASSERT_EQ(p.zp.numel(), 6);
  for (int64_t blk = 0; blk < 5; ++blk)  // column 0 is all positive: its zero points are 0
    EXPECT_EQ(nbits::ZeroPoint(p.zp.data<uint8_t>(), blk), 0);
  EXPECT_EQ(p.zp.data<uint8_t>()[2] >> 4, 0) << "the unused high nibble of an odd count stays 0";
}

TEST(Int4Quantize, ErrorWithinHalfAStep) {
  for (bool symmetric : {true, false}) {
    SCOPED_TRACE(symmetric ? "symmetric" : "asymmetric");
    for (int64_t block : {16, 32, 64, 128}) {
      const int64_t k = 300, n = 5;
      std::vector<float> w = Normal(static_cast<size_t>(n * k), 11, 0.1f);
      w[1] = 3.0f;  // an outlier widens only its own block (column 0, block 0)
      Packed p = Pack(w, k, n, block, symmetric);
      const std::vector<float> back = Dequantized(p);
      const int64_t blocks = p.layout.blocks_per_col();
      for (int64_t c = 0; c < n; ++c)
        for (int64_t kk = 0; kk < k; ++kk) {
          const float step = std::fabs(p.scales.data<float>()[c * blocks + kk / block]);
          const size_t i = static_cast<size_t>(c * k + kk);
          // Symmetric codes span [-8, 7] steps: the one value past +7.5 steps clamps (< 1 step).
          const bool clamped =
              symmetric && w[i] / p.scales.data<float>()[c * blocks + kk / block] > 7.5f;
          EXPECT_LE(std::fabs(back[i] - w[i]), (clamped ? 1.0f : 0.5f) * step * 1.0001f + 1e-7f)
              << "block " << block << " column " << c << " k " << kk;
        }
      // The outlier's block is coarse, the others are not.
      EXPECT_GT(std::fabs(p.scales.data<float>()[0]), 0.1f);
      EXPECT_LT(std::fabs(p.scales.data<float>()[blocks - 1]), 0.1f);
    }
  }
}

TEST(Q4DotUkernel, EveryVariantMatchesThePlainSum) {
  size_t count = 0;
  const cpu::Q4DotUkernelInfo* kernels = cpu::Q4DotUkernels(&count);
  const Isa best = BestIsa();
  std::mt19937 rng(3);
  std::vector<uint8_t> codes(64);
  for (auto& c : codes) c = static_cast<uint8_t>(rng());
  const std::vector<float> a = Normal(128, 4);
  for (size_t i = 0; i < count; ++i) {
    if (static_cast<int>(kernels[i].isa) > static_cast<int>(best)) continue;  // CPU lacks it
    SCOPED_TRACE(kernels[i].name);
    for (size_t n : {0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128}) {
      double want = 0;
      for (size_t k = 0; k < n; ++k)
        want += nbits::Code(codes.data(), static_cast<int64_t>(k)) * a[k];
      EXPECT_NEAR(kernels[i].fn(codes.data(), a.data(), n), want, 1e-4 * (1 + std::fabs(want)))
          << "count " << n;
    }
  }
}

/// Y = A * W^T + bias on float weights, in double.
Tensor FloatMatMulNK(const Tensor& a, const std::vector<float>& w_nk, int64_t k, int64_t n,
                     const std::vector<float>& bias) {
  Shape out = a.shape();
  out[out.rank() - 1] = n;
  Tensor y = *Tensor::Allocate(DataType::kFloat32, out);
  const int64_t rows = a.numel() / k;
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t c = 0; c < n; ++c) {
      double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(c)];
      for (int64_t kk = 0; kk < k; ++kk)
        acc += static_cast<double>(a.data<float>()[m * k + kk]) *
               w_nk[static_cast<size_t>(c * k + kk)];
      y.data<float>()[m * n + c] = static_cast<float>(acc);
    }
  return y;
}

struct NBitsCase {
  Shape a_shape;
  int64_t n, block;
  bool symmetric, bias;
};

std::vector<NBitsCase> AwkwardCases() {
  return {
      {{1, 16}, 1, 16, true, false},       // one block, one column
      {{5, 45}, 7, 16, true, true},        // K not a multiple of the block, N odd
      {{2, 3, 100}, 9, 32, false, false},  // batch dims, zero points, padded block
      {{4, 1, 64}, 33, 64, false, true},   // N past two microkernel panels
      {{37, 300}, 17, 128, true, true},    // K > one K block of the GEMM driver (256)
      {{100}, 5, 32, false, false},        // 1-D A
      {{3, 600}, 40, 32, true, false},     // several K blocks, N not a multiple of 16
  };
}

std::vector<Arg> NBitsArgs(const NBitsCase& c, const Packed& p, const std::vector<float>& bias) {
  std::vector<Arg> args = {
      {"a", cputest::RandomTensor(c.a_shape, 3)}, {"b", p.b, true}, {"scales", p.scales, true}};
  if (!c.symmetric) args.push_back({"zp", p.zp, true});
  if (!bias.empty())
    args.push_back({"bias", Tensor::FromVector(DataType::kFloat32, Shape{c.n}, bias), true});
  return args;
}

NodeSpec NBitsNode(const NBitsCase& c, int64_t k) {
  std::vector<std::string> inputs = {"a", "b", "scales", c.symmetric ? "" : "zp"};
  if (c.bias) {
    inputs.push_back("");  // g_idx
    inputs.push_back("bias");
  }
  return {"MatMulNBits",
          inputs,
          {"y"},
          {Int("K", k), Int("N", c.n), Int("bits", 4), Int("block_size", c.block)},
          "com.microsoft"};
}

TEST(MatMulNBits, RefMatchesFloatMatMulOfDequantizedWeights) {
  for (const NBitsCase& c : AwkwardCases()) {
    const int64_t k = c.a_shape[c.a_shape.rank() - 1];
    SCOPED_TRACE("A " + c.a_shape.ToString() + " N " + std::to_string(c.n) + " block " +
                 std::to_string(c.block));
    const std::vector<float> w = Normal(static_cast<size_t>(c.n * k), 5, 0.2f);
    const std::vector<float> bias =
        c.bias ? Normal(static_cast<size_t>(c.n), 6) : std::vector<float>{};
    Packed p = Pack(w, k, c.n, c.block, c.symmetric);
    auto got = cputest::RunGraph({NBitsNode(c, k)}, NBitsArgs(c, p, bias), {{"ref"}, true, 1});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const Tensor want =
        FloatMatMulNK(cputest::RandomTensor(c.a_shape, 3), Dequantized(p), k, c.n, bias);
    cputest::ExpectClose(*got, want, 1e-5f, 1e-5f);
    // And against the float weights, within what 4 bits allow (a loose but failing bound).
    const Tensor exact = FloatMatMulNK(cputest::RandomTensor(c.a_shape, 3), w, k, c.n, bias);
    double err = 0, sig = 0;
    for (int64_t i = 0; i < exact.numel(); ++i) {
      err += std::pow(got->data<float>()[i] - exact.data<float>()[i], 2);
      sig += std::pow(exact.data<float>()[i], 2);
    }
    EXPECT_GT(10 * std::log10(sig / err), 14.0) << "SQNR of 4-bit weights";
  }
}

TEST(MatMulNBits, CpuMatchesRef) {
  for (const NBitsCase& c : AwkwardCases()) {
    const int64_t k = c.a_shape[c.a_shape.rank() - 1];
    SCOPED_TRACE("A " + c.a_shape.ToString() + " N " + std::to_string(c.n) + " block " +
                 std::to_string(c.block));
    const std::vector<float> w = Normal(static_cast<size_t>(c.n * k), 8, 0.2f);
    const std::vector<float> bias =
        c.bias ? Normal(static_cast<size_t>(c.n), 9) : std::vector<float>{};
    Packed p = Pack(w, k, c.n, c.block, c.symmetric);
    // Strict: the cpu kernel itself runs (no fallback to ref), on 1 and 2 threads.
    cputest::ExpectCpuMatchesRef({NBitsNode(c, k)}, NBitsArgs(c, p, bias));
    if (HasFatalFailure()) return;
  }
}

TEST(MatMulNBits, RejectsBadLayouts) {
  NBitsCase c{{2, 32}, 3, 16, true, false};
  Packed p = Pack(Normal(96, 1), 32, 3, 16, true);
  NodeSpec node = NBitsNode(c, 32);
  node.attrs[3] = Int("block_size", 24);  // not a power of two
  for (const char* provider : {"ref", "cpu"}) {
    auto r = cputest::RunGraph({node}, NBitsArgs(c, p, {}), {{provider}, true, 1});
    EXPECT_FALSE(r.ok()) << provider;
  }
  for (int64_t bad_n : {int64_t{4}, int64_t{1} << 40}) {  // B holds 3 columns; absurd N
    node = NBitsNode(c, 32);
    node.attrs[1] = Int("N", bad_n);
    for (const char* provider : {"ref", "cpu"}) {
      auto r = cputest::RunGraph({node}, NBitsArgs(c, p, {}), {{provider}, true, 1});
      EXPECT_FALSE(r.ok()) << provider << " N=" << bad_n;
    }
  }
}

/// x[2, 48] -> MatMul[48, 32] -> Gemm(transB, alpha, beta, C[7]) -> y[2, 7].
std::string MatMulGemmModel() {
  test::ModelBuilder b(13);
  b.Input("x", 1, {2, 48}).Output("y", 1, {2, 7});
  b.FloatInit("m", {48, 32}, Normal(1536, 21, 0.2f));
  b.FloatInit("g", {7, 32}, Normal(224, 22, 0.3f));
  b.FloatInit("gc", {7}, Normal(7, 23, 0.5f));
  b.Node("MatMul", {"x", "m"}, {"h"}, "matmul");
  auto* gemm = b.Node("Gemm", {"h", "g", "gc"}, {"y"}, "gemm");
  for (auto [name, value] : {std::pair<const char*, float>{"alpha", 0.5f}, {"beta", 2.0f}}) {
    auto* a = gemm->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(value);
  }
  auto* tb = gemm->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
  return b.Bytes();
}

TEST(Int4Quantize, RewritesMatMulAndGemmIntoMatMulNBits) {
  const std::string bytes = MatMulGemmModel();
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), onnx::ImportOptions{});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (bool symmetric : {true, false}) {
    SCOPED_TRACE(symmetric ? "symmetric" : "asymmetric");
    compress::QuantizeOptions o;
    o.mode = compress::QuantMode::kInt4Weights;
    o.int4_block_size = 16;
    o.int4_symmetric = symmetric;
    compress::QuantizeSummary summary;
    auto q = compress::Quantize(*m, o, {}, &summary);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    std::map<std::string, int> ops;
    for (const auto& n : q->graph->nodes) ++ops[n.op_type];
    EXPECT_EQ(ops["MatMulNBits"], 2);
    EXPECT_EQ(ops["Add"], 1);  // the Gemm bias
    EXPECT_EQ(ops.count("MatMul") + ops.count("Gemm"), 0u);
    EXPECT_EQ(q->opsets.at("com.microsoft"), 1);
    EXPECT_EQ(summary.converted_weights, 2);
    // 4 bits per weight plus a float scale per 16 (and a 4-bit zero point): about 0.19x, 0.2x.
    EXPECT_LT(summary.converted_bytes_after,
              summary.converted_bytes_before * (symmetric ? 0.2 : 0.22));
    auto out = onnx::ExportModel(*q);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    std::vector<compress::InputSet> sets;
    for (uint32_t s = 0; s < 3; ++s)
      sets.push_back(
          {Value(Tensor::FromVector(DataType::kFloat32, Shape{2, 48}, Normal(96, 30 + s)))});
    auto e = compress::CompareModels(bytes, *out, sets, 1);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    // 4-bit weights in two layers: ~20 dB; a wrong transpose, alpha or beta gives ~0 dB.
    EXPECT_GT((*e)[0].sqnr_db, 15.0);
    EXPECT_GT((*e)[0].cosine, 0.98);
  }
}

TEST(Int4Quantize, LeavesTransAGemmAndComputedWeightsInFloat) {
  test::ModelBuilder b(13);
  b.Input("x", 1, {8, 2}).Input("w", 1, {8, 3}).Output("y", 1, {2, 4}).Output("z", 1, {2, 3});
  b.FloatInit("g", {8, 4}, Normal(32, 1));
  auto* gemm = b.Node("Gemm", {"x", "g"}, {"y"}, "gemm");
  auto* ta = gemm->add_attribute();
  ta->set_name("transA");
  ta->set_type(::onnx::AttributeProto::INT);
  ta->set_i(1);
  b.Node("Transpose", {"x"}, {"xt"}, "t");
  b.Node("MatMul", {"xt", "w"}, {"z"}, "matmul");  // B is a graph input
  const std::string bytes = b.Bytes();
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), onnx::ImportOptions{});
  ASSERT_TRUE(m.ok());
  compress::QuantizeOptions o;
  o.mode = compress::QuantMode::kInt4Weights;
  compress::QuantizeSummary summary;
  auto q = compress::Quantize(*m, o, {}, &summary);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(summary.quantized_nodes, 0);
}

}  // namespace
}  // namespace tern
