#include "ep/ref/control_util.h"

#include <cstring>
#include <string>

namespace tern::ref {

Status Subgraph::Run(const KernelContext& ctx, const std::vector<const Value*>& inputs,
                     std::vector<Value>* outputs) const {
  std::vector<const Value*> outer(outer_to_implicit.size(), nullptr);
  for (size_t j = 0; j < outer_to_implicit.size(); ++j) {
    size_t k = outer_to_implicit[j];
    if (k >= ctx.num_implicit_inputs())
      return ctx.Error(StatusCode::kInternal, "missing implicit input for a subgraph");
    outer[j] = ctx.implicit_input(k);
  }
  Status st = runner->Run(inputs, outer, outputs);
  if (!st.ok()) return st;
  if (outputs->size() != graph->outputs.size())
    return ctx.Error(StatusCode::kInternal, "subgraph returned a wrong number of outputs");
  return Status::Ok();
}

Status LoadSubgraph(const KernelInfo& info, const char* attr, Subgraph* out) {
  out->graph = info.GetGraph(attr);
  if (!out->graph)
    return info.Error(StatusCode::kInvalidModel,
                      std::string("missing graph attribute '") + attr + "'");
  if (!info.subgraphs())
    return info.Error(StatusCode::kNotImplemented, "the session cannot run subgraphs");
  const ir::Graph& parent = info.graph();
  const ir::Node& node = info.node();
  out->outer_to_implicit.clear();
  for (int ref : out->graph->outer_refs) {
    const std::string& name = out->graph->values[ref].name;
    size_t found = node.implicit_inputs.size();
    for (size_t k = 0; k < node.implicit_inputs.size(); ++k) {
      int v = node.implicit_inputs[k];
      if (v >= 0 && static_cast<size_t>(v) < parent.values.size() &&
          parent.values[v].name == name) {
        found = k;
        break;
      }
    }
    if (found == node.implicit_inputs.size())
      return info.Error(StatusCode::kInvalidModel, std::string("subgraph '") + attr + "' reads '" +
                                                       name + "', which the enclosing graph lacks");
    out->outer_to_implicit.push_back(found);
  }
  auto r = info.subgraphs()->Create(*out->graph);
  if (!r.ok()) return r.status().WithContext(std::string("subgraph '") + attr + "'");
  out->runner = std::move(r).value();
  return Status::Ok();
}

Result<Tensor> OwnTensor(const Tensor& t) {
  if (t.holder() || !t.defined()) return t;
  return t.Clone();
}

Result<Value> OwnValue(const Value& v) {
  Value out = v;
  if (out.is_tensor()) {
    TERN_ASSIGN_OR_RETURN(out.tensor, OwnTensor(v.tensor));
  } else if (out.is_sequence()) {
    for (Tensor& t : out.sequence) {
      TERN_ASSIGN_OR_RETURN(t, OwnTensor(t));
    }
  }
  return out;
}

void CopyElements(DataType type, void* dst, int64_t dst_index, const void* src, int64_t src_index,
                  int64_t n) {
  if (n <= 0) return;
  if (type == DataType::kString) {
    auto* d = static_cast<std::string*>(dst) + dst_index;
    const auto* s = static_cast<const std::string*>(src) + src_index;
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
    return;
  }
  const size_t es = DataTypeSize(type);
  std::memcpy(static_cast<uint8_t*>(dst) + static_cast<size_t>(dst_index) * es,
              static_cast<const uint8_t*>(src) + static_cast<size_t>(src_index) * es,
              static_cast<size_t>(n) * es);
}

void ZeroElements(DataType type, void* dst, int64_t dst_index, int64_t n) {
  if (n <= 0) return;
  if (type == DataType::kString) {
    auto* d = static_cast<std::string*>(dst) + dst_index;
    for (int64_t i = 0; i < n; ++i) d[i].clear();
    return;
  }
  const size_t es = DataTypeSize(type);
  std::memset(static_cast<uint8_t*>(dst) + static_cast<size_t>(dst_index) * es, 0,
              static_cast<size_t>(n) * es);
}

Result<Tensor> SliceAxis(const Tensor& t, int64_t axis, int64_t index) {
  const Shape& s = t.shape();
  if (axis < 0 || static_cast<size_t>(axis) >= s.rank() || index < 0 || index >= s[axis])
    return Internal("SliceAxis: bad axis or index");
  Shape out_shape;
  for (size_t d = 0; d < s.rank(); ++d)
    if (static_cast<int64_t>(d) != axis) out_shape.push_back(s[d]);
  TERN_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(t.dtype(), out_shape));
  const int64_t outer = s.Product(0, axis);
  const int64_t len = s[axis];
  const int64_t inner = s.Product(axis + 1, s.rank());
  for (int64_t o = 0; o < outer; ++o)
    CopyElements(t.dtype(), out.raw(), o * inner, t.raw(), (o * len + index) * inner, inner);
  return out;
}

Shape InsertDim(const Shape& slice, int64_t axis, int64_t count) {
  Shape out;
  for (size_t d = 0; d <= slice.rank(); ++d) {
    if (static_cast<int64_t>(d) == axis) out.push_back(count);
    if (d < slice.rank()) out.push_back(slice[d]);
  }
  return out;
}

void PlaceSlice(Tensor* out, int64_t axis, int64_t index, const Tensor& slice) {
  const Shape& s = out->shape();
  const int64_t outer = s.Product(0, axis);
  const int64_t len = s[axis];
  const int64_t inner = s.Product(axis + 1, s.rank());
  for (int64_t o = 0; o < outer; ++o)
    CopyElements(out->dtype(), out->raw(), (o * len + index) * inner, slice.raw(), o * inner,
                 inner);
}

Shape EmptyStackShape(const ir::TypeInfo& type) {
  Shape out{0};
  if (type.kind != ir::TypeInfo::Kind::kTensor || !type.has_shape) return out;
  for (const ir::Dim& d : type.dims) {
    if (!d.known()) return Shape{0};
    out.push_back(d.value);
  }
  return out;
}

DataType DeclaredElemType(const ir::TypeInfo& type) {
  const ir::TypeInfo* t = &type;
  while ((t->kind == ir::TypeInfo::Kind::kSequence || t->kind == ir::TypeInfo::Kind::kOptional) &&
         t->inner)
    t = t->inner.get();
  if (t->elem != DataType::kUndefined) return t->elem;
  return type.elem;
}

}  // namespace tern::ref
