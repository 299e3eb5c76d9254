#include "tern/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

namespace tern {

size_t DataTypeSize(DataType type) {
  switch (type) {
    case DataType::kFloat32: return 4;
    case DataType::kUInt8: return 1;
    case DataType::kInt8: return 1;
    case DataType::kUInt16: return 2;
    case DataType::kInt16: return 2;
    case DataType::kInt32: return 4;
    case DataType::kInt64: return 8;
    case DataType::kString: return sizeof(std::string);
    case DataType::kBool: return 1;
    case DataType::kFloat16: return 2;
    case DataType::kFloat64: return 8;
    case DataType::kUInt32: return 4;
    case DataType::kUInt64: return 8;
    case DataType::kComplex64: return 8;
    case DataType::kComplex128: return 16;
    case DataType::kBFloat16: return 2;
    case DataType::kUndefined: return 0;
  }
  return 0;
}

const char* DataTypeName(DataType type) {
  switch (type) {
    case DataType::kFloat32: return "float32";
    case DataType::kUInt8: return "uint8";
    case DataType::kInt8: return "int8";
    case DataType::kUInt16: return "uint16";
    case DataType::kInt16: return "int16";
    case DataType::kInt32: return "int32";
    case DataType::kInt64: return "int64";
    case DataType::kString: return "string";
    case DataType::kBool: return "bool";
    case DataType::kFloat16: return "float16";
    case DataType::kFloat64: return "float64";
    case DataType::kUInt32: return "uint32";
    case DataType::kUInt64: return "uint64";
    case DataType::kComplex64: return "complex64";
    case DataType::kComplex128: return "complex128";
    case DataType::kBFloat16: return "bfloat16";
    case DataType::kUndefined: return "undefined";
  }
  return "invalid";
}

bool IsValidDataType(int32_t value) { return value >= 1 && value <= 16; }

bool IsFloatType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kFloat64 ||
         t == DataType::kBFloat16;
}

// ---- Shape ----

Shape::Shape(std::initializer_list<int64_t> dims) {
  resize(dims.size());
  std::copy(dims.begin(), dims.end(), data());
}
Shape::Shape(const std::vector<int64_t>& dims) : Shape(dims.data(), dims.size()) {}
Shape::Shape(const int64_t* dims, size_t rank) {
  resize(rank);
  if (rank) std::copy(dims, dims + rank, data());
}
Shape::Shape(const Shape& other) { *this = other; }
Shape& Shape::operator=(const Shape& other) {
  if (this == &other) return *this;
  resize(other.rank_);
  if (rank_) std::copy(other.begin(), other.end(), data());
  return *this;
}
Shape::~Shape() { delete[] heap_; }

void Shape::resize(size_t rank, int64_t fill) {
  if (rank > capacity_) {
    auto* grown = new int64_t[rank];
    std::copy(begin(), end(), grown);
    delete[] heap_;
    heap_ = grown;
    capacity_ = static_cast<uint32_t>(rank);
  }
  for (size_t i = rank_; i < rank; ++i) data()[i] = fill;
  rank_ = static_cast<uint32_t>(rank);
}

void Shape::push_back(int64_t d) {
  resize(rank_ + 1);
  data()[rank_ - 1] = d;
}

int64_t Shape::NumElements() const { return Product(0, rank_); }

int64_t Shape::Product(size_t from, size_t to) const {
  int64_t n = 1;
  for (size_t i = from; i < to && i < rank_; ++i) n *= data()[i];
  return n;
}

