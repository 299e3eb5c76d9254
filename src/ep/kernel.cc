#include "ep/kernel.h"

namespace tern {

const Tensor* KernelInfo::constant_input(size_t i) const {
  if (!has_input(i)) return nullptr;
  const ir::Value& v = graph_.values[node_.inputs[i]];
  return v.is_initializer && !v.is_input ? &v.initializer : nullptr;
}

const ir::TypeInfo& KernelInfo::input_type(size_t i) const {
  static const ir::TypeInfo kUnknown;
  if (!has_input(i)) return kUnknown;
  return graph_.values[node_.inputs[i]].type;
}

int64_t KernelInfo::GetInt(const char* name, int64_t fallback) const {
  const ir::Attribute* a = node_.attr(name);
  return a && a->type == ir::AttrType::kInt ? a->i : fallback;
}

float KernelInfo::GetFloat(const char* name, float fallback) const {
  const ir::Attribute* a = node_.attr(name);
  if (!a) return fallback;
  if (a->type == ir::AttrType::kFloat) return a->f;
  if (a->type == ir::AttrType::kInt) return static_cast<float>(a->i);
  return fallback;
}

std::string KernelInfo::GetString(const char* name, const std::string& fallback) const {
  const ir::Attribute* a = node_.attr(name);
  return a && a->type == ir::AttrType::kString ? a->s : fallback;
}

std::vector<int64_t> KernelInfo::GetInts(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kInt) return {a->i};
  return a->ints;
}

std::vector<float> KernelInfo::GetFloats(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kFloat) return {a->f};
  return a->floats;
}

std::vector<std::string> KernelInfo::GetStrings(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  if (!a) return {};
  if (a->type == ir::AttrType::kString) return {a->s};
  return a->strings;
}

const Tensor* KernelInfo::GetTensor(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  return a && a->type == ir::AttrType::kTensor ? &a->t : nullptr;
}

std::shared_ptr<ir::Graph> KernelInfo::GetGraph(const char* name) const {
  const ir::Attribute* a = node_.attr(name);
  return a && a->type == ir::AttrType::kGraph ? a->g : nullptr;
}

Status KernelInfo::Error(StatusCode code, const std::string& message) const {
  return Status(code, node_.Describe() + ": " + message);
}

}  // namespace tern
