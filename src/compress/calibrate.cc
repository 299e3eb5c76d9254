#include "compress/calibrate.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "onnx/onnx_import.h"

namespace fs = std::filesystem;

namespace tern::compress {

namespace {

constexpr int kHalfBins = 2048;  // histogram bins on each side of zero

struct TensorStats {
  float lo = INFINITY;
  float hi = -INFINITY;
  float abs_max = 0;         // fixed after the first pass
  std::vector<double> hist;  // 2 * kHalfBins bins over [-abs_max, abs_max]
};

/// The model with every wanted tensor added as a graph output; returns output index per tensor.
Result<std::string> WithOutputs(const ir::Model& model, const std::vector<std::string>& tensors,
                                std::vector<int>* output_index) {
  ir::Model copy = model;
  copy.graph = std::make_shared<ir::Graph>(*model.graph);
  ir::Graph& g = *copy.graph;
  for (const auto& name : tensors) {
    int id = g.FindValue(name);
    if (id < 0) return InvalidArgument("calibration: no tensor '" + name + "' in the graph");
    auto it = std::find(g.outputs.begin(), g.outputs.end(), id);
    if (it != g.outputs.end()) {
      output_index->push_back(static_cast<int>(it - g.outputs.begin()));
      continue;
    }
    output_index->push_back(static_cast<int>(g.outputs.size()));
    g.outputs.push_back(id);
  }
  return onnx::ExportModel(copy);
}

Status RunAll(const Session& s, const std::vector<InputSet>& sets,
              const std::vector<int>& output_index, std::vector<TensorStats>& stats, bool hist) {
  std::vector<Value> outputs;
  for (size_t k = 0; k < sets.size(); ++k) {
    Status st = s.Run(sets[k], &outputs);
    if (!st.ok()) return st.WithContext("calibration set " + std::to_string(k));
    for (size_t t = 0; t < stats.size(); ++t) {
      const Value& v = outputs[static_cast<size_t>(output_index[t])];
      if (!v.is_tensor() || v.tensor.dtype() != DataType::kFloat32) continue;
      const float* x = v.tensor.data<float>();
      const int64_t n = v.tensor.numel();
      TensorStats& ts = stats[t];
      if (!hist) {
        for (int64_t i = 0; i < n; ++i) {
          if (!std::isfinite(x[i])) continue;
          ts.lo = std::min(ts.lo, x[i]);
          ts.hi = std::max(ts.hi, x[i]);
        }
        continue;
      }
      if (ts.abs_max <= 0) continue;
      const double per_bin = kHalfBins / static_cast<double>(ts.abs_max);
      for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i])) continue;
        int b = static_cast<int>(std::floor(x[i] * per_bin)) + kHalfBins;
        ts.hist[static_cast<size_t>(std::clamp(b, 0, 2 * kHalfBins - 1))] += 1;
      }
    }
  }
  return Status::Ok();
}

/// The value below which `share` of the histogram's mass lies.
float Quantile(const std::vector<double>& hist, float abs_max, double share) {
  double total = 0;
  for (double c : hist) total += c;
  const double width = 2.0 * abs_max / static_cast<double>(hist.size());
  double acc = 0;
  for (size_t b = 0; b < hist.size(); ++b) {
    acc += hist[b];
    if (acc >= share * total)
      return static_cast<float>(-abs_max + width * static_cast<double>(b + 1));
  }
  return abs_max;
}

}  // namespace