std::string Shape::ToString() const {
  std::string s = "[";
  for (size_t i = 0; i < rank_; ++i) {
    if (i) s += ",";
    s += std::to_string(data()[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  return rank_ == o.rank_ && std::equal(begin(), end(), o.begin());
}

namespace {
std::atomic<uint64_t> g_max_tensor_bytes{kDefaultMaxTensorBytes};
}  // namespace

uint64_t MaxTensorBytes() { return g_max_tensor_bytes.load(std::memory_order_relaxed); }

uint64_t SetMaxTensorBytes(uint64_t bytes) {
  return g_max_tensor_bytes.exchange(bytes ? bytes : kDefaultMaxTensorBytes);
}

Status CheckShape(const Shape& shape, DataType type, const char* what, uint64_t max_bytes) {
  // Every dim is checked, zeros included: kernels compute partial products (strides) of the
  // non-zero dims of empty tensors too, and those must not overflow.
  max_bytes = std::min<uint64_t>(max_bytes, static_cast<uint64_t>(INT64_MAX));
  uint64_t n = 1;
  bool zero = false;
  for (size_t i = 0; i < shape.rank(); ++i) {
    int64_t d = shape[i];
    if (d < 0)
      return InvalidArgument(std::string(what) + ": negative dimension in shape " +
                             shape.ToString());
    if (d == 0) {
      zero = true;
      continue;
    }
    if (n > max_bytes / static_cast<uint64_t>(d))
      return ResourceExhausted(std::string(what) + ": shape " + shape.ToString() +
                               " is too large (limit " + std::to_string(max_bytes) + " bytes)");
    n *= static_cast<uint64_t>(d);
  }
  uint64_t elem = std::max<uint64_t>(1, DataTypeSize(type));
  if (!zero && n > max_bytes / elem)
    return ResourceExhausted(std::string(what) + ": shape " + shape.ToString() + " of " +
                             DataTypeName(type) + " is too large (" + std::to_string(n) +
                             " elements, limit " + std::to_string(max_bytes) + " bytes)");
  return Status::Ok();
}

// ---- Tensor ----

namespace {
struct StringArray {
  std::string* items;
  size_t count;
  ~StringArray() { delete[] items; }
};
}  // namespace

Result<Tensor> Tensor::Allocate(DataType type, const Shape& shape) {
  TERN_RETURN_IF_ERROR(CheckShape(shape, type, "tensor"));
  if (type == DataType::kUndefined) return InvalidArgument("cannot allocate an undefined type");
  Tensor t;
  t.dtype_ = type;
  t.shape_ = shape;
  size_t n = static_cast<size_t>(shape.NumElements());
  if (type == DataType::kString) {
    auto arr = std::make_shared<StringArray>();
    arr->items = new (std::nothrow) std::string[std::max<size_t>(n, 1)];
    if (!arr->items) return ResourceExhausted("out of memory for string tensor");
    arr->count = n;
    t.data_ = arr->items;
    t.holder_ = arr;
    return t;
  }
  size_t bytes = n * DataTypeSize(type);
  size_t alloc = (std::max<size_t>(bytes, 1) + 63) & ~size_t{63};
  void* p = std::aligned_alloc(64, alloc);
  if (!p) return ResourceExhausted("out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, alloc);
  t.data_ = p;
  t.holder_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  return t;
}

Tensor Tensor::Wrap(DataType type, const Shape& shape, void* data) {
  Tensor t;
  t.dtype_ = type;
  t.shape_ = shape;
  t.data_ = data;
  return t;
}

Tensor Tensor::WrapShared(DataType type, const Shape& shape, void* data,
                          std::shared_ptr<void> holder) {
  Tensor t = Wrap(type, shape, data);
  t.holder_ = std::move(holder);
  return t;
}

Tensor Tensor::Reshaped(const Shape& shape) const {
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Result<Tensor> Tensor::Clone() const {
  TERN_ASSIGN_OR_RETURN(Tensor t, Allocate(dtype_, shape_));
  if (dtype_ == DataType::kString) {
    for (int64_t i = 0; i < numel(); ++i) t.data<std::string>()[i] = data<std::string>()[i];
  } else if (nbytes()) {
    std::memcpy(t.raw(), data_, nbytes());
  }
  return t;
}

}  // namespace tern
