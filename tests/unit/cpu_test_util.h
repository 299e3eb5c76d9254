// Builds small ONNX graphs in memory and runs them on chosen providers, so that every cpu kernel
// can be checked against the reference provider on the same model.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <random>
#include <string>
#include <vector>

#include "onnx/onnx_internal.h"
#include "tern/session.h"

namespace tern::cputest {

struct Arg {
  std::string name;
  Tensor t;
  bool constant = false;  ///< an initializer instead of a graph input
};

struct Attr {
  std::string name;
  ::onnx::AttributeProto::AttributeType type;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
};
inline Attr Ints(const std::string& n, std::vector<int64_t> v) {
  return {n, ::onnx::AttributeProto::INTS, std::move(v), {}, {}};
}
inline Attr Int(const std::string& n, int64_t v) {
  return {n, ::onnx::AttributeProto::INT, {v}, {}, {}};
}
inline Attr Float(const std::string& n, float v) {
  return {n, ::onnx::AttributeProto::FLOAT, {}, {v}, {}};
}
inline Attr Floats(const std::string& n, std::vector<float> v) {
  return {n, ::onnx::AttributeProto::FLOATS, {}, std::move(v), {}};
}
inline Attr Str(const std::string& n, const std::string& v) {
  return {n, ::onnx::AttributeProto::STRING, {}, {}, v};
}

struct NodeSpec {
  std::string op;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<Attr> attrs;
  std::string domain;
};

struct RunConfig {
  std::vector<std::string> providers;
  bool strict = false;
  int threads = 1;
  std::vector<NodePlacement>* placements = nullptr;  ///< filled when set
};

/// Runs `nodes` with `args` as inputs/initializers; the graph's output is "y".
inline Result<Tensor> RunGraph(const std::vector<NodeSpec>& nodes, const std::vector<Arg>& args,
                               const RunConfig& cfg, int opset = 17) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(opset);
  auto* tern_set = m.add_opset_import();
  tern_set->set_domain("ai.tern");
  tern_set->set_version(1);
  auto* ms_set = m.add_opset_import();  // ONNX Runtime's contrib ops (MatMulNBits)
  ms_set->set_domain("com.microsoft");
  ms_set->set_version(1);
  ::onnx::GraphProto* g = m.mutable_graph();
  g->set_name("g");
  for (const NodeSpec& spec : nodes) {
    ::onnx::NodeProto* n = g->add_node();
    n->set_op_type(spec.op);
    n->set_domain(spec.domain);
    n->set_name(spec.op + "_" + std::to_string(g->node_size()));
    for (const auto& i : spec.inputs) n->add_input(i);
    for (const auto& o : spec.outputs) n->add_output(o);
    for (const Attr& a : spec.attrs) {
      ::onnx::AttributeProto* p = n->add_attribute();
      p->set_name(a.name);
      p->set_type(a.type);
      switch (a.type) {
        case ::onnx::AttributeProto::INT:
          p->set_i(a.ints[0]);
          break;
        case ::onnx::AttributeProto::FLOAT:
          p->set_f(a.floats[0]);
          break;
        case ::onnx::AttributeProto::STRING:
          p->set_s(a.s);
          break;
        case ::onnx::AttributeProto::INTS:
          for (int64_t v : a.ints) p->add_ints(v);
          break;
        default:
          for (float v : a.floats) p->add_floats(v);
          break;
      }
    }
  }
  std::vector<Value> feeds;
  for (const Arg& a : args) {
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
  g->add_output()->set_name("y");
  const std::string bytes = m.SerializeAsString();
  SessionOptions opts;
  opts.providers = cfg.providers;
  opts.strict = cfg.strict;
  opts.threads = cfg.threads;
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size(), opts);
  if (!s.ok()) return s.status();
  if (cfg.placements) *cfg.placements = (*s)->placements();
  std::vector<Value> out;
  TERN_RETURN_IF_ERROR((*s)->Run(feeds, &out));
  if (out.size() != 1) return Internal("expected one output");
  return out[0].tensor;
}

inline Tensor RandomTensor(const Shape& shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(shape.NumElements()));
  for (auto& x : v) x = d(rng);
  return Tensor::FromVector(DataType::kFloat32, shape, v);
}

/// Same shape and values within atol + rtol*|want|.
inline void ExpectClose(const Tensor& got, const Tensor& want, float atol = 1e-4f,
                        float rtol = 1e-4f) {
  ASSERT_EQ(got.shape(), want.shape())
      << got.shape().ToString() << " vs " << want.shape().ToString();
  ASSERT_EQ(got.dtype(), want.dtype());
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_NEAR(g[i], w[i], atol + rtol * std::abs(w[i])) << "at flat index " << i;
}

/// Runs the graph strictly on cpu (1 and 2 threads) and on ref, and compares.
inline void ExpectCpuMatchesRef(const std::vector<NodeSpec>& nodes, const std::vector<Arg>& args,
                                const std::vector<NodeSpec>* ref_nodes = nullptr) {
  auto want = RunGraph(ref_nodes ? *ref_nodes : nodes, args, {{"ref"}, true, 1});
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  for (int threads = 1; threads <= 2; ++threads) {
    SCOPED_TRACE("threads=" + std::to_string(threads));
    auto got = RunGraph(nodes, args, {{"cpu"}, true, threads});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectClose(*got, *want);
  }
}

}  // namespace tern::cputest
