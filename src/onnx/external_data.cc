// External tensor data: the file must sit inside the model's folder (no absolute paths, no "..",
// no symlink escapes); the bytes are mapped read-only and used in place.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "onnx/onnx_internal.h"

namespace tern::onnx {

namespace {
struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr && addr != MAP_FAILED) munmap(addr, size);
  }
};
}  // namespace

Result<Tensor> LoadExternal(const ::onnx::TensorProto& proto, DataType type, const Shape& shape,
                            const TensorSource& source) {
  const std::string what = "tensor '" + proto.name() + "'";
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : proto.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (...) {
      return InvalidModel(what + ": bad external_data value for '" + kv.key() + "'");
    }
  }
  if (source.model_dir.empty())
    return InvalidModel(what + ": external data needs a model loaded from a file");
  if (location.empty()) return InvalidModel(what + ": external data without a location");
  if (location[0] == '/' || location.find("..") != std::string::npos ||
      location.find('\0') != std::string::npos)
    return InvalidModel(what + ": external data location '" + location +
                        "' must be a plain path inside the model's folder");
  char dir_real[PATH_MAX];
  char file_real[PATH_MAX];
  std::string path = source.model_dir + "/" + location;
  if (!realpath(source.model_dir.c_str(), dir_real) || !realpath(path.c_str(), file_real))
    return IoError(what + ": cannot find external data file '" + location + "'");
  std::string dir_s(dir_real);
  std::string file_s(file_real);
  if (file_s.compare(0, dir_s.size() + 1, dir_s + "/") != 0)
    return InvalidModel(what + ": external data file '" + location + "' is outside the model's folder");
  // O_NONBLOCK: opening a FIFO planted in the model's folder must not hang the load.
  int fd = open(file_real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return IoError(what + ": cannot open '" + location + "'");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return IoError(what + ": '" + location + "' is not a regular file");
  }
  const uint64_t need = static_cast<uint64_t>(shape.NumElements()) * DataTypeSize(type);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (offset < 0 || static_cast<uint64_t>(offset) > file_size ||
      (length >= 0 && static_cast<uint64_t>(length) != need) ||
      need > file_size - static_cast<uint64_t>(offset)) {
    close(fd);
    return InvalidModel(what + ": external data range (offset " + std::to_string(offset) +
                        ", " + std::to_string(need) + " bytes) does not fit '" + location + "'");
  }
  if (need == 0) {
    close(fd);
    return Tensor::Allocate(type, shape);
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(file_size);
  mapping->addr = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapping->addr == MAP_FAILED) return IoError(what + ": cannot map '" + location + "'");
  char* base = static_cast<char*>(mapping->addr) + offset;
  if (source.mappings) source.mappings->push_back(mapping);
  if (reinterpret_cast<uintptr_t>(base) % 16 != 0) {
    Tensor src = Tensor::Wrap(type, shape, base);
    return src.Clone();
  }
  return Tensor::WrapShared(type, shape, base, mapping);
}

}  // namespace tern::onnx