Result<std::vector<InputSet>> LoadInputSets(const std::string& dir,
                                            const std::vector<IoInfo>& inputs) {
  std::error_code ec;
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      folders.push_back(e.path());
  if (ec) return IoError("cannot list '" + dir + "': " + ec.message());
  std::sort(folders.begin(), folders.end());
  if (folders.empty()) return InvalidArgument("'" + dir + "' has no test_data_set_* folders");
  std::vector<InputSet> sets;
  for (const auto& folder : folders) {
    InputSet set;
    for (size_t k = 0; k < inputs.size(); ++k) {
      fs::path p = folder / ("input_" + std::to_string(k) + ".pb");
      TERN_ASSIGN_OR_RETURN(std::string bytes, onnx::ReadFile(p.string(), uint64_t{1} << 31));
      auto t = onnx::ParseTensor(bytes);
      if (!t.ok()) return t.status().WithContext(p.string());
      set.push_back(Value(std::move(t).value()));
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "entropy") return CalibrationMethod::kEntropy;
  return InvalidArgument("unknown calibration method '" + name +
                         "' (minmax, percentile or entropy)");
}

float EntropyThreshold(const std::vector<double>& abs_hist, float bin_width, int levels) {
  const int kQuantLevels = levels;
  const int bins = static_cast<int>(abs_hist.size());
  if (bins <= kQuantLevels) return bin_width * static_cast<float>(bins);
  double best_kl = INFINITY;
  int best = bins;
  std::vector<double> p, q;
  for (int i = kQuantLevels; i <= bins; ++i) {
    // P: the first i bins, with everything beyond the threshold folded into the last one.
    p.assign(abs_hist.begin(), abs_hist.begin() + i);
    for (int j = i; j < bins; ++j)
      p[static_cast<size_t>(i - 1)] += abs_hist[static_cast<size_t>(j)];
    // Q: the first i bins merged into kQuantLevels groups, each group's mass spread evenly over
    // its non-empty bins (empty bins stay empty, as they would after quantization).
    q.assign(static_cast<size_t>(i), 0.0);
    for (int level = 0; level < kQuantLevels; ++level) {
      const int start = level * i / kQuantLevels;
      const int stop = (level + 1) * i / kQuantLevels;
      double mass = 0;
      int nonzero = 0;
      for (int j = start; j < stop; ++j) {
        mass += abs_hist[static_cast<size_t>(j)];
        nonzero += abs_hist[static_cast<size_t>(j)] > 0;
      }
      for (int j = start; j < stop; ++j)
        if (abs_hist[static_cast<size_t>(j)] > 0) q[static_cast<size_t>(j)] = mass / nonzero;
    }
    double psum = 0, qsum = 0;
    for (int j = 0; j < i; ++j) {
      psum += p[static_cast<size_t>(j)];
      qsum += q[static_cast<size_t>(j)];
    }
    if (psum <= 0 || qsum <= 0) continue;
    double kl = 0;
    for (int j = 0; j < i; ++j) {
      const double pj = p[static_cast<size_t>(j)] / psum;
      if (pj <= 0) continue;
      // A bin with mass in P but none in Q (the folded outliers) gets a small floor instead of
      // an infinite divergence.
      const double qj = std::max(q[static_cast<size_t>(j)] / qsum, 1e-12);
      kl += pj * std::log(pj / qj);
    }
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return bin_width * static_cast<float>(best);
}

Result<std::map<std::string, Range>> Calibrate(const ir::Model& model,
                                               const std::vector<std::string>& tensors,
                                               const std::vector<InputSet>& sets,
                                               const CalibrationOptions& options) {
  if (sets.empty()) return InvalidArgument("calibration needs at least one input set");
  std::vector<int> output_index;
  TERN_ASSIGN_OR_RETURN(std::string bytes, WithOutputs(model, tensors, &output_index));
  SessionOptions so;
  so.threads = options.threads;
  auto session = Session::LoadFromMemory(bytes.data(), bytes.size(), so);
  if (!session.ok()) return session.status().WithContext("calibration model");
  std::vector<TensorStats> stats(tensors.size());
  TERN_RETURN_IF_ERROR(RunAll(**session, sets, output_index, stats, false));
  if (options.method != CalibrationMethod::kMinMax) {
    for (auto& ts : stats) {
      ts.abs_max = std::max(std::fabs(ts.lo), std::fabs(ts.hi));
      if (ts.lo <= ts.hi) ts.hist.assign(2 * kHalfBins, 0.0);
    }
    TERN_RETURN_IF_ERROR(RunAll(**session, sets, output_index, stats, true));
  }
  std::map<std::string, Range> ranges;
  for (size_t t = 0; t < tensors.size(); ++t) {
    TensorStats& ts = stats[t];
    if (ts.lo > ts.hi) continue;  // not float, or no finite value seen
    Range r{ts.lo, ts.hi};
    if (options.method == CalibrationMethod::kPercentile && ts.abs_max > 0) {
      const double tail = (100.0 - options.percentile) / 100.0;
      r.lo = std::max(ts.lo, Quantile(ts.hist, ts.abs_max, tail));
      r.hi = std::min(ts.hi, Quantile(ts.hist, ts.abs_max, 1.0 - tail));
    } else if (options.method == CalibrationMethod::kEntropy && ts.abs_max > 0) {
      std::vector<double> abs_hist(kHalfBins);
      for (int j = 0; j < kHalfBins; ++j)
        abs_hist[static_cast<size_t>(j)] = ts.hist[static_cast<size_t>(kHalfBins + j)] +
                                           ts.hist[static_cast<size_t>(kHalfBins - 1 - j)];
      // 8 bits give 256 levels over [0, T] for a tensor that is never negative (after ReLU),
      // and 128 on each side of zero otherwise.
      const int levels = ts.lo >= 0 ? 256 : 128;
      const float threshold = EntropyThreshold(abs_hist, ts.abs_max / kHalfBins, levels);
      r.lo = std::max(ts.lo, -threshold);
      r.hi = std::min(ts.hi, threshold);
    }
    ranges[tensors[t]] = r;
  }
  return ranges;
}

}  // namespace tern::compress
