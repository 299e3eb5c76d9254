// The C API: thin wrappers that turn Status into tern_status plus a thread-local message and
// never let a C++ exception cross the boundary.
#include "tern/tern.h"

#include <new>
#include <sstream>
#include <string>

#include "tern/session.h"

struct tern_options {
  tern::SessionOptions options;
};
struct tern_session {
  std::unique_ptr<tern::Session> session;
};
struct tern_tensor {
  tern::Tensor tensor;
  std::vector<int64_t> dims;
};

namespace {

thread_local std::string t_last_error;

tern_status Fail(const tern::Status& s) {
  t_last_error = s.message();
  return static_cast<tern_status>(static_cast<int>(s.code()));
}

tern_status Fail(tern_status code, const char* message) {
  t_last_error = message;
  return code;
}

template <typename Fn>
tern_status Guard(Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(TERN_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception& e) {
    return Fail(TERN_INTERNAL, e.what());
  } catch (...) {
    return Fail(TERN_INTERNAL, "unknown error");
  }
}

bool ValidDtype(tern_dtype d) {
  return tern::IsValidDataType(static_cast<int32_t>(d)) && d != 8 && d != 14 && d != 15;
}

tern_status InfoOf(const tern::IoInfo& io, tern_dtype* dtype, int64_t* rank, int64_t* dims,
                   size_t cap) {
  if (dtype) *dtype = static_cast<tern_dtype>(static_cast<int32_t>(io.dtype));
  if (rank) *rank = io.has_shape ? static_cast<int64_t>(io.dims.size()) : -1;
  if (dims)
    for (size_t i = 0; i < io.dims.size() && i < cap; ++i) dims[i] = io.dims[i];
  return TERN_OK;
}

}  // namespace

extern "C" {

const char* tern_version(void) { return "0.1.0"; }
const char* tern_last_error(void) { return t_last_error.c_str(); }
const char* tern_status_name(tern_status status) {
  return tern::StatusCodeName(static_cast<tern::StatusCode>(status));
}

tern_options* tern_options_create(void) { return new (std::nothrow) tern_options(); }
void tern_options_destroy(tern_options* options) { delete options; }

tern_status tern_options_set_threads(tern_options* options, int threads) {
  if (!options || threads < 0 || threads > 256)
    return Fail(TERN_INVALID_ARGUMENT, "threads must be in [0, 256]");
  options->options.threads = threads;
  return TERN_OK;
}

tern_status tern_options_set_providers(tern_options* options, const char* providers) {
  if (!options || !providers) return Fail(TERN_INVALID_ARGUMENT, "null argument");
  return Guard([&] {
    std::vector<std::string> list;
    std::stringstream ss(providers);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) list.push_back(item);
    if (list.empty()) return Fail(TERN_INVALID_ARGUMENT, "no providers given");
    options->options.providers = list;
    return TERN_OK;
  });
}

tern_status tern_options_set_strict(tern_options* options, int strict) {
  if (!options) return Fail(TERN_INVALID_ARGUMENT, "null options");
  options->options.strict = strict != 0;
  return TERN_OK;
}

tern_status tern_session_create(const char* path, const tern_options* options,
                                tern_session** out) {
  if (!path || !out) return Fail(TERN_INVALID_ARGUMENT, "null argument");
  *out = nullptr;
  return Guard([&] {
    auto s = tern::Session::Load(path, options ? options->options : tern::SessionOptions());
    if (!s.ok()) return Fail(s.status());
    *out = new tern_session{std::move(s).value()};
    return TERN_OK;
  });
}

tern_status tern_session_create_from_memory(const void* data, size_t size,
                                            const tern_options* options, tern_session** out) {
  if (!data || !out) return Fail(TERN_INVALID_ARGUMENT, "null argument");
  *out = nullptr;
  return Guard([&] {
    auto s = tern::Session::LoadFromMemory(data, size,
                                           options ? options->options : tern::SessionOptions());
    if (!s.ok()) return Fail(s.status());
    *out = new tern_session{std::move(s).value()};
    return TERN_OK;
  });
}

void tern_session_destroy(tern_session* session) { delete session; }

size_t tern_session_input_count(const tern_session* s) {
  return s ? s->session->inputs().size() : 0;
}
size_t tern_session_output_count(const tern_session* s) {
  return s ? s->session->outputs().size() : 0;
}
const char* tern_session_input_name(const tern_session* s, size_t i) {
  return s && i < s->session->inputs().size() ? s->session->inputs()[i].name.c_str() : nullptr;
}
const char* tern_session_output_name(const tern_session* s, size_t i) {
  return s && i < s->session->outputs().size() ? s->session->outputs()[i].name.c_str() : nullptr;
}

