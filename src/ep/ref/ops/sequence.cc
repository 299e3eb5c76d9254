// Sequence basics: SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceErase, SequenceAt,
// SequenceLength. Tensors stored in sequences own their memory (or share it through holders).
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

Result<const Value*> SeqInput(const KernelContext& ctx, size_t i) {
  const Value* v = ctx.input_value(i);
  if (!v || !v->is_sequence())
    return ctx.Error(StatusCode::kInvalidArgument,
                     "input " + std::to_string(i) + " must be a sequence");
  return v;
}

// Reads the optional scalar position input; `fallback` when omitted.
Result<int64_t> ReadPosition(const KernelContext& ctx, size_t i, int64_t fallback) {
  if (!ctx.has_input(i)) return fallback;
  const Value* v = ctx.input_value(i);
  if (!v->is_tensor() || v->tensor.numel() != 1 ||
      (v->tensor.dtype() != DataType::kInt32 && v->tensor.dtype() != DataType::kInt64))
    return ctx.Error(StatusCode::kInvalidArgument, "position must be an int32/int64 scalar");
  TERN_ASSIGN_OR_RETURN(auto p, ReadInts(v->tensor, "position"));
  return p[0];
}

// Normalises a position into [0, n) (or [0, n] when `allow_end`).
Result<int64_t> NormPosition(const KernelContext& ctx, int64_t pos, int64_t n, bool allow_end) {
  const int64_t hi = allow_end ? n : n - 1;
  if (pos < -n || pos > hi)
    return ctx.Error(StatusCode::kOutOfRange, "position " + std::to_string(pos) + " is outside [" +
                                                  std::to_string(-n) + ", " + std::to_string(hi) +
                                                  "]");
  return pos < 0 ? pos + n : pos;
}

class SequenceEmptyKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    int64_t dt = info.GetInt("dtype", static_cast<int64_t>(DataType::kFloat32));
    if (dt < 0 || dt > 1000 || !IsValidDataType(static_cast<int32_t>(dt)) ||
        dt == static_cast<int64_t>(DataType::kUndefined))
      return info.Error(StatusCode::kInvalidModel, "bad dtype " + std::to_string(dt));
    dtype_ = static_cast<DataType>(dt);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    return ctx.SetOutput(0, Value::Sequence({}, dtype_));
  }

 private:
  DataType dtype_ = DataType::kFloat32;
};

class SequenceConstructKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (ctx.num_inputs() == 0)
      return ctx.Error(StatusCode::kInvalidArgument, "SequenceConstruct needs at least one input");
    std::vector<Tensor> items;
    items.reserve(ctx.num_inputs());
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Value* v = ctx.input_value(i);
      if (!v || !v->is_tensor())
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " must be a tensor");
      if (!items.empty() && v->tensor.dtype() != items[0].dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "all inputs must have the same type");
      TERN_ASSIGN_OR_RETURN(Tensor t, OwnTensor(v->tensor));
      items.push_back(std::move(t));
    }
    DataType dt = items[0].dtype();
    return ctx.SetOutput(0, Value::Sequence(std::move(items), dt));
  }
};

class SequenceInsertKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(const Value* seq, SeqInput(ctx, 0));
    const Value* tv = ctx.input_value(1);
    if (!tv || !tv->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument, "tensor input must be a tensor");
    const int64_t n = static_cast<int64_t>(seq->sequence.size());
    DataType elem = seq->elem_type;
    if (elem == DataType::kUndefined && n > 0) elem = seq->sequence[0].dtype();
    if (elem != DataType::kUndefined && elem != tv->tensor.dtype())
      return ctx.Error(StatusCode::kInvalidArgument,
                       std::string("cannot insert a ") + DataTypeName(tv->tensor.dtype()) +
                           " tensor into a sequence of " + DataTypeName(elem));
    TERN_ASSIGN_OR_RETURN(int64_t pos, ReadPosition(ctx, 2, n));
    TERN_ASSIGN_OR_RETURN(pos, NormPosition(ctx, pos, n, true));
    TERN_ASSIGN_OR_RETURN(Tensor t, OwnTensor(tv->tensor));
    std::vector<Tensor> items = seq->sequence;
    items.insert(items.begin() + pos, std::move(t));
    return ctx.SetOutput(0, Value::Sequence(std::move(items), tv->tensor.dtype()));
  }
};

class SequenceEraseKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(const Value* seq, SeqInput(ctx, 0));
    const int64_t n = static_cast<int64_t>(seq->sequence.size());
    TERN_ASSIGN_OR_RETURN(int64_t pos, ReadPosition(ctx, 1, -1));
    TERN_ASSIGN_OR_RETURN(pos, NormPosition(ctx, pos, n, false));
    std::vector<Tensor> items = seq->sequence;
    items.erase(items.begin() + pos);
    return ctx.SetOutput(0, Value::Sequence(std::move(items), seq->elem_type));
  }
};

class SequenceAtKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(const Value* seq, SeqInput(ctx, 0));
    const int64_t n = static_cast<int64_t>(seq->sequence.size());
    if (!ctx.has_input(1)) return ctx.Error(StatusCode::kInvalidArgument, "position is required");
    TERN_ASSIGN_OR_RETURN(int64_t pos, ReadPosition(ctx, 1, 0));
    TERN_ASSIGN_OR_RETURN(pos, NormPosition(ctx, pos, n, false));
    return ctx.SetOutput(0, Value(seq->sequence[static_cast<size_t>(pos)]));
  }
};

class SequenceLengthKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(const Value* seq, SeqInput(ctx, 0));
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kInt64, Shape{}));
    out->data<int64_t>()[0] = static_cast<int64_t>(seq->sequence.size());
    return Status::Ok();
  }
};

}  // namespace

void Register_sequence(KernelRegistry& r) {
  r.Add("", "SequenceEmpty", Create<SequenceEmptyKernel>, 11);
  r.Add("", "SequenceConstruct", Create<SequenceConstructKernel>, 11);
  r.Add("", "SequenceInsert", Create<SequenceInsertKernel>, 11);
  r.Add("", "SequenceErase", Create<SequenceEraseKernel>, 11);
  r.Add("", "SequenceAt", Create<SequenceAtKernel>, 11);
  r.Add("", "SequenceLength", Create<SequenceLengthKernel>, 11);
}

}  // namespace tern::ref
