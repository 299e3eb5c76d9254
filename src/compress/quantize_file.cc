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

}  // namespace

Status QuantizeFile(const QuantizeFileOptions& o, CompressReport* report) {
  TERN_ASSIGN_OR_RETURN(std::string in_bytes, onnx::ReadFile(o.input, uint64_t{4} << 30));
  onnx::ImportOptions io;
  auto slash = o.input.find_last_of('/');
  io.model_dir = slash == std::string::npos ? "." : o.input.substr(0, slash + 1);
  auto model = onnx::ImportModel(in_bytes.data(), in_bytes.size(), io);
  if (!model.ok()) return model.status().WithContext(o.input);
  const int threads = o.quantize.calibration.threads;
  std::vector<InputSet> calibration;
  if (o.quantize.mode == QuantMode::kInt8Static) {
    if (o.calibration_dir.empty()) return InvalidArgument("int8-static needs --calibration-dir");
    TERN_ASSIGN_OR_RETURN(calibration, SetsFor(in_bytes, o.calibration_dir, threads));
  }
  QuantizeSummary summary;
  TERN_ASSIGN_OR_RETURN(ir::Model quantized, Quantize(*model, o.quantize, calibration, &summary));
  TERN_ASSIGN_OR_RETURN(std::string out_bytes, onnx::ExportModel(quantized));
  {
    std::ofstream out(o.output, std::ios::binary | std::ios::trunc);
    out.write(out_bytes.data(), static_cast<std::streamsize>(out_bytes.size()));
    if (!out) return IoError("cannot write '" + o.output + "'");
  }
  report->mode = ModeName(o.quantize.mode);
  report->summary = summary;
  report->file_bytes_before = in_bytes.size();
  report->file_bytes_after = out_bytes.size();
  report->weight_bytes_before = WeightBytes(*model);
  report->weight_bytes_after = WeightBytes(quantized);
  if (!o.measure) return Status::Ok();
  const std::string& dir = o.eval_dir.empty() ? o.calibration_dir : o.eval_dir;
  if (dir.empty())
    return InvalidArgument("the report's error figures need --eval-dir or --calibration-dir");
  std::vector<InputSet> eval;
  if (dir == o.calibration_dir && !calibration.empty()) {
    eval = calibration;
  } else {
    TERN_ASSIGN_OR_RETURN(eval, SetsFor(in_bytes, dir, threads));
  }
  report->eval_source = dir;
  report->eval_sets = static_cast<int>(eval.size());
  TERN_ASSIGN_OR_RETURN(report->outputs, CompareModels(in_bytes, out_bytes, eval, threads));
  return Status::Ok();
}

}  // namespace tern::compress
