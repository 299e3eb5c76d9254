// `tern run`: runs a model on TensorProto inputs, writes output_K.pb, prints a summary per output.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.h"
#include "io_util.h"

namespace fs = std::filesystem;

namespace tern::cli {

std::string Summarize(const Value& v) {
  std::ostringstream os;
  if (v.is_none()) return "none";
  if (v.is_sequence()) {
    os << "sequence of " << v.sequence.size();
    for (size_t i = 0; i < v.sequence.size() && i < 3; ++i)
      os << "\n    [" << i << "] " << Summarize(Value(v.sequence[i]));
    return os.str();
  }
  const Tensor& t = v.tensor;
  os << DataTypeName(t.dtype()) << t.shape().ToString();
  if (t.dtype() == DataType::kString) {
    for (int64_t i = 0; i < t.numel() && i < 4; ++i) os << " \"" << t.data<std::string>()[i] << "\"";
    return os.str();
  }
  const int64_t n = t.numel();
  if (n == 0) return os.str();
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  std::vector<double> head;
  for (int64_t i = 0; i < n; ++i) {
    double x = 0;
    switch (t.dtype()) {
      case DataType::kFloat32: x = t.data<float>()[i]; break;
      case DataType::kFloat64: x = t.data<double>()[i]; break;
      case DataType::kInt64: x = static_cast<double>(t.data<int64_t>()[i]); break;
      case DataType::kInt32: x = t.data<int32_t>()[i]; break;
      case DataType::kInt8: x = t.data<int8_t>()[i]; break;
      case DataType::kUInt8: x = t.data<uint8_t>()[i]; break;
      case DataType::kBool: x = t.data<uint8_t>()[i] ? 1 : 0; break;
      default: x = 0; break;
    }
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    if (head.size() < 6) head.push_back(x);
  }
  os << " min " << lo << " max " << hi << " mean " << sum / static_cast<double>(n) << " first [";
  for (size_t i = 0; i < head.size(); ++i) os << (i ? ", " : "") << head[i];
  os << (n > 6 ? ", ...]" : "]");
  return os.str();
}

int RunRun(const RunOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  auto session = Session::Load(o.model, o.common.ToSessionOptions());
  if (!session.ok()) {
    std::fprintf(stderr, "tern run: %s\n", session.status().ToString().c_str());
    return 1;
  }
  auto t1 = std::chrono::steady_clock::now();
  const Session& s = **session;
  std::map<std::string, Value> feeds;
  if (!o.input_dir.empty()) {
    for (size_t k = 0; k < s.inputs().size(); ++k) {
      fs::path p = fs::path(o.input_dir) / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      auto v = ReadValueFile(p.string(), s.inputs()[k]);
      if (!v.ok()) {
        std::fprintf(stderr, "tern run: %s\n", v.status().ToString().c_str());
        return 1;
      }
      feeds[s.inputs()[k].name] = std::move(v).value();
    }
  }
  for (const auto& spec : o.inputs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "tern run: --input needs NAME=FILE.pb, got '%s'\n", spec.c_str());
      return 2;
    }
    std::string name = spec.substr(0, eq);
    const IoInfo* io = nullptr;
    for (const auto& in : s.inputs())
      if (in.name == name) io = &in;
    if (!io) {
      std::fprintf(stderr, "tern run: the model has no input '%s'\n", name.c_str());
      return 2;
    }
    auto v = ReadValueFile(spec.substr(eq + 1), *io);
    if (!v.ok()) {
      std::fprintf(stderr, "tern run: %s\n", v.status().ToString().c_str());
      return 1;
    }
    feeds[name] = std::move(v).value();
  }
  std::vector<Value> outputs;
  RunStats stats;
  double run_ms = 0;
  for (int i = 0; i < std::max(1, o.repeat); ++i) {
    auto r0 = std::chrono::steady_clock::now();
    Status st = s.Run(feeds, &outputs, &stats);
    run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r0).count();
    if (!st.ok()) {
      std::fprintf(stderr, "tern run: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  std::printf("loaded in %.2f ms, last run %.3f ms, arena %llu bytes\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(), run_ms,
              static_cast<unsigned long long>(s.peak_arena_bytes()));
  if (!o.output_dir.empty()) fs::create_directories(o.output_dir);
  for (size_t k = 0; k < outputs.size(); ++k) {
    const IoInfo& io = s.outputs()[k];
    std::printf("%s: %s\n", io.name.c_str(), Summarize(outputs[k]).c_str());
    if (!o.output_dir.empty()) {
      auto bytes = onnx::SerializeValue(outputs[k], io.name, io.kind == IoInfo::Kind::kOptional);
      if (!bytes.ok()) {
        std::fprintf(stderr, "tern run: %s\n", bytes.status().ToString().c_str());
        return 1;
      }
      std::ofstream out(fs::path(o.output_dir) / ("output_" + std::to_string(k) + ".pb"),
                        std::ios::binary);
      out << *bytes;
      if (!out) {
        std::fprintf(stderr, "tern run: cannot write to %s\n", o.output_dir.c_str());
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace tern::cli
