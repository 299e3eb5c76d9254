#include "fleet/file_util.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleet/crypto.h"

namespace tern::fleet {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return IoError(what + " " + path + ": " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteTemp(const std::string& path, std::string_view data, mode_t mode, std::string* tmp) {
  *tmp = path + ".tmp-" + RandomToken("").substr(0, 16);
  int fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create", *tmp);
  Status st = WriteAll(fd, data, *tmp);
  // The umask may have narrowed the mode; set it exactly (matters for 0600 key files only in
  // the other direction, but be explicit either way).
  if (st.ok() && ::fchmod(fd, mode) != 0) st = Errno("chmod", *tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync", *tmp);
  if (::close(fd) != 0 && st.ok()) st = Errno("close", *tmp);
  if (!st.ok()) ::unlink(tmp->c_str());
  return st;
}

}  // namespace

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open folder", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync folder", dir);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp;
  TERN_RETURN_IF_ERROR(WriteTemp(path, data, mode, &tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = Errno("rename to", path);
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(DirName(path));
}

Status WriteFileExclusive(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp;
  TERN_RETURN_IF_ERROR(WriteTemp(path, data, mode, &tmp));
  // link() fails with EEXIST instead of replacing, which rename() would do.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    if (err == EEXIST) {
      return Status(StatusCode::kFailedPrecondition, "refusing to overwrite " + path);
    }
    errno = err;
    return Errno("link", path);
  }
  ::unlink(tmp.c_str());
  return FsyncDir(DirName(path));
}

Result<std::string> ReadFile(const std::string& path, size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Errno("read", path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_size) {
      ::close(fd);
      return ResourceExhausted(path + " is larger than " + std::to_string(max_size) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty()) return Status::Ok();
  std::string partial;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t next = dir.find('/', pos);
    if (next == std::string::npos) next = dir.size();
    partial = dir.substr(0, next);
    pos = next + 1;
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) return Errno("mkdir", partial);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return IoError(dir + " is not a folder");
  }
  return Status::Ok();
}

}  // namespace tern::fleet
