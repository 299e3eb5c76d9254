#include "agent/health.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "fleet/file_util.h"
#include "onnx/onnx_import.h"

namespace tern::agent {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kMaxEntries = 4096;

// Octal numbers in tar headers: ASCII digits, padded with spaces or NULs.
Result<uint64_t> ParseOctal(const char* p, size_t n) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  bool any = false;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v > (UINT64_MAX >> 3)) return InvalidArgument("probe: tar size overflows");
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
    any = true;
  }
  for (; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return InvalidArgument("probe: bad octal field in tar header");
  }
  if (!any) return InvalidArgument("probe: empty octal field in tar header");
  return v;
}

std::string Field(const char* p, size_t n) { return std::string(p, strnlen(p, n)); }

// "input_12.pb" → ("input", 12); false for anything else.
bool ParseProbeName(const std::string& base, bool* is_input, int* index) {
  std::string rest;
  if (base.rfind("input_", 0) == 0) {
    *is_input = true;
    rest = base.substr(6);
  } else if (base.rfind("output_", 0) == 0) {
    *is_input = false;
    rest = base.substr(7);
  } else {
    return false;
  }
  if (rest.size() < 4 || rest.size() > 7 || rest.substr(rest.size() - 3) != ".pb") return false;
  rest.resize(rest.size() - 3);
  int k = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return false;
    k = k * 10 + (c - '0');
  }
  *index = k;
  return true;
}

}  // namespace

Result<std::vector<ProbeSet>> ParseProbeArchive(const std::string& archive) {
  std::map<std::string, ProbeSet> sets;
  size_t pos = 0;
  size_t entries = 0;
  while (pos + kBlock <= archive.size()) {
    const char* h = archive.data() + pos;
    bool zero = true;
    for (size_t i = 0; i < kBlock && zero; ++i) zero = h[i] == 0;
    if (zero) break;  // end-of-archive marker
    if (++entries > kMaxEntries) return InvalidArgument("probe: too many archive entries");
    // The header checksum: the sum of all header bytes with the checksum field as spaces.
    TERN_ASSIGN_OR_RETURN(uint64_t checksum, ParseOctal(h + 148, 8));
    uint64_t sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      sum += (i >= 148 && i < 156) ? uint64_t{' '} : static_cast<unsigned char>(h[i]);
    }
    if (sum != checksum) return InvalidArgument("probe: tar header checksum mismatch");
    TERN_ASSIGN_OR_RETURN(uint64_t size, ParseOctal(h + 124, 12));
    std::string name = Field(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      std::string prefix = Field(h + 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    const char type = h[156];
    pos += kBlock;
    if (size > archive.size() - pos)
      return InvalidArgument("probe: truncated archive entry " + name);
    if (type == '0' || type == '\0') {
      while (name.rfind("./", 0) == 0) name = name.substr(2);
      auto slash = name.find_last_of('/');
      std::string folder = slash == std::string::npos ? "" : name.substr(0, slash);
      std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
      bool is_input = false;
      int index = 0;
      if (ParseProbeName(base, &is_input, &index)) {
        ProbeSet& set = sets[folder];
        set.name = folder;
        (is_input ? set.inputs : set.outputs)[index] = archive.substr(pos, size);
      }
    }
    pos += (size + kBlock - 1) / kBlock * kBlock;
  }
  std::vector<ProbeSet> out;
  for (auto& [folder, set] : sets) {
    if (set.inputs.empty() || set.outputs.empty()) {
      return InvalidArgument("probe: data set '" + folder + "' lacks inputs or outputs");
    }
    out.push_back(std::move(set));
  }
  if (out.empty()) return InvalidArgument("probe: no input_K.pb/output_K.pb files in the archive");
  return out;
}

namespace {

// One ustar header block for a regular file (names up to 100 bytes, which probe names are).
std::string TarHeader(const std::string& name, uint64_t size) {
  std::string h(kBlock, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 99));
  std::snprintf(h.data() + 100, 8, "%07o", 0644u);
  std::snprintf(h.data() + 108, 8, "%07o", 0u);
  std::snprintf(h.data() + 116, 8, "%07o", 0u);
  std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h.data() + 136, 12, "%011o", 0u);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

}  // namespace

Result<std::string> MakeProbeArchive(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;  // relative to dir
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string base = e.path().filename().string();
    bool is_input = false;
    int index = 0;
    if (e.is_regular_file() && ParseProbeName(base, &is_input, &index)) names.push_back(base);
    if (e.is_directory() && base.rfind("test_data_set_", 0) == 0) {
      for (const auto& f : fs::directory_iterator(e.path(), ec)) {
        const std::string fb = f.path().filename().string();
        if (f.is_regular_file() && ParseProbeName(fb, &is_input, &index)) {
          names.push_back(base + "/" + fb);
        }
      }
    }
  }
  if (ec) return IoError("probe folder " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  std::string archive;
  for (const auto& name : names) {
    if (name.size() > 99) return InvalidArgument("probe: name too long: " + name);
    TERN_ASSIGN_OR_RETURN(std::string bytes, fleet::ReadFile(dir + "/" + name));
    archive += TarHeader(name, bytes.size());
    archive += bytes;
    archive.append((kBlock - bytes.size() % kBlock) % kBlock, '\0');
  }
  archive.append(2 * kBlock, '\0');  // end-of-archive marker
  TERN_RETURN_IF_ERROR(ParseProbeArchive(archive).status());
  return archive;
}

