// `tern bench`: load time, first-run time, latency distribution, peak RSS and arena bytes of a
// model, with inputs from a backend-test folder or generated from the model's declared shapes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "commands.h"
#include "io_util.h"

namespace fs = std::filesystem;

namespace tern::cli {
namespace {

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Resident set size in MB, from /proc/self/statm.
double RssMb() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

/// A field of /proc/self/status in MB ("VmHWM" is the peak RSS since the last reset).
double StatusMb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  return 0;
}

Result<Value> Generate(const IoInfo& io, const std::vector<int64_t>& override_dims,
                       std::mt19937& rng) {
  if (io.kind != IoInfo::Kind::kTensor)
    return InvalidArgument("input '" + io.name + "' is not a tensor; use --input-dir");
  Shape shape;
  if (!override_dims.empty()) {
    shape = Shape(override_dims);
  } else {
    for (int64_t d : io.dims) shape.push_back(d >= 0 ? d : 1);
  }
  TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(io.dtype, shape));
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  if (io.dtype == DataType::kFloat32) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = uni(rng);
  } else if (io.dtype == DataType::kFloat64) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = uni(rng);
  }
  return Value(std::move(t));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double idx = p * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

}  // namespace

int RunBench(const BenchOptions& o) {
  {  // reset the peak-RSS mark so the figure covers loading and running only
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5";
  }
  const double rss_before = RssMb();
  const double t0 = NowMs();
  auto loaded = Session::Load(o.model, o.common.ToSessionOptions());
  if (!loaded.ok()) {
    std::fprintf(stderr, "tern bench: %s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const double load_ms = NowMs() - t0;
  const Session& s = **loaded;
  std::vector<Value> inputs;
  std::mt19937 rng(1234);
  for (size_t k = 0; k < s.inputs().size(); ++k) {
    const IoInfo& io = s.inputs()[k];
    Result<Value> v = InvalidArgument("no input");
    fs::path p = o.input_dir.empty() ? fs::path()
                                     : fs::path(o.input_dir) / ("input_" + std::to_string(k) + ".pb");
    if (!o.input_dir.empty() && fs::exists(p)) {
      v = ReadValueFile(p.string(), io);
    } else {
      auto it = o.shapes.find(io.name);
      v = Generate(io, it == o.shapes.end() ? std::vector<int64_t>{} : it->second, rng);
    }
    if (!v.ok()) {
      std::fprintf(stderr, "tern bench: %s\n", v.status().ToString().c_str());
      return 1;
    }
    inputs.push_back(std::move(v).value());
  }
  std::vector<Value> outputs;
  const double f0 = NowMs();
  Status st = s.Run(inputs, &outputs);
  const double first_ms = NowMs() - f0;
  if (!st.ok()) {
    std::fprintf(stderr, "tern bench: %s\n", st.ToString().c_str());
    return 1;
  }
  for (int i = 0; i < o.warmup; ++i) (void)s.Run(inputs, &outputs);
  std::vector<double> times;
  times.reserve(static_cast<size_t>(std::max(o.runs, 1)));
  for (int i = 0; i < std::max(o.runs, 1); ++i) {
    const double r0 = NowMs();
    st = s.Run(inputs, &outputs);
    times.push_back(NowMs() - r0);
    if (!st.ok()) {
      std::fprintf(stderr, "tern bench: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  if (!o.profile.empty()) {
    std::vector<NodeTiming> timings;
    RunStats stats;
    stats.profile = &timings;
    (void)s.Run(inputs, &outputs, &stats);
    std::ofstream out(o.profile);
    out << "{\"traceEvents\":[";
    for (size_t i = 0; i < timings.size(); ++i) {
      const NodeTiming& t = timings[i];
      std::string name = t.node_name;
      for (char& c : name)
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '_';
      out << (i ? ",\n" : "\n") << "{\"name\":\"" << t.op_type << "\",\"cat\":\"" << t.provider
          << "\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":" << t.start_us
          << ",\"dur\":" << t.duration_us << ",\"args\":{\"node\":\"" << name
          << "\",\"provider\":\"" << t.provider << "\"}}";
    }
    out << "\n]}\n";
  }
  const double median = Percentile(times, 0.5);
  const double p90 = Percentile(times, 0.9);
  const double min = *std::min_element(times.begin(), times.end());
  const double peak_rss = StatusMb("VmHWM");
  std::printf("model        %s\n", o.model.c_str());
  std::printf("threads      %d\n", o.common.threads);
  std::printf("load         %.3f ms\n", load_ms);
  std::printf("first run    %.3f ms\n", first_ms);
  std::printf("median       %.4f ms over %zu runs (p90 %.4f, min %.4f)\n", median, times.size(),
              p90, min);
  std::printf("peak RSS     %.1f MB (%.1f MB before loading)\n", peak_rss, rss_before);
  std::printf("arena        %llu bytes\n", static_cast<unsigned long long>(s.peak_arena_bytes()));
  if (o.json)
    std::printf(
        "{\"load_ms\":%.4f,\"first_run_ms\":%.4f,\"median_ms\":%.5f,\"p90_ms\":%.5f,"
        "\"min_ms\":%.5f,\"peak_rss_mb\":%.2f,\"rss_before_mb\":%.2f,\"arena_bytes\":%llu}\n",
        load_ms, first_ms, median, p90, min, peak_rss, rss_before,
        static_cast<unsigned long long>(s.peak_arena_bytes()));
  return 0;
}

}  // namespace tern::cli
