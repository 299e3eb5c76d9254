#include "ep/ref/ref_common.h"

#include <algorithm>

namespace tern::ref {

Result<Shape> BroadcastShapes(const Shape* const* shapes, size_t count) {
  size_t rank = 0;
  for (size_t k = 0; k < count; ++k) rank = std::max(rank, shapes[k]->rank());
  Shape out;
  out.resize(rank, 1);
  for (size_t k = 0; k < count; ++k) {
    const Shape* s = shapes[k];
    size_t off = rank - s->rank();
    for (size_t i = 0; i < s->rank(); ++i) {
      int64_t d = (*s)[i];
      int64_t& o = out[off + i];
      if (d == o) continue;
      if (o == 1) o = d;
      else if (d != 1)
        return InvalidArgument("shapes " + shapes[0]->ToString() + " and " + s->ToString() +
                               " cannot be broadcast");
    }
  }
  return out;
}

namespace {
void FillBroadcastStrides(const Shape& in, const Shape& out, Shape& strides) {
  strides.resize(out.rank(), 0);
  for (size_t i = 0; i < out.rank(); ++i) strides[i] = 0;
  int64_t stride = 1;
  for (int64_t i = static_cast<int64_t>(in.rank()) - 1; i >= 0; --i) {
    size_t o = out.rank() - in.rank() + static_cast<size_t>(i);
    strides[o] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
}
}  // namespace

std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out) {
  Shape s;
  FillBroadcastStrides(in, out, s);
  return s.ToVector();
}

BroadcastIterator::BroadcastIterator(const Shape& out, const Shape* const* inputs, size_t count)
    : num_inputs_(count), total_(out.NumElements()), dims_(out) {
  if (count > kInlineInputs) heap_strides_.resize(count - kInlineInputs);
  for (size_t k = 0; k < count; ++k)
    FillBroadcastStrides(*inputs[k], out,
                         k < kInlineInputs ? inline_strides_[k] : heap_strides_[k - kInlineInputs]);
}

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return OutOfRange(std::string(what) + " " + std::to_string(axis) +
                      " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> ReadInts(const Tensor& t, const char* what) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DataType::kInt64) {
    std::copy(t.data<int64_t>(), t.data<int64_t>() + t.numel(), v.begin());
  } else if (t.dtype() == DataType::kInt32) {
    std::copy(t.data<int32_t>(), t.data<int32_t>() + t.numel(), v.begin());
  } else {
    return InvalidArgument(std::string(what) + " must be int32 or int64, got " +
                           DataTypeName(t.dtype()));
  }
  return v;
}

double ReadAsDouble(const Tensor& t, int64_t i) {
  double r = 0;
  (void)Visit<kNumeric | kBoolType>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    r = static_cast<double>(static_cast<AccT<T>>(t.data<T>()[i]));
    return Status::Ok();
  });
  return r;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> s(shape.rank(), 1);
  for (int64_t i = static_cast<int64_t>(shape.rank()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

}  // namespace tern::ref
