// Accuracy of an image classifier on a labelled data set in the idx format of MNIST and
// Fashion-MNIST (gzip-compressed or not).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/session.h"
#include "tern/status.h"

namespace tern::compress {

/// Where Debian's dataset-fashion-mnist package installs the data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct LabeledImages {
  Tensor images;                ///< float32 [N,1,rows,cols], pixels / 255
  std::vector<uint8_t> labels;  ///< N class indices
};

/// Reads an idx3 image file and an idx1 label file (each may be gzip-compressed).
Result<LabeledImages> LoadIdx(const std::string& images_path, const std::string& labels_path);
/// The test split (t10k-*) of Fashion-MNIST in `dir`.
Result<LabeledImages> LoadFashionMnistTest(const std::string& dir);

struct EvalResult {
  int64_t correct = 0;
  int64_t total = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / total : 0; }
};

/// Runs the model (one image input, first output [N, classes]) in batches and counts the
/// images whose arg-max class matches the label.
Result<EvalResult> EvaluateClassifier(const Session& session, const LabeledImages& data,
                                      int64_t batch = 100);

}  // namespace tern::compress