tern_status tern_session_input_info(const tern_session* s, size_t i, tern_dtype* dtype,
                                    int64_t* rank, int64_t* dims, size_t cap) {
  if (!s || i >= s->session->inputs().size())
    return Fail(TERN_OUT_OF_RANGE, "input index out of range");
  return InfoOf(s->session->inputs()[i], dtype, rank, dims, cap);
}

tern_status tern_session_output_info(const tern_session* s, size_t i, tern_dtype* dtype,
                                     int64_t* rank, int64_t* dims, size_t cap) {
  if (!s || i >= s->session->outputs().size())
    return Fail(TERN_OUT_OF_RANGE, "output index out of range");
  return InfoOf(s->session->outputs()[i], dtype, rank, dims, cap);
}

tern_status tern_session_run(const tern_session* s, const tern_tensor* const* inputs,
                             size_t input_count, tern_tensor** outputs, size_t output_count) {
  if (!s || (input_count && !inputs) || (output_count && !outputs))
    return Fail(TERN_INVALID_ARGUMENT, "null argument");
  if (output_count != s->session->outputs().size())
    return Fail(TERN_INVALID_ARGUMENT, "output_count does not match the model's outputs");
  for (size_t j = 0; j < output_count; ++j) outputs[j] = nullptr;
  return Guard([&] {
    std::vector<tern::Value> in;
    in.reserve(input_count);
    for (size_t i = 0; i < input_count; ++i) {
      if (!inputs[i]) return Fail(TERN_INVALID_ARGUMENT, "null input tensor");
      in.emplace_back(inputs[i]->tensor);
    }
    std::vector<tern::Value> out;
    tern::Status st = s->session->Run(in, &out);
    if (!st.ok()) return Fail(st);
    for (size_t j = 0; j < out.size(); ++j) {
      if (!out[j].is_tensor()) {
        for (size_t k = 0; k < j; ++k) {
          delete outputs[k];
          outputs[k] = nullptr;
        }
        return Fail(TERN_NOT_IMPLEMENTED, "output is not a tensor (sequences need the C++ API)");
      }
      auto* t = new tern_tensor{out[j].tensor, out[j].tensor.shape().ToVector()};
      outputs[j] = t;
    }
    return TERN_OK;
  });
}

uint64_t tern_session_arena_bytes(const tern_session* s) {
  return s ? s->session->peak_arena_bytes() : 0;
}

tern_status tern_tensor_create(tern_dtype dtype, const int64_t* dims, size_t rank,
                               tern_tensor** out) {
  if (!out || (rank && !dims) || !ValidDtype(dtype))
    return Fail(TERN_INVALID_ARGUMENT, "bad tensor arguments");
  *out = nullptr;
  return Guard([&] {
    tern::Shape shape(dims, rank);
    auto t = tern::Tensor::Allocate(static_cast<tern::DataType>(dtype), shape);
    if (!t.ok()) return Fail(t.status());
    *out = new tern_tensor{std::move(t).value(), shape.ToVector()};
    return TERN_OK;
  });
}

tern_status tern_tensor_wrap(tern_dtype dtype, const int64_t* dims, size_t rank, void* data,
                             size_t bytes, tern_tensor** out) {
  if (!out || (rank && !dims) || !ValidDtype(dtype))
    return Fail(TERN_INVALID_ARGUMENT, "bad tensor arguments");
  *out = nullptr;
  return Guard([&] {
    tern::Shape shape(dims, rank);
    auto type = static_cast<tern::DataType>(dtype);
    tern::Status st = tern::CheckShape(shape, type, "tensor");
    if (!st.ok()) return Fail(st);
    size_t need = static_cast<size_t>(shape.NumElements()) * tern::DataTypeSize(type);
    if (bytes != need)
      return Fail(TERN_INVALID_ARGUMENT, "byte size does not match the shape and type");
    if (need && !data) return Fail(TERN_INVALID_ARGUMENT, "null data");
    *out = new tern_tensor{tern::Tensor::Wrap(type, shape, data), shape.ToVector()};
    return TERN_OK;
  });
}

void tern_tensor_destroy(tern_tensor* t) { delete t; }
tern_dtype tern_tensor_dtype(const tern_tensor* t) {
  return t ? static_cast<tern_dtype>(static_cast<int32_t>(t->tensor.dtype())) : TERN_UNDEFINED;
}
size_t tern_tensor_rank(const tern_tensor* t) { return t ? t->dims.size() : 0; }
const int64_t* tern_tensor_dims(const tern_tensor* t) { return t ? t->dims.data() : nullptr; }
void* tern_tensor_data(tern_tensor* t) { return t ? t->tensor.raw() : nullptr; }
size_t tern_tensor_bytes(const tern_tensor* t) { return t ? t->tensor.nbytes() : 0; }

}  // extern "C"
