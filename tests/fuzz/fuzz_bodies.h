// The bodies of Tern's fuzz targets, shared by the libFuzzer binaries (tests/fuzz/) and by the
// corpus replay test (tests/unit/fuzz_corpus_test.cc), so that every corpus file is checked in the
// normal test suite through exactly the code the fuzzer ran.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::fuzz {

/// The per-tensor byte limit the fuzz bodies run under (keeps a run fast and well under the
/// fuzzer's -malloc_limit_mb).
constexpr uint64_t kFuzzMaxTensorBytes = uint64_t{16} << 20;
/// Largest generated input tensor; models that declare bigger inputs are loaded but not run.
constexpr uint64_t kFuzzMaxInputBytes = uint64_t{1} << 20;

/// Sets the process-wide limits for fuzzing while alive and restores them after.
class ScopedFuzzLimits {
 public:
  ScopedFuzzLimits();
  ~ScopedFuzzLimits();
  ScopedFuzzLimits(const ScopedFuzzLimits&) = delete;
  ScopedFuzzLimits& operator=(const ScopedFuzzLimits&) = delete;

 private:
  uint64_t saved_;
};

/// Loads `data` with Session::LoadFromMemory; if it loads, runs it on zero inputs of the declared
/// shapes (unknown dims = 1) twice (the second run takes the cached memory plan). Never fails:
/// errors are expected, only crashes, leaks and hangs are bugs. Returns true if the model loaded.
bool FuzzModelLoad(const uint8_t* data, size_t size);

/// Decodes `data` with onnx::ParseTensor and ParseValue (tensor, sequence, optional) and
/// round-trips what decodes through SerializeValue. Returns true if any decoding succeeded.
bool FuzzTensorProto(const uint8_t* data, size_t size);

}  // namespace tern::fuzz
