// The body of the hub's request fuzz target, shared by the libFuzzer binary
// (tests/fuzz/fuzz_hub_request.cc) and the corpus replay test (tests/hub/hub_fuzz_replay_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::fuzz {

/// Feeds one request to an in-process hub (a SQLite store in a temporary folder, made at the
/// first call, with a published model, a device and a rollout) through exactly the path the
/// HTTP server takes after Beast has framed it: ParseTarget, HubApi::Admit, the body plan (memory
/// or file, with its size limit) and HubApi::Handle.
///
/// Input: "METHOD TARGET\n", header lines "Name: value\n", an empty line, then the body. In
/// header values, $ADMIN, $DEVICE and $ENROLL become real tokens so the fuzzer reaches the
/// authenticated handlers. Any answer is fine; crashes, sanitizer reports, hangs and 5xx
/// answers other than 503 are bugs (a 5xx aborts).
void FuzzHubRequest(const uint8_t* data, size_t size);

}  // namespace tern::fuzz
