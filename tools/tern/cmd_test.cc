// `tern test`: runs backend-test cases (model.onnx + test_data_set_*/{input,output}_K.pb) and
// compares outputs with a tolerance; prints one line per failing case and a closing count.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "commands.h"
#include "io_util.h"

namespace fs = std::filesystem;

namespace tern::cli {
namespace {

std::map<std::string, std::string> ReadSkipList(const std::string& path) {
  std::map<std::string, std::string> skip;
  if (path.empty()) return skip;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    auto end = line.find_first_of(" \t:", start);
    std::string name = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string reason = end == std::string::npos ? "" : line.substr(end);
    auto r = reason.find_first_not_of(" \t:#");
    skip[name] = r == std::string::npos ? "" : reason.substr(r);
  }
  return skip;
}

bool IsCase(const fs::path& p) {
  return fs::exists(p / "model.onnx") || fs::exists(p / "model.txt");
}

double ElementAsDouble(const Tensor& t, int64_t i);

std::string CompareTensor(const Tensor& got, const Tensor& want, double atol, double rtol) {
  if (got.dtype() != want.dtype())
    return std::string("type ") + DataTypeName(got.dtype()) + ", expected " +
           DataTypeName(want.dtype());
  if (got.shape() != want.shape())
    return "shape " + got.shape().ToString() + ", expected " + want.shape().ToString();
  const int64_t n = got.numel();
  if (got.dtype() == DataType::kString) {
    for (int64_t i = 0; i < n; ++i)
      if (got.data<std::string>()[i] != want.data<std::string>()[i])
        return "string " + std::to_string(i) + " is '" + got.data<std::string>()[i] +
               "', expected '" + want.data<std::string>()[i] + "'";
    return "";
  }
  const bool is_float = IsFloatType(got.dtype()) || got.dtype() == DataType::kComplex64 ||
                        got.dtype() == DataType::kComplex128;
  int64_t count = n;
  if (got.dtype() == DataType::kComplex64 || got.dtype() == DataType::kComplex128) count *= 2;
  int64_t bad = 0;
  int64_t first = -1;
  double worst = 0;
  for (int64_t i = 0; i < count; ++i) {
    double a = ElementAsDouble(got, i);
    double b = ElementAsDouble(want, i);
    bool ok;
    if (!is_float) {
      ok = a == b;
      if (got.dtype() == DataType::kInt64 || got.dtype() == DataType::kUInt64)
        ok = std::memcmp(static_cast<const char*>(got.raw()) + i * 8,
                         static_cast<const char*>(want.raw()) + i * 8, 8) == 0;
    } else if (std::isnan(b)) {
      ok = std::isnan(a);
    } else if (std::isinf(b)) {
      ok = a == b;
    } else {
      ok = std::fabs(a - b) <= atol + rtol * std::fabs(b);
    }
    if (!ok) {
      if (first < 0) first = i;
      ++bad;
      if (std::isfinite(a) && std::isfinite(b)) worst = std::max(worst, std::fabs(a - b));
    }
  }
  if (bad == 0) return "";
  std::ostringstream os;
  os << bad << " of " << count << " elements differ (first at " << first << ": got "
     << ElementAsDouble(got, first) << ", expected " << ElementAsDouble(want, first)
     << "; max abs diff " << worst << ")";
  return os.str();
}

double ElementAsDouble(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DataType::kFloat32: return static_cast<const float*>(p)[i];
    case DataType::kFloat64: return static_cast<const double*>(p)[i];
    case DataType::kComplex64: return static_cast<const float*>(p)[i];
    case DataType::kComplex128: return static_cast<const double*>(p)[i];
    case DataType::kFloat16: {
      uint16_t b = static_cast<const uint16_t*>(p)[i];
      uint32_t sign = (b & 0x8000u) << 16, exp = (b >> 10) & 0x1f, mant = b & 0x3ff;
      double v;
      if (exp == 0) v = std::ldexp(static_cast<double>(mant), -24);
      else if (exp == 31) v = mant ? NAN : INFINITY;
      else v = std::ldexp(static_cast<double>(mant | 0x400), static_cast<int>(exp) - 25);
      return sign ? -v : v;
    }
    case DataType::kBFloat16: {
      uint32_t bits = static_cast<uint32_t>(static_cast<const uint16_t*>(p)[i]) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case DataType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DataType::kInt16: return static_cast<const int16_t*>(p)[i];
    case DataType::kInt32: return static_cast<const int32_t*>(p)[i];
    case DataType::kInt64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kUInt8: return static_cast<const uint8_t*>(p)[i];
    case DataType::kUInt16: return static_cast<const uint16_t*>(p)[i];
    case DataType::kUInt32: return static_cast<const uint32_t*>(p)[i];
    case DataType::kUInt64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    case DataType::kBool: return static_cast<const uint8_t*>(p)[i] ? 1 : 0;
    default: return 0;
  }
}

std::string CompareValue(const Value& got, const Value& want, double atol, double rtol) {
  if (want.is_none()) return got.is_none() ? "" : "expected an empty optional";
  if (got.is_none()) return "got an empty value";
  if (want.is_sequence()) {
    if (!got.is_sequence()) return "expected a sequence";
    if (got.sequence.size() != want.sequence.size())
      return "sequence of " + std::to_string(got.sequence.size()) + ", expected " +
             std::to_string(want.sequence.size());
    for (size_t i = 0; i < want.sequence.size(); ++i) {
      std::string e = CompareTensor(got.sequence[i], want.sequence[i], atol, rtol);
      if (!e.empty()) return "item " + std::to_string(i) + ": " + e;
    }
    return "";
  }
  if (!got.is_tensor()) return "expected a tensor";
  return CompareTensor(got.tensor, want.tensor, atol, rtol);
}

/// Imports, exports and loads the exported bytes: the conformance suite then checks the exporter.
Result<std::unique_ptr<Session>> LoadRoundTrip(const std::string& path, const SessionOptions& so) {
  TERN_ASSIGN_OR_RETURN(ir::Model model, onnx::ImportModelFile(path, so.max_model_bytes));
  TERN_ASSIGN_OR_RETURN(std::string bytes, onnx::ExportModel(model));
  return Session::LoadFromMemory(bytes.data(), bytes.size(), so);
}

/// Runs one case; returns "" on success or the reason it failed.
std::string RunCase(const fs::path& dir, const TestOptions& o) {
  fs::path model = dir / "model.onnx";
  if (!fs::exists(model)) {
    std::ifstream in(dir / "model.txt");
    std::string name;
    in >> name;
    if (o.models_dir.empty()) return "needs --models DIR for model '" + name + "'";
    model = fs::path(o.models_dir) / (name + ".onnx");
    if (!fs::exists(model)) return "model file " + model.string() + " not found";
  }
  auto session = o.roundtrip ? LoadRoundTrip(model.string(), o.common.ToSessionOptions())
                             : Session::Load(model.string(), o.common.ToSessionOptions());
  if (!session.ok()) return "load: " + session.status().ToString();
  const Session& s = **session;
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test_data_set_* folders";
  for (const auto& set : sets) {
    std::vector<Value> inputs;
    for (size_t k = 0;; ++k) {
      fs::path p = set / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      if (k >= s.inputs().size())
        return set.filename().string() + ": more input files than model inputs";
      auto v = ReadValueFile(p.string(), s.inputs()[k]);
      if (!v.ok()) return v.status().ToString();
      inputs.push_back(std::move(v).value());
    }
    // Omitted trailing optional inputs are passed as empty.
    while (inputs.size() < s.inputs().size()) inputs.push_back(Value());
    std::vector<Value> outputs;
    Status st = s.Run(inputs, &outputs);
    if (!st.ok()) return set.filename().string() + ": " + st.ToString();
    for (size_t k = 0;; ++k) {
      fs::path p = set / ("output_" + std::to_string(k) + ".pb");
      if (!fs::exists(p)) break;
      if (k >= outputs.size()) return "model has fewer outputs than expected";
      auto want = ReadValueFile(p.string(), s.outputs()[k]);
      if (!want.ok()) return want.status().ToString();
      std::string e = CompareValue(outputs[k], *want, o.atol, o.rtol);
      if (!e.empty())
        return set.filename().string() + " output " + std::to_string(k) + " ('" +
               s.outputs()[k].name + "'): " + e;
    }
  }
  return "";
}

}  // namespace

int RunTest(const TestOptions& o) {
  auto skip = ReadSkipList(o.skip_file);
  std::vector<fs::path> cases;
  for (const auto& p : o.paths) {
    fs::path path(p);
    if (IsCase(path)) {
      cases.push_back(path);
    } else if (fs::is_directory(path)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(path))
        if (e.is_directory() && IsCase(e.path())) found.push_back(e.path());
      std::sort(found.begin(), found.end());
      cases.insert(cases.end(), found.begin(), found.end());
    } else {
      std::fprintf(stderr, "tern test: %s is not a test case or a folder of cases\n", p.c_str());
      return 2;
    }
  }
  int passed = 0, failed = 0, skipped = 0;
  for (const auto& c : cases) {
    std::string name = c.filename().string();
    if (!o.filter.empty() && name.find(o.filter) == std::string::npos) continue;
    if (skip.count(name)) {
      ++skipped;
      if (o.verbose) std::printf("SKIP %s: %s\n", name.c_str(), skip[name].c_str());
      continue;
    }
    std::string err = RunCase(c, o);
    if (err.empty()) {
      ++passed;
      if (o.verbose) std::printf("PASS %s\n", name.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", name.c_str(), err.c_str());
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 ? 0 : 1;
}

}  // namespace tern::cli
