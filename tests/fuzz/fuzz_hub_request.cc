// libFuzzer target: one request to an in-process tern-hub (see fuzz_hub_body.h).
#include "fuzz_hub_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tern::fuzz::FuzzHubRequest(data, size);
  return 0;
}
