// Training data held in memory: inputs [N, ...] and labels [N, ...] (int64 class indices for a
// cross-entropy loss, float targets for MSE), and the readers that fill it.
//
// Example folders (`tern train --data DIR`) use the ONNX backend-test layout:
//   DIR/test_data_set_<k>/input_0.pb    TensorProto: the model input for a batch of n_k >= 1
//                                        examples (dim 0 is the batch dim)
//   DIR/test_data_set_<k>/input_1.pb    TensorProto: their labels, dim 0 = n_k
//   (or output_0.pb when there is no input_1.pb: the expected output doubles as the target)
// Folders are read in name order and concatenated along dim 0; every example must have the
// same shape past dim 0.
//
// Fashion-MNIST (and MNIST) come as idx files, gzip-compressed or not (Debian's
// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist): images become
// float32 [N,1,28,28] scaled to [0,1], labels int64 [N].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::train {

struct Dataset {
  Tensor inputs;
  Tensor labels;
  int64_t size() const { return inputs.defined() ? inputs.dim(0) : 0; }
};

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

Result<Dataset> LoadExampleFolders(const std::string& dir);
/// `split` is "train" or "t10k"; `limit` > 0 keeps the first `limit` examples.
Result<Dataset> LoadIdxDataset(const std::string& dir, const std::string& split, int64_t limit = 0);

/// Fixed-size batch buffers filled from a dataset in a given order (no allocation per batch).
class Batcher {
 public:
  static Result<Batcher> Create(const Dataset& data, int64_t batch);
  /// Copies examples order[start, start + n) into the buffers; x and y view them (n <= batch).
  Status Fill(const Dataset& data, const std::vector<int64_t>& order, int64_t start, int64_t n,
              Tensor* x, Tensor* y);

 private:
  Tensor x_, y_;
  int64_t batch_ = 0;
};

}  // namespace tern::train
