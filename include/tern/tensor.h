// DataType, Shape and Tensor: the values that flow through libtern.
// A Tensor either owns its memory (shared, reference counted) or borrows memory that the caller
// or the session's arena keeps alive. Copying a Tensor never copies its elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern {

/// Element types; the numbers are ONNX TensorProto.DataType's.
enum class DataType : int32_t {
  kUndefined = 0,
  kFloat32 = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kFloat64 = 11,
  kUInt32 = 12,
  kUInt64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBFloat16 = 16,
};

/// Bytes per element (sizeof(std::string) for kString, 0 for kUndefined).
size_t DataTypeSize(DataType type);
/// "float32", "int64", ...
const char* DataTypeName(DataType type);
bool IsValidDataType(int32_t value);
bool IsFloatType(DataType type);  ///< float16, bfloat16, float32, float64

/// Dimensions of a tensor; up to kInline dims live inside the object (no heap allocation).
class Shape {
 public:
  static constexpr int kInline = 8;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  Shape(const int64_t* dims, size_t rank);
  Shape(const Shape& other);
  Shape& operator=(const Shape& other);
  ~Shape();

  size_t rank() const { return rank_; }
  size_t size() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  int64_t operator[](size_t i) const { return data()[i]; }
  int64_t& operator[](size_t i) { return data()[i]; }
  const int64_t* data() const { return heap_ ? heap_ : inline_; }
  int64_t* data() { return heap_ ? heap_ : inline_; }
  const int64_t* begin() const { return data(); }
  const int64_t* end() const { return data() + rank_; }
  int64_t back() const { return data()[rank_ - 1]; }
  void resize(size_t rank, int64_t fill = 0);
  void push_back(int64_t d);
  std::vector<int64_t> ToVector() const { return std::vector<int64_t>(begin(), end()); }
  /// Product of dims (1 for a scalar). Assumes dims were validated (no overflow).
  int64_t NumElements() const;
  /// Product of dims [from, to).
  int64_t Product(size_t from, size_t to) const;
  std::string ToString() const;  ///< "[1,3,224,224]"
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  int64_t inline_[kInline] = {};
  int64_t* heap_ = nullptr;
  uint32_t rank_ = 0;
  uint32_t capacity_ = kInline;
};

/// Default per-tensor size limit: 8 GiB.
inline constexpr uint64_t kDefaultMaxTensorBytes = uint64_t{8} << 30;
/// The process-wide limit on the size of one tensor (Tensor::Allocate, CheckShape's default),
/// so that a hostile or absurd shape fails with ResourceExhausted instead of exhausting memory.
uint64_t MaxTensorBytes();
/// Sets the process-wide per-tensor limit in bytes (0 restores the default); returns the old one.
uint64_t SetMaxTensorBytes(uint64_t bytes);

/// Checks every dim >= 0, that the product of the non-zero dims fits in int64 and the limit (so
/// partial products such as strides never overflow, even for empty tensors), and that the byte
/// size fits in the limit.
Status CheckShape(const Shape& shape, DataType type, const char* what,
                  uint64_t max_bytes = MaxTensorBytes());

/// A typed n-dimensional array. Strings are stored as std::string elements.
class Tensor {
 public:
  Tensor() = default;
  /// A new tensor that owns zero-initialised memory (64-byte aligned).
  static Result<Tensor> Allocate(DataType type, const Shape& shape);
  /// A tensor over memory the caller keeps alive and does not free while the tensor is used.
  static Tensor Wrap(DataType type, const Shape& shape, void* data);
  /// As Wrap, keeping `holder` alive with the tensor.
  static Tensor WrapShared(DataType type, const Shape& shape, void* data,
                           std::shared_ptr<void> holder);
  /// A scalar or 1-D tensor from values (convenience for tests and tools); an undefined tensor
  /// when the shape is invalid or over the size limit.
  template <typename T>
  static Tensor FromVector(DataType type, const Shape& shape, const std::vector<T>& values);

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  size_t rank() const { return shape_.rank(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t numel() const { return shape_.NumElements(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * DataTypeSize(dtype_); }
  bool defined() const { return dtype_ != DataType::kUndefined; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <typename T>
  T* data() { return static_cast<T*>(data_); }
  template <typename T>
  const T* data() const { return static_cast<const T*>(data_); }

  /// Same memory, new shape with the same element count.
  Tensor Reshaped(const Shape& shape) const;
  /// A deep copy that owns its memory.
  Result<Tensor> Clone() const;
  const std::shared_ptr<void>& holder() const { return holder_; }

 private:
  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  void* data_ = nullptr;
  std::shared_ptr<void> holder_;
};

template <typename T>
Tensor Tensor::FromVector(DataType type, const Shape& shape, const std::vector<T>& values) {
  auto r = Allocate(type, shape);
  if (!r.ok()) return Tensor();  // an undefined tensor: the shape was invalid or too large
  Tensor t = std::move(r).value();
  if (type == DataType::kString) {
    for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i)
      if constexpr (std::is_same_v<T, std::string>) t.data<std::string>()[i] = values[i];
  } else {
    size_t bytes = std::min(values.size() * sizeof(T), t.nbytes());
    if (bytes) std::memcpy(t.raw(), values.data(), bytes);
  }
  return t;
}

}  // namespace tern
