// Replays the hub request fuzz corpus (tests/fuzz/corpus/hub_request) through the fuzz target's
// body, so that every input the fuzzer kept is checked in the normal suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz_hub_body.h"

namespace {

TEST(HubFuzzReplay, CorpusRunsClean) {
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(TERN_HUB_FUZZ_CORPUS)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(e.path().string());
    tern::fuzz::FuzzHubRequest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++files;
  }
  EXPECT_GE(files, 20) << "the seed corpus is missing";
}

}  // namespace
