// Content-addressed files: DATA/blobs/sha256/<hex>. A blob arrives as a temporary file under
// DATA/tmp, is hashed, fsynced and renamed into place (then the folder is fsynced), so a blob
// path either does not exist or holds exactly the bytes its name says. Blobs never change.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hub/http_types.h"
#include "tern/status.h"

namespace tern::hub {

class BlobStore {
 public:
  /// Creates the folders under `data_dir` and clears leftovers in its tmp folder.
  static Result<BlobStore> Open(const std::string& data_dir);

  /// A fresh path under DATA/tmp for an upload.
  std::string NewTempPath() const;
  /// Hashes `temp_path`, checks `expected_sha256` when not empty, and moves it into place
  /// (removing it instead when that blob exists already). Returns the hash; `size` gets the size.
  Result<std::string> Commit(const std::string& temp_path, const std::string& expected_sha256,
                             uint64_t* size);
  /// Opens a blob for reading; NotFound-style IoError when it is missing. `size` gets its size.
  Result<std::shared_ptr<FileHandle>> Open(const std::string& sha256, uint64_t* size) const;
  bool Exists(const std::string& sha256) const;
  std::string PathOf(const std::string& sha256) const;
  /// DATA/deltas/BASE-TARGET: which blob holds the patch from base to target ("none": no
  /// smaller patch exists).
  std::string DeltaMarkerPath(const std::string& base, const std::string& target) const;

 private:
  std::string blob_dir_;
  std::string tmp_dir_;
  std::string delta_dir_;
};

}  // namespace tern::hub
