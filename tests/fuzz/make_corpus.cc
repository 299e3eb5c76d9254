// Writes the seed corpus of the fuzz targets: small valid and invalid models (corpus/model/) and
// tensor protos (corpus/tensor/). Usage: tern_make_fuzz_corpus <corpus-dir>
// Files the fuzzer found (named crash-*, timeout-*, ...) are committed next to these by hand.
#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "proto_builders.h"

using namespace tern::testing;  // NOLINT
using ::onnx::ModelProto;
using ::onnx::TensorProto;

namespace {

std::vector<std::pair<std::string, ModelProto>> Models() {
  std::vector<std::pair<std::string, ModelProto>> out;
  auto add = [&](const std::string& name, ModelProto m) { out.emplace_back(name, std::move(m)); };

  add("valid_add", AddModel());
  {  // broadcast with a symbolic batch dim and a raw_data initializer
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddInput(g, "x", TensorProto::FLOAT, {"N", 3});
    AddFloatInit(g, "b", {3}, {1, 2, 3});
    AddNode(g, "Add", {"x", "b"}, {"y"});
    AddOutput(g, "y");
    add("valid_broadcast_init", m);
  }
  {  // a chain of every op, nodes out of order, Constant folded into an initializer
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddInput(g, "x", TensorProto::FLOAT, {1, 4});
    AddNode(g, "Div", {"t2", "c"}, {"t3"}, "div");
    AddNode(g, "Mul", {"t1", "c"}, {"t2"}, "mul");
    auto* c = AddNode(g, "Constant", {}, {"c"}, "const");
    auto* a = c->add_attribute();
    a->set_name("value_floats");
    a->set_type(::onnx::AttributeProto::FLOATS);
    for (float f : {1.f, 2.f, 3.f, 4.f}) a->add_floats(f);
    AddNode(g, "Sub", {"x", "c"}, {"t1"}, "sub");
    AddNode(g, "Identity", {"t3"}, {"y"}, "id");
    AddOutput(g, "y", TensorProto::FLOAT, {1, 4}, true);
    AddOutput(g, "x");  // an input that is also an output
    add("valid_chain_unsorted", m);
  }
  {  // integer division: zeros make it divide by zero (an error, not a crash)
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddInput(g, "a", TensorProto::INT64, {2});
    AddInput(g, "b", TensorProto::INT64, {2});
    AddNode(g, "Div", {"a", "b"}, {"c"});
    AddOutput(g, "c");
    add("valid_int_div", m);
  }
  {  // typed-data initializers of several types, Identity of each
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    auto* t = g->add_initializer();
    t->set_name("i8");
    t->set_data_type(TensorProto::INT8);
    t->add_dims(3);
    for (int v : {-1, 0, 1}) t->add_int32_data(v);
    t = g->add_initializer();
    t->set_name("bl");
    t->set_data_type(TensorProto::BOOL);
    t->add_dims(2);
    t->add_int32_data(0);
    t->add_int32_data(7);
    t = g->add_initializer();
    t->set_name("s");
    t->set_data_type(TensorProto::STRING);
    t->add_dims(2);
    t->add_string_data("hello");
    t->add_string_data("");
    t = g->add_initializer();
    t->set_name("d");
    t->set_data_type(TensorProto::DOUBLE);
    t->add_double_data(2.5);
    t = g->add_initializer();
    t->set_name("c64");
    t->set_data_type(TensorProto::COMPLEX64);
    t->add_dims(1);
    t->add_float_data(1);
    t->add_float_data(2);
    t = g->add_initializer();
    t->set_name("e");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(0);
    t->add_dims(5);
    const char* names[] = {"i8", "bl", "s", "d", "c64", "e"};
    for (const char* n : names) {
      std::string o = std::string(n) + "_out";
      auto* node = g->add_node();
      node->set_op_type("Identity");
      node->add_input(n);
      node->add_output(o);
      AddOutput(g, o);
    }
    AddNode(g, "Add", {"d", "d"}, {"dd"});
    AddNode(g, "Mul", {"e", "e"}, {"ee"});
    AddOutput(g, "dd");
    AddOutput(g, "ee");
    add("valid_typed_inits", m);
  }
  {  // Constant value tensor and value_string, value_int(s)
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    auto* c = AddNode(g, "Constant", {}, {"c"});
    auto* a = c->add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(TensorProto::INT32);
    a->mutable_t()->add_dims(2);
    a->mutable_t()->add_int32_data(4);
    a->mutable_t()->add_int32_data(5);
    auto* c2 = AddNode(g, "Constant", {}, {"s"});
    a = c2->add_attribute();
    a->set_name("value_string");
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s("str");
    auto* c3 = AddNode(g, "Constant", {}, {"i"});
    a = c3->add_attribute();
    a->set_name("value_ints");
    a->set_type(::onnx::AttributeProto::INTS);
    a->add_ints(1);
    a->add_ints(2);
    AddNode(g, "Add", {"i", "i"}, {"i2"});
    AddNode(g, "Mul", {"c", "c"}, {"c2"});
    AddOutput(g, "c2");
    AddOutput(g, "s");
    AddOutput(g, "i2");
    add("valid_constants", m);
  }
  {  // a Constant that stays a node (it has an input) and an optional (omitted) output
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddInput(g, "x", TensorProto::FLOAT, {});
    auto* c = AddNode(g, "Constant", {"x"}, {"c"});
    auto* a = c->add_attribute();
    a->set_name("value_float");
    a->set_type(::onnx::AttributeProto::FLOAT);
    a->set_f(2);
    AddNode(g, "Add", {"x", "c"}, {""});
    AddNode(g, "Identity", {"c"}, {"y"});
    AddOutput(g, "y");
    add("valid_constant_node", m);
  }
  {  // If with subgraphs reading outer values (no If kernel yet: NotImplemented)
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddInput(g, "cond", TensorProto::BOOL, {});
    AddInput(g, "x", TensorProto::FLOAT, {2});
    auto* n = AddNode(g, "If", {"cond"}, {"y"}, "if");
    for (const char* branch : {"then_branch", "else_branch"}) {
      auto* a = n->add_attribute();
      a->set_name(branch);
      a->set_type(::onnx::AttributeProto::GRAPH);
      auto* sg = a->mutable_g();
      sg->set_name(branch);
      AddNode(sg, "Identity", {"x"}, {"r"});
      AddOutput(sg, "r");
    }
    AddOutput(g, "y");
    add("valid_if_subgraph", m);
  }
  {  // graph input with the same name as an initializer (an overridable default)
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    AddFloatInit(g, "w", {2}, {1, 2});
    AddInput(g, "w", TensorProto::FLOAT, {2});
    AddInput(g, "x", TensorProto::FLOAT, {2});
    AddNode(g, "Mul", {"x", "w"}, {"y"});
    AddOutput(g, "y");
    add("valid_input_with_default", m);
  }

  // ---- invalid ----
  {
    auto m = AddModel();
    auto* g = m.mutable_graph();
    g->mutable_node(0)->set_input(1, "w");
    AddNode(g, "Identity", {"z"}, {"w"});
    add("bad_cycle", m);
  }
  {
    auto m = AddModel();
    m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
    add("bad_dangling_input", m);
  }
  {
    auto m = AddModel();
    AddNode(m.mutable_graph(), "Identity", {"x"}, {"z"});
    add("bad_duplicate_output", m);
  }
  {
    auto m = AddModel();
    AddFloatInit(m.mutable_graph(), "w", {4}, {1, 2, 3});
    add("bad_raw_data_length", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("huge");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(int64_t{1} << 40);
    t->add_dims(int64_t{1} << 40);
    add("bad_huge_dims", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("empty_but_huge");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(0);
    t->add_dims(int64_t{1} << 62);
    t->add_dims(int64_t{1} << 62);
    add("bad_zero_dim_overflow", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("big_no_data");
    t->set_data_type(TensorProto::STRING);
    t->add_dims(100000000);
    add("bad_big_typed_without_data", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("neg");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(-3);
    add("bad_negative_dim", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("weird");
    t->set_data_type(77);
    add("bad_unknown_dtype", m);
  }
  {
    auto m = AddModel();
    m.set_ir_version(2);
    add("bad_ir2", m);
  }
  {
    auto m = AddModel();
    m.set_ir_version(99);
    add("bad_ir99", m);
  }
  {
    auto m = AddModel();
    m.mutable_graph()->mutable_node(0)->set_op_type("FrobnicateX");
    add("bad_unknown_op", m);
  }
  {
    auto m = AddModel();
    m.mutable_graph()->mutable_node(0)->clear_input();
    m.mutable_graph()->mutable_node(0)->add_input("x");
    add("bad_add_one_input", m);
  }
  {
    auto m = AddModel();
    m.mutable_graph()->mutable_node(0)->set_input(0, "");
    add("bad_add_omitted_input", m);
  }
  {
    auto m = AddModel();
    auto* t = m.mutable_graph()->add_initializer();
    t->set_name("ext");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value("../../etc/passwd");
    add("bad_external_escape", m);
  }
  {  // a chain of nested If subgraphs
    auto m = NestedIfModel(12);
    add("bad_nested_if", m);
  }
  {
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    auto* c = AddNode(g, "Constant", {}, {"c"});
    auto* a = c->add_attribute();
    a->set_name("value");
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(3);
    AddOutput(g, "c");
    add("bad_attribute_type", m);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Tensors() {
  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](const std::string& name, const google::protobuf::MessageLite& msg) {
    std::string s;
    msg.SerializeToString(&s);
    out.emplace_back(name, s);
  };
  {
    TensorProto t;
    t.set_name("f");
    t.set_data_type(TensorProto::FLOAT);
    t.add_dims(2);
    t.add_dims(2);
    float v[4] = {1, 2, 3, 4};
    t.set_raw_data(std::string(reinterpret_cast<const char*>(v), sizeof v));
    add("float_raw", t);
  }
  {
    TensorProto t;
    t.set_data_type(TensorProto::INT64);
    t.add_dims(3);
    for (int64_t v : {-1, 0, 1}) t.add_int64_data(v);
    add("int64_typed", t);
  }
  {
    TensorProto t;
    t.set_data_type(TensorProto::STRING);
    t.add_dims(2);
    t.add_string_data("a");
    t.add_string_data("bc");
    add("string", t);
  }
  {
    TensorProto t;
    t.set_data_type(TensorProto::BOOL);
    t.add_dims(3);
    t.set_raw_data(std::string("\x00\x01\x05", 3));
    add("bool_raw", t);
  }
  {
    TensorProto t;
    t.set_data_type(TensorProto::FLOAT16);
    t.add_dims(2);
    t.add_int32_data(0x3c00);
    t.add_int32_data(0xc000);
    add("float16_typed", t);
  }
  {
    TensorProto t;
    t.set_data_type(TensorProto::FLOAT);
    t.add_dims(int64_t{1} << 40);
    add("bad_huge", t);
  }
  {
    ::onnx::SequenceProto s;
    s.set_elem_type(::onnx::SequenceProto::TENSOR);
    auto* t = s.add_tensor_values();
    t->set_data_type(TensorProto::INT32);
    t->add_dims(1);
    t->add_int32_data(9);
    add("sequence", s);
  }
  {
    ::onnx::OptionalProto o;
    o.set_elem_type(::onnx::OptionalProto::TENSOR);
    auto* t = o.mutable_tensor_value();
    t->set_data_type(TensorProto::DOUBLE);
    t->add_double_data(1.5);
    add("optional", o);
  }
  return out;
}

bool Write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    return false;
  }
  if (bytes.size() >= 4096)
    std::fprintf(stderr, "warning: %s is %zu bytes\n", path.c_str(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  for (const auto& [name, m] : Models())
    ok = Write(dir + "/model/" + name + ".onnx", Serialize(m)) && ok;
  for (const auto& [name, bytes] : Tensors())
    ok = Write(dir + "/tensor/" + name + ".pb", bytes) && ok;
  return ok ? 0 : 1;
}
