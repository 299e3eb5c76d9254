#include "train/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "onnx/onnx_import.h"

namespace tern::train {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxExampleFile = uint64_t{1} << 30;

// Concatenates tensors along dim 0 (all with the same type and trailing shape).
Result<Tensor> ConcatRows(const std::vector<Tensor>& parts, const char* what) {
  if (parts.empty()) return InvalidArgument(std::string("no ") + what);
  const Tensor& first = parts[0];
  if (first.rank() == 0) return InvalidArgument(std::string(what) + " must have a batch dim");
  Shape shape = first.shape();
  int64_t rows = 0;
  for (const Tensor& t : parts) {
    bool same = t.dtype() == first.dtype() && t.rank() == first.rank();
    for (size_t d = 1; same && d < t.rank(); ++d) same = t.dim(d) == first.dim(d);
    if (!same || t.dtype() == DataType::kString)
      return InvalidArgument(std::string(what) + ": " + t.shape().ToString() + " does not match " +
                             first.shape().ToString());
    rows += t.dim(0);
  }
  shape[0] = rows;
  TERN_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(first.dtype(), shape));
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (const Tensor& t : parts) {
    if (t.nbytes()) std::memcpy(dst, t.raw(), t.nbytes());
    dst += t.nbytes();
  }
  return out;
}

Result<std::string> ReadMaybeGz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return IoError("cannot open '" + path + "'");
  std::string data;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) {
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxExampleFile) break;
  }
  const bool failed = n < 0 || data.size() > kMaxExampleFile;
  gzclose(f);
  if (failed) return InvalidArgument("'" + path + "' is unreadable or larger than 1 GiB");
  return data;
}

uint32_t BigEndian32(const std::string& s, size_t off) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data() + off);
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// An idx file of unsigned bytes: magic 0x0000 08 <rank>, then rank big-endian u32 dims.
Result<std::vector<int64_t>> IdxHeader(const std::string& s, const std::string& path, size_t rank) {
  if (s.size() < 4 + 4 * rank || BigEndian32(s, 0) != (0x0800u | static_cast<uint32_t>(rank)))
    return InvalidArgument("'" + path + "' is not a rank-" + std::to_string(rank) +
                           " idx file of unsigned bytes");
  std::vector<int64_t> dims;
  uint64_t total = 1;
  for (size_t i = 0; i < rank; ++i) {
    dims.push_back(BigEndian32(s, 4 + 4 * i));
    total *= static_cast<uint64_t>(dims.back());
  }
  if (s.size() != 4 + 4 * rank + total)
    return InvalidArgument("'" + path + "': size does not match its header");
  return dims;
}

std::string FindIdx(const std::string& dir, const std::string& stem) {
  for (const char* ext : {"", ".gz"})
    if (fs::exists(dir + "/" + stem + ext)) return dir + "/" + stem + ext;
  return dir + "/" + stem + ".gz";
}

}  // namespace

Result<Dataset> LoadExampleFolders(const std::string& dir) {
  std::vector<fs::path> cases;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      cases.push_back(e.path());
  if (ec) return IoError("cannot list '" + dir + "': " + ec.message());
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) return InvalidArgument("'" + dir + "' has no test_data_set_* folders");
  std::vector<Tensor> xs, ys;
  for (const auto& c : cases) {
    const std::string in = (c / "input_0.pb").string();
    std::string label = (c / "input_1.pb").string();
    if (!fs::exists(label)) label = (c / "output_0.pb").string();
    TERN_ASSIGN_OR_RETURN(std::string xb, onnx::ReadFile(in, kMaxExampleFile));
    TERN_ASSIGN_OR_RETURN(std::string yb, onnx::ReadFile(label, kMaxExampleFile));
    auto x = onnx::ParseTensor(xb);
    if (!x.ok()) return x.status().WithContext(in);
    auto y = onnx::ParseTensor(yb);
    if (!y.ok()) return y.status().WithContext(label);
    if (x.value().rank() == 0 || y.value().rank() == 0 || x.value().dim(0) != y.value().dim(0))
      return InvalidArgument(c.string() + ": input " + x.value().shape().ToString() +
                             " and label " + y.value().shape().ToString() +
                             " need the same batch dim 0");
    xs.push_back(std::move(x).value());
    ys.push_back(std::move(y).value());
  }
  Dataset d;
  TERN_ASSIGN_OR_RETURN(d.inputs, ConcatRows(xs, "inputs"));
  TERN_ASSIGN_OR_RETURN(d.labels, ConcatRows(ys, "labels"));
  return d;
}

