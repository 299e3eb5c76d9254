// libFuzzer target: arbitrary bytes as an ONNX model, loaded and (if it loads) run once or twice
// on small zero inputs. See tests/fuzz/README.md for how to build and run it.
#include <cstddef>
#include <cstdint>

#include "fuzz_bodies.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static tern::fuzz::ScopedFuzzLimits limits;  // for the whole process
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tern::fuzz::FuzzModelLoad(data, size);
  return 0;
}
