#include "compress/quantize_file.h"

#include <fstream>

#include "onnx/onnx_import.h"

namespace tern::compress {

namespace {

const char* ModeName(QuantMode m) {
  switch (m) {
    case QuantMode::kFp16:
      return "fp16";
    case QuantMode::kInt8Dynamic:
      return "int8-dynamic";
    case QuantMode::kInt8Static:
      return "int8-static";
    case QuantMode::kInt4Weights:
      return "int4-weights";
  }
  return "?";
}

Result<std::vector<InputSet>> SetsFor(const std::string& model_bytes, const std::string& dir,
                                      int threads) {
  SessionOptions so;
  so.threads = threads;
  auto s = Session::LoadFromMemory(model_bytes.data(), model_bytes.size(), so);
  if (!s.ok()) return s.status();
  return LoadInputSets(dir, (*s)->inputs());
}

/// Turns the imported input model (and its bytes) into the output model.
using Transform = std::function<Result<ir::Model>(const ir::Model&, const std::string&)>;

/// What both drivers share: read and import `input`, transform, write `output`, sizes, and when
/// `measure` the error and latency figures on `eval` (or on the sets in `dir`).
Status TransformFile(const std::string& input, const std::string& output, const Transform& fn,
                     bool measure, const std::string& dir, const std::vector<InputSet>* eval,
                     int threads, CompressReport* report,
                     const std::set<std::string>* int4_initializers = nullptr) {
  TERN_ASSIGN_OR_RETURN(std::string in_bytes, onnx::ReadFile(input, uint64_t{4} << 30));
  onnx::ImportOptions io;
  auto slash = input.find_last_of('/');
  io.model_dir = slash == std::string::npos ? "." : input.substr(0, slash + 1);
  auto model = onnx::ImportModel(in_bytes.data(), in_bytes.size(), io);
  if (!model.ok()) return model.status().WithContext(input);
  TERN_ASSIGN_OR_RETURN(ir::Model transformed, fn(*model, in_bytes));
  onnx::ExportOptions eo;
  if (int4_initializers) eo.int4_initializers = *int4_initializers;  // filled in by fn
  TERN_ASSIGN_OR_RETURN(std::string out_bytes, onnx::ExportModel(transformed, eo));
  {
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out.write(out_bytes.data(), static_cast<std::streamsize>(out_bytes.size()));
    if (!out) return IoError("cannot write '" + output + "'");
  }
  report->file_bytes_before = in_bytes.size();
  report->file_bytes_after = out_bytes.size();
  report->weight_bytes_before = WeightBytes(*model);
  report->weight_bytes_after = WeightBytes(transformed, eo.int4_initializers);
  if (!measure) return Status::Ok();
  if (dir.empty())
    return InvalidArgument("the report's error figures need --eval-dir or --calibration-dir");
  std::vector<InputSet> loaded;
  if (!eval || eval->empty()) {
    TERN_ASSIGN_OR_RETURN(loaded, SetsFor(in_bytes, dir, threads));
    eval = &loaded;
  }
  report->eval_source = dir;
  report->eval_sets = static_cast<int>(eval->size());
  TERN_ASSIGN_OR_RETURN(report->outputs, CompareModels(in_bytes, out_bytes, *eval, threads));
  TERN_ASSIGN_OR_RETURN(auto latency, MeasureLatency(in_bytes, out_bytes, *eval, threads));
  report->latency_ms_before = latency.first;
  report->latency_ms_after = latency.second;
  return Status::Ok();
}

}  // namespace

Status QuantizeFile(const QuantizeFileOptions& o, CompressReport* report) {
  const int threads = o.quantize.calibration.threads;
  std::vector<InputSet> calibration;
  QuantizeSummary summary;
  auto fn = [&](const ir::Model& model, const std::string& in_bytes) -> Result<ir::Model> {
    if (o.quantize.mode == QuantMode::kInt8Static) {
      if (o.calibration_dir.empty()) return InvalidArgument("int8-static needs --calibration-dir");
      TERN_ASSIGN_OR_RETURN(calibration, SetsFor(in_bytes, o.calibration_dir, threads));
    }
    return Quantize(model, o.quantize, calibration, &summary);
  };
  const std::string& dir = o.eval_dir.empty() ? o.calibration_dir : o.eval_dir;
  // The calibration sets are reused for the report when they are also the eval sets.
  const std::vector<InputSet>* eval = dir == o.calibration_dir ? &calibration : nullptr;
  TERN_RETURN_IF_ERROR(TransformFile(o.input, o.output, fn, o.measure, dir, eval, threads, report,
                                     &summary.int4_initializers));
  report->mode = ModeName(o.quantize.mode);
  report->summary = summary;
  return Status::Ok();
}

Status PruneFile(const PruneFileOptions& o, CompressReport* report) {
  auto fn = [&](const ir::Model& model, const std::string&) -> Result<ir::Model> {
    return Prune(model, o.prune, &report->prune);
  };
  TERN_RETURN_IF_ERROR(
      TransformFile(o.input, o.output, fn, o.measure, o.eval_dir, nullptr, o.threads, report));
  report->mode = o.prune.structured ? "prune-structured" : "prune";
  return Status::Ok();
}

}  // namespace tern::compress
