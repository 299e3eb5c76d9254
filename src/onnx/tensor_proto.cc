// TensorProto <-> Tensor. Dims and data lengths are checked before anything is allocated, so a
// hostile file cannot ask for more memory than it carries.
#include <onnx/onnx_pb.h>
#include <onnx/onnx-data_pb.h>

#include <cstring>
#include <fstream>

#include "core/float16.h"
#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

namespace tern::onnx {

Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return IoError("cannot open '" + path + "'");
  std::streamoff size = in.tellg();
  if (size < 0) return IoError("cannot read '" + path + "'");
  if (static_cast<uint64_t>(size) > max_bytes)
    return ResourceExhausted("'" + path + "' is " + std::to_string(size) +
                             " bytes, over the limit of " + std::to_string(max_bytes));
  std::string data(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (size > 0 && !in.read(data.data(), size)) return IoError("cannot read '" + path + "'");
  return data;
}

namespace {

template <typename Field, typename T>
Status CopyTyped(const Field& field, int64_t n, T* out, const char* what) {
  if (field.size() != n)
    return InvalidModel(std::string(what) + ": has " + std::to_string(field.size()) +
                        " values, shape needs " + std::to_string(n));
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
  return Status::Ok();
}

// INT4 / UINT4 from raw_data (two values per byte, low nibble first, the last high nibble
// unused when the count is odd), unpacked to one int8 / uint8 per value.
Result<Tensor> UnpackInt4(const ::onnx::TensorProto& proto, const std::string& what) {
  const bool is_signed = proto.data_type() == kProtoInt4;
  Shape shape;
  for (int64_t d : proto.dims()) {
    if (d < 0) return InvalidModel(what + ": negative dimension " + std::to_string(d));
    shape.push_back(d);
  }
  const DataType type = is_signed ? DataType::kInt8 : DataType::kUInt8;
  TERN_RETURN_IF_ERROR(CheckShape(shape, type, what.c_str()));
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL || !proto.has_raw_data())
    return NotImplemented(what + ": 4-bit tensors are read from raw_data only");
  const int64_t n = shape.NumElements();
  const std::string& raw = proto.raw_data();
  if (raw.size() != static_cast<size_t>((n + 1) / 2))
    return InvalidModel(what + ": raw_data has " + std::to_string(raw.size()) + " bytes, " +
                        std::to_string(n) + " 4-bit values need " + std::to_string((n + 1) / 2));
  TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
  uint8_t* out = t.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t byte = static_cast<uint8_t>(raw[static_cast<size_t>(i / 2)]);
    const uint8_t nibble = (i % 2 == 0 ? byte : byte >> 4) & 0x0F;
    // Sign-extend the nibble for INT4: 8..15 are -8..-1.
    out[i] = is_signed && nibble >= 8 ? static_cast<uint8_t>(nibble | 0xF0) : nibble;
  }
  return t;
}

}  // namespace

int32_t UnpackedElemType(int32_t proto_type) {
  if (proto_type == kProtoInt4) return static_cast<int32_t>(DataType::kInt8);
  if (proto_type == kProtoUInt4) return static_cast<int32_t>(DataType::kUInt8);
  return proto_type;
}

Status Int4TensorToProto(const Tensor& t, const std::string& name, ::onnx::TensorProto* proto) {
  const bool is_signed = t.dtype() == DataType::kInt8;
  if (!is_signed && t.dtype() != DataType::kUInt8)
    return InvalidArgument("tensor '" + name + "': only int8 / uint8 can be stored as 4-bit");
  const int64_t n = t.numel();
  std::string raw(static_cast<size_t>((n + 1) / 2), '\0');
  for (int64_t i = 0; i < n; ++i) {
    const int v = is_signed ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
    if (v < (is_signed ? -8 : 0) || v > (is_signed ? 7 : 15))
      return InvalidArgument("tensor '" + name + "': value " + std::to_string(v) +
                             " does not fit in 4 bits");
    const uint8_t nibble = static_cast<uint8_t>(v) & 0x0F;
    raw[static_cast<size_t>(i / 2)] =
        static_cast<char>(static_cast<uint8_t>(raw[static_cast<size_t>(i / 2)]) |
                          (i % 2 == 0 ? nibble : nibble << 4));
  }
  proto->set_name(name);
  proto->set_data_type(is_signed ? kProtoInt4 : kProtoUInt4);
  for (size_t i = 0; i < t.rank(); ++i) proto->add_dims(t.dim(i));
  proto->set_raw_data(std::move(raw));
  return Status::Ok();
}

