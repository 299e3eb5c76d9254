#include "compress/eval.h"

#include <zlib.h>

#include <algorithm>
#include <memory>

namespace tern::compress {

namespace {

constexpr uint32_t kIdxImages = 0x00000803;  // unsigned byte, 3 dims
constexpr uint32_t kIdxLabels = 0x00000801;  // unsigned byte, 1 dim
constexpr uint64_t kMaxIdxBytes = uint64_t{1} << 30;

/// The whole (decompressed) file; gzread passes uncompressed files through unchanged.
Result<std::string> ReadMaybeGzip(const std::string& path) {
  std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
  if (!f) return IoError("cannot open '" + path + "'");
  std::string data;
  char buf[1 << 16];
  for (;;) {
    int n = gzread(f.get(), buf, sizeof buf);
    if (n < 0) return IoError("'" + path + "': corrupt gzip data");
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxIdxBytes) return ResourceExhausted("'" + path + "' is too large");
  }
  return data;
}

uint32_t BigEndian32(const std::string& d, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(d[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

Result<LabeledImages> LoadIdx(const std::string& images_path, const std::string& labels_path) {
  TERN_ASSIGN_OR_RETURN(std::string img, ReadMaybeGzip(images_path));
  TERN_ASSIGN_OR_RETURN(std::string lab, ReadMaybeGzip(labels_path));
  if (img.size() < 16 || BigEndian32(img, 0) != kIdxImages)
    return InvalidArgument("'" + images_path + "' is not an idx3 image file");
  if (lab.size() < 8 || BigEndian32(lab, 0) != kIdxLabels)
    return InvalidArgument("'" + labels_path + "' is not an idx1 label file");
  const uint64_t count = BigEndian32(img, 4), rows = BigEndian32(img, 8),
                 cols = BigEndian32(img, 12);
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 ||
      img.size() - 16 != count * rows * cols)
    return InvalidArgument("'" + images_path + "': header does not match its size");
  if (BigEndian32(lab, 4) != count || lab.size() - 8 != count)
    return InvalidArgument("'" + labels_path + "' does not hold " + std::to_string(count) +
                           " labels");
  LabeledImages out;
  const Shape shape{static_cast<int64_t>(count), 1, static_cast<int64_t>(rows),
                    static_cast<int64_t>(cols)};
  TERN_ASSIGN_OR_RETURN(out.images, Tensor::Allocate(DataType::kFloat32, shape));
  float* px = out.images.data<float>();
  for (uint64_t i = 0; i < count * rows * cols; ++i)
    px[i] = static_cast<float>(static_cast<unsigned char>(img[16 + i])) / 255.0f;
  out.labels.assign(lab.begin() + 8, lab.end());
  return out;
}

Result<LabeledImages> LoadFashionMnistTest(const std::string& dir) {
  return LoadIdx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
}

Result<EvalResult> EvaluateClassifier(const Session& session, const LabeledImages& data,
                                      int64_t batch) {
  if (session.inputs().size() != 1 || session.outputs().empty())
    return InvalidArgument("eval needs a model with one image input");
  const IoInfo& in = session.inputs()[0];
  // A model exported with a fixed batch size gets exactly that many images per run.
  if (in.has_shape && !in.dims.empty() && in.dims[0] > 0) batch = in.dims[0];
  const Shape& s = data.images.shape();
  const int64_t n = s[0], per_image = s.Product(1, s.rank());
  EvalResult result;
  std::vector<Value> outputs;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    if (count != batch && in.has_shape && !in.dims.empty() && in.dims[0] > 0) break;
    Shape shape = s;
    shape[0] = count;
    Tensor x = Tensor::Wrap(DataType::kFloat32, shape,
                            const_cast<float*>(data.images.data<float>()) + start * per_image);
    Status st = session.Run(std::vector<Value>{Value(x)}, &outputs);
    if (!st.ok()) return st.WithContext("images " + std::to_string(start));
    const Value& y = outputs[0];
    if (!y.is_tensor() || y.tensor.dtype() != DataType::kFloat32 || y.tensor.rank() != 2 ||
        y.tensor.dim(0) != count)
      return InvalidArgument("the first output must be float32 [N, classes]");
    const int64_t classes = y.tensor.dim(1);
    for (int64_t i = 0; i < count; ++i) {
      const float* row = y.tensor.data<float>() + i * classes;
      const int64_t best = std::max_element(row, row + classes) - row;
      result.correct += best == data.labels[static_cast<size_t>(start + i)];
    }
    result.total += count;
  }
  return result;
}

}  // namespace tern::compress