std::string CompareTensors(const Tensor& got, const Tensor& want, double atol, double rtol) {
  if (got.dtype() != want.dtype()) {
    return std::string("type ") + DataTypeName(got.dtype()) + ", expected " +
           DataTypeName(want.dtype());
  }
  if (got.shape() != want.shape()) {
    return "shape " + got.shape().ToString() + ", expected " + want.shape().ToString();
  }
  const int64_t n = got.numel();
  auto report = [&](int64_t i, double a, double b) {
    return "element " + std::to_string(i) + " is " + std::to_string(a) + ", expected " +
           std::to_string(b);
  };
  if (got.dtype() == DataType::kFloat32 || got.dtype() == DataType::kFloat64) {
    const bool f32 = got.dtype() == DataType::kFloat32;
    for (int64_t i = 0; i < n; ++i) {
      double a = f32 ? got.data<float>()[i] : got.data<double>()[i];
      double b = f32 ? want.data<float>()[i] : want.data<double>()[i];
      bool ok = std::isnan(b)   ? std::isnan(a)
                : std::isinf(b) ? a == b
                                : std::fabs(a - b) <= atol + rtol * std::fabs(b);
      if (!ok) return report(i, a, b);
    }
    return "";
  }
  if (got.dtype() == DataType::kString) {
    for (int64_t i = 0; i < n; ++i) {
      if (got.data<std::string>()[i] != want.data<std::string>()[i]) {
        return "string " + std::to_string(i) + " differs";
      }
    }
    return "";
  }
  // Integers, booleans and the 16-bit float formats: the bytes must match.
  if (got.nbytes() != want.nbytes() || std::memcmp(got.raw(), want.raw(), got.nbytes()) != 0) {
    return "elements differ";
  }
  return "";
}

Result<std::unique_ptr<Session>> CheckHealth(const std::string& model_path,
                                             const std::string& probe_path,
                                             const HealthOptions& options, HealthReport* report) {
  SessionOptions so;
  so.providers = options.providers;
  so.threads = 1;
  auto session = Session::Load(model_path, so);
  if (!session.ok()) return session.status().WithContext("health: load " + model_path);
  if (probe_path.empty()) return session;
  TERN_ASSIGN_OR_RETURN(std::string archive, fleet::ReadFile(probe_path, 256u << 20));
  TERN_ASSIGN_OR_RETURN(std::vector<ProbeSet> sets, ParseProbeArchive(archive));
  const Session& s = **session;
  for (const ProbeSet& set : sets) {
    const std::string where = "health: probe '" + set.name + "'";
    if (set.inputs.size() != s.inputs().size() ||
        set.inputs.rbegin()->first != static_cast<int>(s.inputs().size()) - 1) {
      return InvalidArgument(where + " has " + std::to_string(set.inputs.size()) +
                             " inputs, the model takes " + std::to_string(s.inputs().size()));
    }
    std::vector<Value> inputs;
    for (const auto& [k, bytes] : set.inputs) {
      auto t = onnx::ParseTensor(bytes);
      if (!t.ok()) return t.status().WithContext(where + " input " + std::to_string(k));
      inputs.emplace_back(std::move(t).value());
    }
    std::vector<Value> outputs;
    auto start = std::chrono::steady_clock::now();
    Status st = s.Run(inputs, &outputs);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!st.ok()) return st.WithContext(where + " run");
    report->slowest_ms = std::max(report->slowest_ms, ms);
    if (ms > options.latency_budget_ms) {
      return Status(StatusCode::kFailedPrecondition,
                    where + " took " + std::to_string(ms) + " ms, over the budget of " +
                        std::to_string(options.latency_budget_ms) + " ms");
    }
    for (const auto& [k, bytes] : set.outputs) {
      if (k < 0 || static_cast<size_t>(k) >= outputs.size() || !outputs[k].is_tensor()) {
        return InvalidArgument(where + " expects output " + std::to_string(k) +
                               ", which the model does not produce as a tensor");
      }
      auto want = onnx::ParseTensor(bytes);
      if (!want.ok()) return want.status().WithContext(where + " output " + std::to_string(k));
      std::string diff = CompareTensors(outputs[k].tensor, *want, options.atol, options.rtol);
      if (!diff.empty()) {
        return Status(StatusCode::kFailedPrecondition,
                      where + " output " + std::to_string(k) + ": " + diff);
      }
    }
    ++report->sets_run;
  }
  return session;
}

}  // namespace tern::agent
