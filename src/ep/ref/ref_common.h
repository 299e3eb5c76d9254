// Shared helpers for reference kernels: type dispatch, broadcasting, axis handling, and the
// boilerplate of kernel factories. Reference kernels are plain C++: no SIMD, no threads.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "core/float16.h"
#include "ep/kernel.h"
#include "ep/provider.h"

namespace tern::ref {

/// C++ element type for a DataType (Float16/BFloat16 for the 16-bit floats, bool for kBool).
template <DataType D> struct CppType;
template <> struct CppType<DataType::kFloat32> { using type = float; };
template <> struct CppType<DataType::kFloat64> { using type = double; };
template <> struct CppType<DataType::kFloat16> { using type = Float16; };
template <> struct CppType<DataType::kBFloat16> { using type = BFloat16; };
template <> struct CppType<DataType::kInt8> { using type = int8_t; };
template <> struct CppType<DataType::kInt16> { using type = int16_t; };
template <> struct CppType<DataType::kInt32> { using type = int32_t; };
template <> struct CppType<DataType::kInt64> { using type = int64_t; };
template <> struct CppType<DataType::kUInt8> { using type = uint8_t; };
template <> struct CppType<DataType::kUInt16> { using type = uint16_t; };
template <> struct CppType<DataType::kUInt32> { using type = uint32_t; };
template <> struct CppType<DataType::kUInt64> { using type = uint64_t; };
template <> struct CppType<DataType::kBool> { using type = bool; };
template <> struct CppType<DataType::kString> { using type = std::string; };

template <typename T> constexpr DataType DataTypeOf();
template <> constexpr DataType DataTypeOf<float>() { return DataType::kFloat32; }
template <> constexpr DataType DataTypeOf<double>() { return DataType::kFloat64; }
template <> constexpr DataType DataTypeOf<Float16>() { return DataType::kFloat16; }
template <> constexpr DataType DataTypeOf<BFloat16>() { return DataType::kBFloat16; }
template <> constexpr DataType DataTypeOf<int8_t>() { return DataType::kInt8; }
template <> constexpr DataType DataTypeOf<int16_t>() { return DataType::kInt16; }
template <> constexpr DataType DataTypeOf<int32_t>() { return DataType::kInt32; }
template <> constexpr DataType DataTypeOf<int64_t>() { return DataType::kInt64; }
template <> constexpr DataType DataTypeOf<uint8_t>() { return DataType::kUInt8; }
template <> constexpr DataType DataTypeOf<uint16_t>() { return DataType::kUInt16; }
template <> constexpr DataType DataTypeOf<uint32_t>() { return DataType::kUInt32; }
template <> constexpr DataType DataTypeOf<uint64_t>() { return DataType::kUInt64; }
template <> constexpr DataType DataTypeOf<bool>() { return DataType::kBool; }
template <> constexpr DataType DataTypeOf<std::string>() { return DataType::kString; }

/// Arithmetic type for T: float for the 16-bit floats, T otherwise.
template <typename T>
using AccT = std::conditional_t<std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>,
                                   float, T>;

template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, Float16> ||
                          std::is_same_v<T, BFloat16>;

/// Type-set flags for Visit.
enum TypeSet : unsigned {
  kFloats = 1,    ///< float32, float64, float16, bfloat16
  kSigned = 2,    ///< int8..int64
  kUnsigned = 4,  ///< uint8..uint64
  kBoolType = 8,
  kStringType = 16,
  kNumeric = kFloats | kSigned | kUnsigned,
  kAllTypes = kNumeric | kBoolType | kStringType,
};

/// Calls fn(T{}) with the C++ type of `type` when it is in the set `Allowed` (only those types
/// are instantiated); NotImplemented otherwise. Usage: Visit<kNumeric>(t.dtype(), [&](auto tag)
/// { using T = decltype(tag); ... }).
template <unsigned Allowed, typename Fn>
Status Visit(DataType type, Fn&& fn) {
  switch (type) {
#define TERN_VISIT_CASE(DT, SET)                                              \
  case DataType::DT:                                                          \
    if constexpr ((Allowed & (SET)) != 0) {                                   \
      return fn(typename CppType<DataType::DT>::type{});                      \
    }                                                                         \
    break;
    TERN_VISIT_CASE(kFloat32, kFloats)
    TERN_VISIT_CASE(kFloat64, kFloats)
    TERN_VISIT_CASE(kFloat16, kFloats)
    TERN_VISIT_CASE(kBFloat16, kFloats)
    TERN_VISIT_CASE(kInt8, kSigned)
    TERN_VISIT_CASE(kInt16, kSigned)
    TERN_VISIT_CASE(kInt32, kSigned)
    TERN_VISIT_CASE(kInt64, kSigned)
    TERN_VISIT_CASE(kUInt8, kUnsigned)
    TERN_VISIT_CASE(kUInt16, kUnsigned)
    TERN_VISIT_CASE(kUInt32, kUnsigned)
    TERN_VISIT_CASE(kUInt64, kUnsigned)
    TERN_VISIT_CASE(kBool, kBoolType)
    TERN_VISIT_CASE(kString, kStringType)
#undef TERN_VISIT_CASE
    default:
      break;
  }
  return NotImplemented(std::string("type ") + DataTypeName(type) + " is not supported");
}

/// Numpy-style broadcast of several shapes (no heap allocation for ranks up to Shape::kInline).
Result<Shape> BroadcastShapes(const Shape* const* shapes, size_t count);
inline Result<Shape> BroadcastShapes(std::initializer_list<const Shape*> shapes) {
  return BroadcastShapes(shapes.begin(), shapes.size());
}
inline Result<Shape> BroadcastShapes(const std::vector<const Shape*>& shapes) {
  return BroadcastShapes(shapes.data(), shapes.size());
}

/// Element strides of `in` seen through the broadcast output shape `out` (0 on broadcast dims).
std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out);

