// Replays every file of tests/fuzz/corpus/ through the fuzz targets' bodies (tests/fuzz/
// fuzz_bodies.cc): seeds and the crashers the fuzzer found must load or fail cleanly, without
// crashing, leaking (under the debug preset's ASan) or hanging.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_bodies.h"

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> CorpusFiles(const char* sub) {
  std::vector<fs::path> files;
  fs::path dir = fs::path(TERN_FUZZ_CORPUS_DIR) / sub;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FuzzCorpus, ModelLoad) {
  tern::fuzz::ScopedFuzzLimits limits;
  auto files = CorpusFiles("model");
  ASSERT_GE(files.size(), 10u) << "no model corpus under " << TERN_FUZZ_CORPUS_DIR;
  int loaded = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::string bytes = ReadAll(f);
    loaded += tern::fuzz::FuzzModelLoad(reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  }
  // The valid seeds must keep loading: the fuzzer needs them to reach the executor.
  EXPECT_GE(loaded, 5);
}

TEST(FuzzCorpus, TensorProto) {
  tern::fuzz::ScopedFuzzLimits limits;
  auto files = CorpusFiles("tensor");
  ASSERT_GE(files.size(), 5u) << "no tensor corpus under " << TERN_FUZZ_CORPUS_DIR;
  int decoded = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f.filename().string());
    std::string bytes = ReadAll(f);
    decoded += tern::fuzz::FuzzTensorProto(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size());
  }
  EXPECT_GE(decoded, 5);
}

}  // namespace
