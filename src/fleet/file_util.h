// Small POSIX file helpers with crash-safe writes: data goes to a temporary file in the same
// folder, is fsynced, renamed over the target, and the folder is fsynced so the rename survives
// a power cut.
#pragma once

#include <string>
#include <string_view>

#include <sys/types.h>

#include "tern/status.h"

namespace tern::fleet {

/// Atomically replaces (or creates) `path` with `data`, file mode `mode`.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);
/// Like WriteFileAtomic but fails with FailedPrecondition when `path` already exists.
Status WriteFileExclusive(const std::string& path, std::string_view data, mode_t mode);
/// Reads a whole file, refusing files larger than `max_size`.
Result<std::string> ReadFile(const std::string& path, size_t max_size = 64u << 20);
/// fsync on a folder, so renames and creations inside it are durable.
Status FsyncDir(const std::string& dir);
/// mkdir -p with `mode` for the folders it creates.
Status MakeDirs(const std::string& dir, mode_t mode = 0755);
/// The folder part of a path ("." when there is none).
std::string DirName(const std::string& path);

}  // namespace tern::fleet
