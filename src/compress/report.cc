#include "compress/report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

namespace tern::compress {

namespace {

struct Accum {
  double max_abs = 0, signal = 0, noise = 0, dot = 0, ref_sq = 0, got_sq = 0;
  int64_t elements = 0;
};

Status Accumulate(const Value& ref, const Value& got, const std::string& name, Accum& a) {
  if (!ref.is_tensor() || !got.is_tensor()) return Status::Ok();  // only tensors are measured
  const Tensor& r = ref.tensor;
  const Tensor& g = got.tensor;
  if (r.shape() != g.shape())
    return InvalidArgument("output '" + name + "': shape " + g.shape().ToString() +
                           " differs from the float model's " + r.shape().ToString());
  if (r.dtype() != DataType::kFloat32 || g.dtype() != DataType::kFloat32) return Status::Ok();
  const float* x = r.data<float>();
  const float* y = g.data<float>();
  for (int64_t i = 0; i < r.numel(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    a.max_abs = std::max(a.max_abs, std::fabs(d));
    a.signal += static_cast<double>(x[i]) * x[i];
    a.noise += d * d;
    a.dot += static_cast<double>(x[i]) * y[i];
    a.ref_sq += static_cast<double>(x[i]) * x[i];
    a.got_sq += static_cast<double>(y[i]) * y[i];
  }
  a.elements += r.numel();
  return Status::Ok();
}

std::string JsonNumber(double x) {
  if (std::isinf(x)) return x > 0 ? "1e999" : "-1e999";  // JSON has no infinity; parses as such
  if (std::isnan(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

uint64_t WeightBytes(const ir::Model& model, const std::set<std::string>& int4) {
  uint64_t total = 0;
  for (const ir::Value& v : model.graph->values)
    if (v.is_initializer)
      total += int4.count(v.name) ? static_cast<uint64_t>((v.initializer.numel() + 1) / 2)
                                  : v.initializer.nbytes();
  return total;
}

Result<std::vector<OutputError>> CompareModels(const std::string& ref_model,
                                               const std::string& got_model,
                                               const std::vector<InputSet>& sets, int threads) {
  SessionOptions so;
  so.threads = threads;
  auto ref = Session::LoadFromMemory(ref_model.data(), ref_model.size(), so);
  if (!ref.ok()) return ref.status().WithContext("float model");
  auto got = Session::LoadFromMemory(got_model.data(), got_model.size(), so);
  if (!got.ok()) return got.status().WithContext("compressed model");
  const auto& names = (*ref)->outputs();
  if ((*got)->outputs().size() != names.size())
    return InvalidArgument("the compressed model has a different number of outputs");
  std::vector<Accum> acc(names.size());
  std::vector<Value> ref_out, got_out;
  for (size_t k = 0; k < sets.size(); ++k) {
    Status st = (*ref)->Run(sets[k], &ref_out);
    if (!st.ok()) return st.WithContext("float model, set " + std::to_string(k));
    st = (*got)->Run(sets[k], &got_out);
    if (!st.ok()) return st.WithContext("compressed model, set " + std::to_string(k));
    for (size_t o = 0; o < names.size(); ++o)
      TERN_RETURN_IF_ERROR(Accumulate(ref_out[o], got_out[o], names[o].name, acc[o]));
  }
  std::vector<OutputError> errors;
  for (size_t o = 0; o < names.size(); ++o) {
    const Accum& a = acc[o];
    OutputError e;
    e.name = names[o].name;
    e.elements = a.elements;
    e.max_abs = a.max_abs;
    e.sqnr_db = a.noise > 0 ? 10.0 * std::log10(a.signal / a.noise) : INFINITY;
    const double norm = std::sqrt(a.ref_sq) * std::sqrt(a.got_sq);
    e.cosine = norm > 0 ? a.dot / norm : (a.ref_sq == a.got_sq ? 1.0 : 0.0);
    errors.push_back(e);
  }
  return errors;
}

Result<std::pair<double, double>> MeasureLatency(const std::string& before,
                                                 const std::string& after,
                                                 const std::vector<InputSet>& sets, int threads) {
  if (sets.empty()) return InvalidArgument("no input sets to time");
  SessionOptions so;
  so.threads = threads;
  std::unique_ptr<Session> sessions[2];
  const std::string* models[2] = {&before, &after};
  std::vector<Value> out;
  for (int i = 0; i < 2; ++i) {
    TERN_ASSIGN_OR_RETURN(sessions[i],
                          Session::LoadFromMemory(models[i]->data(), models[i]->size(), so));
    for (const InputSet& s : sets) TERN_RETURN_IF_ERROR(sessions[i]->Run(s, &out));  // warm-up
  }
  // The two models take turns, so that a change in machine load hits both alike; at least 20
  // runs each and 0.2 s, so that small models are not timed by the clock's resolution.
  std::vector<double> ms[2];
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; ms[0].size() < 20 ||
                     std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200);
       ++i) {
    for (int m = 0; m < 2; ++m) {
      const auto t0 = std::chrono::steady_clock::now();
      TERN_RETURN_IF_ERROR(sessions[m]->Run(sets[i % sets.size()], &out));
      ms[m].push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    if (ms[0].size() >= 10000) break;
  }
  double median[2];
  for (int m = 0; m < 2; ++m) {
    auto mid = ms[m].begin() + static_cast<std::ptrdiff_t>(ms[m].size() / 2);
    std::nth_element(ms[m].begin(), mid, ms[m].end());
    median[m] = *mid;
  }
  return std::make_pair(median[0], median[1]);
}

std::string ReportText(const CompressReport& r) {
  std::ostringstream os;
  char buf[256];
  auto ratio = [](uint64_t a, uint64_t b) { return b ? static_cast<double>(a) / b : 0.0; };
  const PruneSummary& pr = r.prune;
  if (r.mode.rfind("prune", 0) == 0) {
    os << "mode: " << r.mode << " (" << pr.pruned_nodes << " nodes pruned";
    if (pr.prunable_weights)
      os << ", " << pr.zeroed_weights << " of " << pr.prunable_weights << " weights zeroed";
    if (pr.prunable_channels)
      os << ", " << pr.removed_channels << " of " << pr.prunable_channels << " channels removed";
    os << ")\n";
    for (const std::string& s : pr.skipped) os << "  skipped " << s << "\n";
  } else {
    os << "mode: " << r.mode << " (" << r.summary.quantized_nodes << " nodes quantized, "
       << r.summary.converted_weights << " weights converted";
    if (r.summary.opset_after != r.summary.opset_before)
      os << ", opset " << r.summary.opset_before << " -> " << r.summary.opset_after;
    os << ")\n";
  }
  std::snprintf(buf, sizeof buf, "file size:    %llu -> %llu bytes (%.3fx)\n",
                static_cast<unsigned long long>(r.file_bytes_before),
                static_cast<unsigned long long>(r.file_bytes_after),
                ratio(r.file_bytes_after, r.file_bytes_before));
  os << buf;
  std::snprintf(buf, sizeof buf, "weight bytes: %llu -> %llu (%.3fx)\n",
                static_cast<unsigned long long>(r.weight_bytes_before),
                static_cast<unsigned long long>(r.weight_bytes_after),
                ratio(r.weight_bytes_after, r.weight_bytes_before));
  os << buf;
  if (r.summary.converted_bytes_before) {
    std::snprintf(buf, sizeof buf, "converted weights: %llu -> %llu bytes (%.3fx)\n",
                  static_cast<unsigned long long>(r.summary.converted_bytes_before),
                  static_cast<unsigned long long>(r.summary.converted_bytes_after),
                  ratio(r.summary.converted_bytes_after, r.summary.converted_bytes_before));
    os << buf;
  }
  if (r.latency_ms_before > 0) {
    std::snprintf(buf, sizeof buf, "Tern latency: %.3f -> %.3f ms (%.2fx)\n", r.latency_ms_before,
                  r.latency_ms_after, r.latency_ms_after / r.latency_ms_before);
    os << buf;
  }
  if (r.eval_sets == 0) return os.str();
  os << "error against float32 on " << r.eval_sets << " input set(s) from " << r.eval_source
     << ":\n";
  for (const OutputError& e : r.outputs) {
    std::snprintf(buf, sizeof buf, "  %-32s max abs %.4g  SQNR %.2f dB  cosine %.6f\n",
                  e.name.c_str(), e.max_abs, e.sqnr_db, e.cosine);
    os << buf;
  }
  return os.str();
}

std::string ReportJson(const CompressReport& r) {
  std::ostringstream os;
  os << "{\"mode\":" << JsonString(r.mode) << ",\"file_bytes_before\":" << r.file_bytes_before
     << ",\"file_bytes_after\":" << r.file_bytes_after
     << ",\"weight_bytes_before\":" << r.weight_bytes_before
     << ",\"weight_bytes_after\":" << r.weight_bytes_after
     << ",\"quantized_nodes\":" << r.summary.quantized_nodes
     << ",\"converted_weights\":" << r.summary.converted_weights
     << ",\"opset_before\":" << r.summary.opset_before
     << ",\"opset_after\":" << r.summary.opset_after
     << ",\"converted_bytes_before\":" << r.summary.converted_bytes_before
     << ",\"converted_bytes_after\":" << r.summary.converted_bytes_after
     << ",\"pruned_nodes\":" << r.prune.pruned_nodes
     << ",\"zeroed_weights\":" << r.prune.zeroed_weights
     << ",\"prunable_weights\":" << r.prune.prunable_weights
     << ",\"removed_channels\":" << r.prune.removed_channels
     << ",\"prunable_channels\":" << r.prune.prunable_channels
     << ",\"latency_ms_before\":" << JsonNumber(r.latency_ms_before)
     << ",\"latency_ms_after\":" << JsonNumber(r.latency_ms_after)
     << ",\"eval_source\":" << JsonString(r.eval_source) << ",\"eval_sets\":" << r.eval_sets
     << ",\"outputs\":[";
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const OutputError& e = r.outputs[i];
    os << (i ? "," : "") << "{\"name\":" << JsonString(e.name) << ",\"elements\":" << e.elements
       << ",\"max_abs\":" << JsonNumber(e.max_abs) << ",\"sqnr_db\":" << JsonNumber(e.sqnr_db)
       << ",\"cosine\":" << JsonNumber(e.cosine) << "}";
  }
  os << "]}\n";
  return os.str();
}

}  // namespace tern::compress
