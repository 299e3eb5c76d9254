// Constant: one of value (tensor), value_float(s), value_int(s), value_string(s).
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

class ConstantKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const ir::Node& n = info.node();
    if (n.attrs.size() != 1)
      return info.Error(StatusCode::kInvalidModel, "Constant needs exactly one value attribute");
    const ir::Attribute& a = n.attrs[0];
    if (a.name == "value" && a.type == ir::AttrType::kTensor) {
      value_ = a.t;
    } else if (a.name == "value_float") {
      value_ = Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{a.f});
    } else if (a.name == "value_floats") {
      value_ = Tensor::FromVector(DataType::kFloat32, Shape{static_cast<int64_t>(a.floats.size())},
                                  a.floats);
    } else if (a.name == "value_int") {
      value_ = Tensor::FromVector(DataType::kInt64, Shape{}, std::vector<int64_t>{a.i});
    } else if (a.name == "value_ints") {
      value_ =
          Tensor::FromVector(DataType::kInt64, Shape{static_cast<int64_t>(a.ints.size())}, a.ints);
    } else if (a.name == "value_string") {
      value_ = Tensor::FromVector(DataType::kString, Shape{}, std::vector<std::string>{a.s});
    } else if (a.name == "value_strings") {
      value_ = Tensor::FromVector(DataType::kString, Shape{static_cast<int64_t>(a.strings.size())},
                                  a.strings);
    } else {
      return info.Error(StatusCode::kNotImplemented,
                        "unsupported Constant attribute '" + a.name + "'");
    }
    if (!value_.defined())
      return info.Error(StatusCode::kResourceExhausted, "Constant value is too large");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override { return ctx.SetOutput(0, Value(value_)); }

 private:
  Tensor value_;
};

}  // namespace

void Register_constant(KernelRegistry& r) { r.Add("", "Constant", Create<ConstantKernel>); }

}  // namespace tern::ref
