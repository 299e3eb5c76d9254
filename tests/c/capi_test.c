/* The C API exercised from C: load, inspect, run with caller memory, and the error paths. */
#include <stdio.h>
#include <string.h>

#include "tern/tern.h"

static int failures = 0;
#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              tern_last_error());                                \
      ++failures;                                                \
    }                                                            \
  } while (0)

int main(int argc, char** argv) {
  const char* model = argc > 1 ? argv[1] : "/usr/share/libonnx-testdata/data/node/test_add/model.onnx";
  tern_session* session = NULL;

  /* Errors are codes plus a message. */
  CHECK(tern_session_create("/nonexistent/model.onnx", NULL, &session) == TERN_IO_ERROR);
  CHECK(session == NULL);
  CHECK(strlen(tern_last_error()) > 0);
  CHECK(tern_session_create_from_memory("garbage", 7, NULL, &session) == TERN_INVALID_MODEL);

  tern_options* options = tern_options_create();
  CHECK(options != NULL);
  CHECK(tern_options_set_threads(options, 1) == TERN_OK);
  CHECK(tern_options_set_providers(options, "ref") == TERN_OK);
  CHECK(tern_options_set_threads(options, -3) == TERN_INVALID_ARGUMENT);
  CHECK(tern_session_create(model, options, &session) == TERN_OK);
  tern_options_destroy(options);
  if (!session) return 1;

  CHECK(tern_session_input_count(session) == 2);
  CHECK(tern_session_output_count(session) == 1);
  CHECK(strcmp(tern_session_input_name(session, 0), "x") == 0);
  CHECK(tern_session_input_name(session, 9) == NULL);
  tern_dtype dtype;
  int64_t rank;
  int64_t dims[8];
  CHECK(tern_session_input_info(session, 0, &dtype, &rank, dims, 8) == TERN_OK);
  CHECK(dtype == TERN_FLOAT32 && rank == 3 && dims[0] == 3 && dims[1] == 4 && dims[2] == 5);

  /* Inputs wrap caller memory. */
  float x[60], y[60];
  for (int i = 0; i < 60; ++i) {
    x[i] = (float)i;
    y[i] = 0.5f * (float)i;
  }
  int64_t shape[3] = {3, 4, 5};
  tern_tensor* inputs[2] = {NULL, NULL};
  CHECK(tern_tensor_wrap(TERN_FLOAT32, shape, 3, x, sizeof x, &inputs[0]) == TERN_OK);
  tern_tensor* rejected = NULL;
  CHECK(tern_tensor_wrap(TERN_FLOAT32, shape, 3, y, 7, &rejected) == TERN_INVALID_ARGUMENT);
  CHECK(rejected == NULL);
  CHECK(tern_tensor_wrap(TERN_FLOAT32, shape, 3, y, sizeof y, &inputs[1]) == TERN_OK);

  for (int run = 0; run < 3; ++run) {  /* repeated runs reuse the memory plan */
    tern_tensor* out = NULL;
    CHECK(tern_session_run(session, (const tern_tensor* const*)inputs, 2, &out, 1) == TERN_OK);
    if (!out) break;
    CHECK(tern_tensor_dtype(out) == TERN_FLOAT32);
    CHECK(tern_tensor_rank(out) == 3 && tern_tensor_dims(out)[2] == 5);
    CHECK(tern_tensor_bytes(out) == sizeof x);
    const float* o = (const float*)tern_tensor_data(out);
    for (int i = 0; i < 60; ++i) CHECK(o[i] == 1.5f * (float)i);
    tern_tensor_destroy(out);
  }

  /* A wrong shape is refused with a message naming the input. */
  int64_t bad_shape[3] = {3, 4, 4};
  tern_tensor* bad = NULL;
  CHECK(tern_tensor_create(TERN_FLOAT32, bad_shape, 3, &bad) == TERN_OK);
  const tern_tensor* bad_inputs[2] = {bad, inputs[1]};
  tern_tensor* out = NULL;
  CHECK(tern_session_run(session, bad_inputs, 2, &out, 1) == TERN_INVALID_ARGUMENT);
  CHECK(strstr(tern_last_error(), "'x'") != NULL);
  CHECK(out == NULL);
  CHECK(tern_session_run(session, bad_inputs, 1, &out, 1) == TERN_INVALID_ARGUMENT);

  tern_tensor_destroy(bad);
  tern_tensor_destroy(inputs[0]);
  tern_tensor_destroy(inputs[1]);
  tern_session_destroy(session);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("capi_test: all checks passed\n");
  return failures ? 1 : 0;
}