/// Walks an output shape in row-major order, tracking an offset per input. Allocation-free for
/// up to kInlineInputs inputs of rank <= Shape::kInline.
class BroadcastIterator {
 public:
  static constexpr size_t kInlineInputs = 4;
  BroadcastIterator(const Shape& out, const Shape* const* inputs, size_t count);
  BroadcastIterator(const Shape& out, std::initializer_list<const Shape*> inputs)
      : BroadcastIterator(out, inputs.begin(), inputs.size()) {}
  BroadcastIterator(const Shape& out, const std::vector<const Shape*>& inputs)
      : BroadcastIterator(out, inputs.data(), inputs.size()) {}
  /// Calls fn(out_index, in_offsets) for every output element.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    if (total_ == 0) return;
    const int64_t rank = static_cast<int64_t>(dims_.rank());
    Shape counter;
    counter.resize(dims_.rank(), 0);
    int64_t inline_off[kInlineInputs] = {};
    std::vector<int64_t> heap_off;
    int64_t* off = inline_off;
    if (num_inputs_ > kInlineInputs) {
      heap_off.assign(num_inputs_, 0);
      off = heap_off.data();
    }
    for (int64_t i = 0; i < total_; ++i) {
      fn(i, static_cast<const int64_t*>(off));
      for (int64_t d = rank - 1; d >= 0; --d) {
        ++counter[d];
        for (size_t k = 0; k < num_inputs_; ++k) off[k] += stride(k)[d];
        if (counter[d] < dims_[d]) break;
        for (size_t k = 0; k < num_inputs_; ++k) off[k] -= stride(k)[d] * dims_[d];
        counter[d] = 0;
      }
    }
  }

 private:
  const Shape& stride(size_t k) const {
    return k < kInlineInputs ? inline_strides_[k] : heap_strides_[k - kInlineInputs];
  }
  size_t num_inputs_;
  int64_t total_;
  Shape dims_;
  Shape inline_strides_[kInlineInputs];
  std::vector<Shape> heap_strides_;
};

/// Normalises a possibly negative axis into [0, rank); OutOfRange when outside [-rank, rank).
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

/// Reads an integer tensor (int32 or int64) as int64 values.
Result<std::vector<int64_t>> ReadInts(const Tensor& t, const char* what);
/// Reads a float-like or integer tensor element i as double.
double ReadAsDouble(const Tensor& t, int64_t i);

/// Row-major strides of a shape.
std::vector<int64_t> Strides(const Shape& shape);

/// A kernel built from a lambda-friendly class: `MakeKernel<T>(info)` news T(info) after
/// calling its static `Status Init(const KernelInfo&, T&)`-less constructor.
template <typename K>
Result<std::unique_ptr<OpKernel>> Create(const KernelInfo& info) {
  auto k = std::make_unique<K>();
  TERN_RETURN_IF_ERROR(k->Init(info));
  return std::unique_ptr<OpKernel>(std::move(k));
}

/// A kernel without attributes.
class SimpleKernel : public OpKernel {
 public:
  Status Init(const KernelInfo&) { return Status::Ok(); }
};

}  // namespace tern::ref
