/* libtern C API: a stable ABI over tern::Session.
 *
 * Every call that can fail returns a tern_status; on failure tern_last_error() gives a message
 * for the calling thread. Objects are opaque; each *_create has a matching *_destroy. Nothing
 * here throws, aborts, or keeps pointers to caller memory beyond what the docs say. */
#ifndef TERN_TERN_H_
#define TERN_TERN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_API_VERSION 1

/** Result codes; stable numbers. */
typedef enum tern_status {
  TERN_OK = 0,
  TERN_INVALID_ARGUMENT = 1,
  TERN_INVALID_MODEL = 2,
  TERN_NOT_IMPLEMENTED = 3,
  TERN_OUT_OF_RANGE = 4,
  TERN_RESOURCE_EXHAUSTED = 5,
  TERN_IO_ERROR = 6,
  TERN_INTERNAL = 7,
  TERN_FAILED_PRECONDITION = 8
} tern_status;

/** Element types; the numbers are ONNX's. */
typedef enum tern_dtype {
  TERN_UNDEFINED = 0,
  TERN_FLOAT32 = 1,
  TERN_UINT8 = 2,
  TERN_INT8 = 3,
  TERN_UINT16 = 4,
  TERN_INT16 = 5,
  TERN_INT32 = 6,
  TERN_INT64 = 7,
  TERN_BOOL = 9,
  TERN_FLOAT16 = 10,
  TERN_FLOAT64 = 11,
  TERN_UINT32 = 12,
  TERN_UINT64 = 13,
  TERN_BFLOAT16 = 16
} tern_dtype;

typedef struct tern_options tern_options;
typedef struct tern_session tern_session;
typedef struct tern_tensor tern_tensor;

/** "0.1.0" */
const char* tern_version(void);
/** The message of the last failed call on this thread ("" if none). */
const char* tern_last_error(void);
/** "InvalidModel", ... */
const char* tern_status_name(tern_status status);

tern_options* tern_options_create(void);
void tern_options_destroy(tern_options* options);
/** Intra-op threads; 0 picks the number of cores. */
tern_status tern_options_set_threads(tern_options* options, int threads);
/** Comma-separated provider names in order of preference, e.g. "cpu,ref". */
tern_status tern_options_set_providers(tern_options* options, const char* providers);
/** Nonzero: fail at load when a node cannot run on the first provider. */
tern_status tern_options_set_strict(tern_options* options, int strict);

/** Loads a model file. `options` may be NULL. */
tern_status tern_session_create(const char* path, const tern_options* options,
                                tern_session** out);
/** Loads a model from memory (copied as needed; `data` may be freed afterwards). */
tern_status tern_session_create_from_memory(const void* data, size_t size,
                                            const tern_options* options, tern_session** out);
void tern_session_destroy(tern_session* session);

size_t tern_session_input_count(const tern_session* session);
size_t tern_session_output_count(const tern_session* session);
/** Name of input/output i, valid while the session lives; NULL when out of range. */
const char* tern_session_input_name(const tern_session* session, size_t index);
const char* tern_session_output_name(const tern_session* session, size_t index);
/** Declared type and shape of input i; dims gets up to dims_capacity entries, -1 when unknown;
 *  *rank is the full rank (-1 when the shape is not declared). */
tern_status tern_session_input_info(const tern_session* session, size_t index, tern_dtype* dtype,
                                    int64_t* rank, int64_t* dims, size_t dims_capacity);
tern_status tern_session_output_info(const tern_session* session, size_t index,
                                     tern_dtype* dtype, int64_t* rank, int64_t* dims,
                                     size_t dims_capacity);

/** Runs the session. inputs[i] follows the model's input order; on success outputs[j] receives
 *  a new tensor for each of the model's outputs (caller destroys them). Thread-safe. */
tern_status tern_session_run(const tern_session* session, const tern_tensor* const* inputs,
                             size_t input_count, tern_tensor** outputs, size_t output_count);
/** Peak arena bytes of the memory plans made so far. */
uint64_t tern_session_arena_bytes(const tern_session* session);

/** A new zero-filled tensor that owns its memory. */
tern_status tern_tensor_create(tern_dtype dtype, const int64_t* dims, size_t rank,
                               tern_tensor** out);
/** A tensor over caller memory (`bytes` must match the shape); the caller keeps `data` alive and
 *  unchanged while the tensor is used by a run. No copy is made. */
tern_status tern_tensor_wrap(tern_dtype dtype, const int64_t* dims, size_t rank, void* data,
                             size_t bytes, tern_tensor** out);
void tern_tensor_destroy(tern_tensor* tensor);
tern_dtype tern_tensor_dtype(const tern_tensor* tensor);
size_t tern_tensor_rank(const tern_tensor* tensor);
/** Pointer to `rank` dims, valid while the tensor lives. */
const int64_t* tern_tensor_dims(const tern_tensor* tensor);
void* tern_tensor_data(tern_tensor* tensor);
size_t tern_tensor_bytes(const tern_tensor* tensor);

#ifdef __cplusplus
}
#endif

#endif /* TERN_TERN_H_ */