Result<Dataset> LoadIdxDataset(const std::string& dir, const std::string& split, int64_t limit) {
  const std::string ipath = FindIdx(dir, split + "-images-idx3-ubyte");
  const std::string lpath = FindIdx(dir, split + "-labels-idx1-ubyte");
  TERN_ASSIGN_OR_RETURN(std::string images, ReadMaybeGz(ipath));
  TERN_ASSIGN_OR_RETURN(std::string labels, ReadMaybeGz(lpath));
  TERN_ASSIGN_OR_RETURN(std::vector<int64_t> idims, IdxHeader(images, ipath, 3));
  TERN_ASSIGN_OR_RETURN(std::vector<int64_t> ldims, IdxHeader(labels, lpath, 1));
  if (idims[0] != ldims[0])
    return InvalidArgument(ipath + " and " + lpath + " hold different numbers of examples");
  int64_t n = idims[0];
  if (limit > 0) n = std::min(n, limit);
  Dataset d;
  TERN_ASSIGN_OR_RETURN(d.inputs,
                        Tensor::Allocate(DataType::kFloat32, Shape{n, 1, idims[1], idims[2]}));
  TERN_ASSIGN_OR_RETURN(d.labels, Tensor::Allocate(DataType::kInt64, Shape{n}));
  const auto* px = reinterpret_cast<const uint8_t*>(images.data() + 16);
  const auto* py = reinterpret_cast<const uint8_t*>(labels.data() + 8);
  for (int64_t i = 0; i < d.inputs.numel(); ++i) d.inputs.data<float>()[i] = px[i] / 255.0f;
  for (int64_t i = 0; i < n; ++i) d.labels.data<int64_t>()[i] = py[i];
  return d;
}

Result<Batcher> Batcher::Create(const Dataset& data, int64_t batch) {
  if (batch <= 0) return InvalidArgument("batch size must be positive");
  Batcher b;
  b.batch_ = batch;
  Shape xs = data.inputs.shape(), ys = data.labels.shape();
  xs[0] = batch;
  ys[0] = batch;
  TERN_ASSIGN_OR_RETURN(b.x_, Tensor::Allocate(data.inputs.dtype(), xs));
  TERN_ASSIGN_OR_RETURN(b.y_, Tensor::Allocate(data.labels.dtype(), ys));
  return b;
}

Status Batcher::Fill(const Dataset& data, const std::vector<int64_t>& order, int64_t start,
                     int64_t n, Tensor* x, Tensor* y) {
  if (n <= 0 || n > batch_ || start < 0 || start + n > static_cast<int64_t>(order.size()))
    return InvalidArgument("batch range out of bounds");
  const size_t xrow = data.inputs.nbytes() / static_cast<size_t>(data.size());
  const size_t yrow = data.labels.nbytes() / static_cast<size_t>(data.size());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = order[start + i];
    std::memcpy(static_cast<uint8_t*>(x_.raw()) + i * xrow,
                static_cast<const uint8_t*>(data.inputs.raw()) + k * xrow, xrow);
    std::memcpy(static_cast<uint8_t*>(y_.raw()) + i * yrow,
                static_cast<const uint8_t*>(data.labels.raw()) + k * yrow, yrow);
  }
  Shape xs = x_.shape(), ys = y_.shape();
  xs[0] = n;
  ys[0] = n;
  *x = Tensor::Wrap(x_.dtype(), xs, x_.raw());
  *y = Tensor::Wrap(y_.dtype(), ys, y_.raw());
  return Status::Ok();
}

}  // namespace tern::train