Result<Tensor> TensorFromProto(const ::onnx::TensorProto& proto, const TensorSource& source) {
  const std::string what = "tensor '" + proto.name() + "'";
  if (proto.data_type() == kProtoInt4 || proto.data_type() == kProtoUInt4)
    return UnpackInt4(proto, what);
  if (!IsValidDataType(proto.data_type()))
    return InvalidModel(what + ": unsupported data type " + std::to_string(proto.data_type()));
  DataType type = static_cast<DataType>(proto.data_type());
  if (proto.has_segment()) return NotImplemented(what + ": segmented tensors are not supported");
  Shape shape;
  for (int64_t d : proto.dims()) {
    if (d < 0) return InvalidModel(what + ": negative dimension " + std::to_string(d));
    shape.push_back(d);
  }
  TERN_RETURN_IF_ERROR(CheckShape(shape, type, what.c_str()));
  const int64_t n = shape.NumElements();
  const size_t elem = DataTypeSize(type);

  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    if (type == DataType::kString) return InvalidModel(what + ": external string data");
    return LoadExternal(proto, type, shape, source);
  }

  if (proto.has_raw_data()) {
    if (type == DataType::kString) return InvalidModel(what + ": string tensor with raw_data");
    const std::string& raw = proto.raw_data();
    if (raw.size() != static_cast<size_t>(n) * elem)
      return InvalidModel(what + ": raw_data has " + std::to_string(raw.size()) +
                          " bytes, shape " + shape.ToString() + " of " + DataTypeName(type) +
                          " needs " + std::to_string(static_cast<size_t>(n) * elem));
    bool bool_ok = true;  // bool bytes other than 0 and 1 are not valid C++ bools: normalise
    if (type == DataType::kBool)
      for (unsigned char c : raw) bool_ok = bool_ok && c <= 1;
    if (!bool_ok) {
      TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = raw[static_cast<size_t>(i)] != 0;
      return t;
    }
    if (source.keepalive && n > 0 && reinterpret_cast<uintptr_t>(raw.data()) % 16 == 0) {
      // Use the bytes in place; the parsed message outlives the tensor.
      return Tensor::WrapShared(type, shape, const_cast<char*>(raw.data()), source.keepalive);
    }
    TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
    if (n > 0) std::memcpy(t.raw(), raw.data(), raw.size());
    return t;
  }

  // Check that the typed field carries as many values as the shape needs before allocating, so
  // that a small file cannot make us allocate (and zero) a huge tensor.
  int64_t have = 0;
  int64_t want = n;
  switch (type) {
    case DataType::kFloat32: have = proto.float_data_size(); break;
    case DataType::kComplex64: have = proto.float_data_size(); want = 2 * n; break;
    case DataType::kFloat64: have = proto.double_data_size(); break;
    case DataType::kComplex128: have = proto.double_data_size(); want = 2 * n; break;
    case DataType::kInt64: have = proto.int64_data_size(); break;
    case DataType::kUInt64:
    case DataType::kUInt32: have = proto.uint64_data_size(); break;
    case DataType::kString: have = proto.string_data_size(); break;
    case DataType::kUndefined: return InvalidModel(what + ": undefined data type");
    default: have = proto.int32_data_size(); break;
  }
  if (have != want)
    return InvalidModel(what + ": has " + std::to_string(have) + " values, shape " +
                        shape.ToString() + " needs " + std::to_string(want));
  TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
  const char* w = what.c_str();
  switch (type) {
    case DataType::kFloat32:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.float_data(), n, t.data<float>(), w));
      break;
    case DataType::kFloat64:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.double_data(), n, t.data<double>(), w));
      break;
    case DataType::kInt64:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int64_data(), n, t.data<int64_t>(), w));
      break;
    case DataType::kUInt64:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.uint64_data(), n, t.data<uint64_t>(), w));
      break;
    case DataType::kUInt32:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.uint64_data(), n, t.data<uint32_t>(), w));
      break;
    case DataType::kInt32:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int32_data(), n, t.data<int32_t>(), w));
      break;
    case DataType::kInt16:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int32_data(), n, t.data<int16_t>(), w));
      break;
    case DataType::kUInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int32_data(), n, t.data<uint16_t>(), w));
      break;
    case DataType::kInt8:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int32_data(), n, t.data<int8_t>(), w));
      break;
    case DataType::kUInt8:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.int32_data(), n, t.data<uint8_t>(), w));
      break;
    case DataType::kBool:  // any non-zero value is true; store only 0 or 1
      for (int64_t i = 0; i < n; ++i)
        t.data<uint8_t>()[i] = proto.int32_data(static_cast<int>(i)) != 0 ? 1 : 0;
      break;
    case DataType::kComplex64:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.float_data(), 2 * n, t.data<float>(), w));
      break;
    case DataType::kComplex128:
      TERN_RETURN_IF_ERROR(CopyTyped(proto.double_data(), 2 * n, t.data<double>(), w));
      break;
    case DataType::kString: {
      if (proto.string_data_size() != n)
        return InvalidModel(what + ": has " + std::to_string(proto.string_data_size()) +
                            " strings, shape needs " + std::to_string(n));
      for (int64_t i = 0; i < n; ++i)
        t.data<std::string>()[i] = proto.string_data(static_cast<int>(i));
      break;
    }
    case DataType::kUndefined:
      return InvalidModel(what + ": undefined data type");
  }
  return t;
}

