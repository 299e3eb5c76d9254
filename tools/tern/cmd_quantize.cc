// `tern quantize` and `tern eval`: argument handling only; the work is in src/compress/.
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "compress/eval.h"
#include "compress/quantize_file.h"

namespace tern::cli {

int RunQuantize(const QuantizeCliOptions& o) {
  compress::QuantizeFileOptions f;
  f.input = o.input;
  f.output = o.output;
  f.calibration_dir = o.calibration_dir;
  f.eval_dir = o.eval_dir;
  f.measure = o.report || !o.report_json.empty();
  auto mode = compress::ParseQuantMode(o.mode);
  auto method = compress::ParseCalibrationMethod(o.method);
  for (const Status& st : {mode.status(), method.status()}) {
    if (!st.ok()) {
      std::fprintf(stderr, "tern quantize: %s\n", st.ToString().c_str());
      return 2;
    }
  }
  if (o.activation_type != "uint8" && o.activation_type != "int8") {
    std::fprintf(stderr, "tern quantize: --activation-type is uint8 or int8\n");
    return 2;
  }
  f.quantize.mode = *mode;
  f.quantize.per_channel = o.per_channel;
  f.quantize.int4_block_size = o.block_size;
  f.quantize.int4_symmetric = !o.asymmetric;
  f.quantize.int8_activations = o.activation_type == "int8";
  f.quantize.exclude_ops.insert(o.exclude_ops.begin(), o.exclude_ops.end());
  f.quantize.exclude_nodes.insert(o.exclude_nodes.begin(), o.exclude_nodes.end());
  f.quantize.calibration.method = *method;
  f.quantize.calibration.percentile = o.percentile;
  f.quantize.calibration.threads = o.common.threads;
  compress::CompressReport report;
  Status st = compress::QuantizeFile(f, &report);
  if (!st.ok()) {
    std::fprintf(stderr, "tern quantize: %s\n", st.ToString().c_str());
    return 1;
  }
  return WriteCompressReport("tern quantize", o.output, report, o.report, o.report_json);
}

int WriteCompressReport(const char* command, const std::string& output,
                        const compress::CompressReport& report, bool text,
                        const std::string& json_path) {
  std::printf("wrote %s\n", output.c_str());
  if (text) std::printf("%s", compress::ReportText(report).c_str());
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << compress::ReportJson(report);
    if (!out) {
      std::fprintf(stderr, "%s: cannot write %s\n", command, json_path.c_str());
      return 1;
    }
  }
  return 0;
}

int RunEval(const EvalOptions& o) {
  auto session = Session::Load(o.model, o.common.ToSessionOptions());
  if (!session.ok()) {
    std::fprintf(stderr, "tern eval: %s\n", session.status().ToString().c_str());
    return 1;
  }
  const std::string dir = o.fashion_mnist.empty() ? compress::kFashionMnistDir : o.fashion_mnist;
  auto data = compress::LoadFashionMnistTest(dir);
  if (!data.ok()) {
    std::fprintf(stderr, "tern eval: %s\n", data.status().ToString().c_str());
    return 1;
  }
  auto result = compress::EvaluateClassifier(**session, *data, o.batch);
  if (!result.ok()) {
    std::fprintf(stderr, "tern eval: %s\n", result.status().ToString().c_str());
    return 1;
  }
  std::printf("%s: Fashion-MNIST test accuracy %.2f%% (%lld / %lld)\n", o.model.c_str(),
              100.0 * result->accuracy(), static_cast<long long>(result->correct),
              static_cast<long long>(result->total));
  return 0;
}

}  // namespace tern::cli
