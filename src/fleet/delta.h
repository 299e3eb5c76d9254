// Delta updates: a zstd patch of a new model file against the previous one ("--patch-from":
// the old file is the compression prefix, so unchanged runs of bytes cost almost nothing).
// The hub makes patches (and stores them as ordinary content-addressed blobs); the agent applies
// them to the file it already holds and checks the result's size and SHA-256 before using it.
#pragma once

#include <cstdint>
#include <string>

#include "tern/status.h"

namespace tern::fleet {

/// Largest file a delta is made for or applied to (both sides hold base and target in memory).
inline constexpr uint64_t kMaxDeltaFileBytes = uint64_t{512} << 20;

/// The zstd patch turning `base` into `target` (compression level `level`).
Result<std::string> MakeDelta(const std::string& base, const std::string& target, int level = 12);

/// Applies `patch` to `base`. The result must be exactly `expected_size` bytes (a patch that
/// decodes to more or less is refused, so a hostile patch cannot exhaust memory).
Result<std::string> ApplyDelta(const std::string& base, const std::string& patch,
                               uint64_t expected_size);

}  // namespace tern::fleet