void TensorToProto(const Tensor& t, const std::string& name, ::onnx::TensorProto* proto) {
  proto->set_name(name);
  proto->set_data_type(static_cast<int32_t>(t.dtype()));
  for (size_t i = 0; i < t.rank(); ++i) proto->add_dims(t.dim(i));
  if (t.dtype() == DataType::kString) {
    for (int64_t i = 0; i < t.numel(); ++i) proto->add_string_data(t.data<std::string>()[i]);
  } else {
    proto->set_raw_data(t.raw(), t.nbytes());
  }
}

Result<Tensor> ParseTensor(const std::string& bytes) {
  auto proto = std::make_shared<::onnx::TensorProto>();
  if (!proto->ParseFromString(bytes)) return InvalidArgument("not a valid TensorProto");
  TensorSource source;
  source.keepalive = proto;
  return TensorFromProto(*proto, source);
}

namespace {

Result<Value> ValueFromSequence(const ::onnx::SequenceProto& seq) {
  if (seq.elem_type() != ::onnx::SequenceProto::TENSOR && seq.tensor_values_size() > 0)
    return NotImplemented("only sequences of tensors are supported");
  std::vector<Tensor> items;
  DataType elem = DataType::kUndefined;
  TensorSource source;
  for (const auto& tp : seq.tensor_values()) {
    TERN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(tp, source));
    elem = t.dtype();
    items.push_back(std::move(t));
  }
  return Value::Sequence(std::move(items), elem);
}

}  // namespace

Result<Value> ParseValue(const std::string& bytes, const ir::TypeInfo& type) {
  using Kind = ir::TypeInfo::Kind;
  if (type.kind == Kind::kSequence) {
    ::onnx::SequenceProto seq;
    if (!seq.ParseFromString(bytes)) return InvalidArgument("not a valid SequenceProto");
    TERN_ASSIGN_OR_RETURN(Value v, ValueFromSequence(seq));
    if (v.elem_type == DataType::kUndefined && type.inner) v.elem_type = type.inner->elem;
    return v;
  }
  if (type.kind == Kind::kOptional) {
    ::onnx::OptionalProto opt;
    if (!opt.ParseFromString(bytes)) return InvalidArgument("not a valid OptionalProto");
    Value v = Value::EmptyOptional();
    if (opt.has_tensor_value()) {
      TERN_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(opt.tensor_value(), TensorSource{}));
      v.kind = Value::Kind::kTensor;
      v.tensor = std::move(t);
    } else if (opt.has_sequence_value()) {
      TERN_ASSIGN_OR_RETURN(Value s, ValueFromSequence(opt.sequence_value()));
      s.optional = true;
      return s;
    }
    return v;
  }
  TERN_ASSIGN_OR_RETURN(Tensor t, ParseTensor(bytes));
  return Value(std::move(t));
}

Result<std::string> SerializeValue(const Value& value, const std::string& name, bool optional) {
  std::string out;
  if (optional) {
    ::onnx::OptionalProto opt;
    opt.set_name(name);
    if (value.is_tensor()) {
      opt.set_elem_type(::onnx::OptionalProto::TENSOR);
      TensorToProto(value.tensor, name, opt.mutable_tensor_value());
    } else if (value.is_sequence()) {
      opt.set_elem_type(::onnx::OptionalProto::SEQUENCE);
      auto* seq = opt.mutable_sequence_value();
      seq->set_elem_type(::onnx::SequenceProto::TENSOR);
      for (const auto& t : value.sequence) TensorToProto(t, "", seq->add_tensor_values());
    }
    opt.SerializeToString(&out);
    return out;
  }
  if (value.is_sequence()) {
    ::onnx::SequenceProto seq;
    seq.set_name(name);
    seq.set_elem_type(::onnx::SequenceProto::TENSOR);
    for (const auto& t : value.sequence) TensorToProto(t, "", seq.add_tensor_values());
    seq.SerializeToString(&out);
    return out;
  }
  if (!value.is_tensor()) return InvalidArgument("value '" + name + "' is empty");
  ::onnx::TensorProto proto;
  TensorToProto(value.tensor, name, &proto);
  proto.SerializeToString(&out);
  return out;
}

}  // namespace tern::onnx
