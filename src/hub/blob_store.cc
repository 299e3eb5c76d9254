#include "hub/blob_store.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/crypto.h"
#include "fleet/file_util.h"

namespace tern::hub {

Result<BlobStore> BlobStore::Open(const std::string& data_dir) {
  BlobStore b;
  b.blob_dir_ = data_dir + "/blobs/sha256";
  b.tmp_dir_ = data_dir + "/tmp";
  b.delta_dir_ = data_dir + "/deltas";
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(b.delta_dir_, 0700));
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(b.blob_dir_, 0755));
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(b.tmp_dir_, 0700));
  // Uploads interrupted by a crash leave files here; nothing refers to them.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(b.tmp_dir_, ec)) {
    std::filesystem::remove(e.path(), ec);
  }
  return b;
}

std::string BlobStore::NewTempPath() const {
  return tmp_dir_ + "/upload-" + fleet::RandomToken("").substr(0, 24);
}

std::string BlobStore::PathOf(const std::string& sha256) const { return blob_dir_ + "/" + sha256; }

bool BlobStore::Exists(const std::string& sha256) const {
  struct stat st {};
  return fleet::IsSha256Hex(sha256) && ::stat(PathOf(sha256).c_str(), &st) == 0;
}

Result<std::string> BlobStore::Commit(const std::string& temp_path,
                                      const std::string& expected_sha256, uint64_t* size) {
  TERN_ASSIGN_OR_RETURN(fleet::Sha256Digest digest, fleet::Sha256File(temp_path, size));
  std::string hex = fleet::HexEncode(digest);
  if (!expected_sha256.empty() && expected_sha256 != hex) {
    ::unlink(temp_path.c_str());
    return InvalidArgument("upload has sha256 " + hex + ", expected " + expected_sha256);
  }
  const std::string final_path = PathOf(hex);
  if (Exists(hex)) {
    ::unlink(temp_path.c_str());
    return hex;
  }
  int fd = ::open(temp_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot reopen upload: " + std::string(std::strerror(errno)));
  int rc = ::fsync(fd);
  ::fchmod(fd, 0644);
  ::close(fd);
  if (rc != 0) return IoError("fsync upload: " + std::string(std::strerror(errno)));
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return IoError("cannot move upload into place: " + std::string(std::strerror(errno)));
  }
  TERN_RETURN_IF_ERROR(fleet::FsyncDir(blob_dir_));
  return hex;
}

Result<std::shared_ptr<FileHandle>> BlobStore::Open(const std::string& sha256,
                                                    uint64_t* size) const {
  if (!fleet::IsSha256Hex(sha256)) return InvalidArgument("malformed sha256");
  int fd = ::open(PathOf(sha256).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("blob " + sha256 + " is missing");
  auto handle = std::make_shared<FileHandle>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("cannot stat blob " + sha256);
  *size = static_cast<uint64_t>(st.st_size);
  return handle;
}

std::string BlobStore::DeltaMarkerPath(const std::string& base, const std::string& target) const {
  return delta_dir_ + "/" + base + "-" + target;
}

}  // namespace tern::hub
