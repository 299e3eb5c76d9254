// `tern prune`: argument handling only; the work is in src/compress/prune.cc.
#include <cstdio>

#include "commands.h"
#include "compress/quantize_file.h"

namespace tern::cli {

int RunPrune(const PruneCliOptions& o) {
  compress::PruneFileOptions f;
  f.input = o.input;
  f.output = o.output;
  f.eval_dir = o.eval_dir;
  f.measure = o.report || !o.report_json.empty();
  f.threads = o.common.threads;
  f.prune.sparsity = o.sparsity;
  f.prune.structured = o.structured;
  f.prune.exclude_nodes.insert(o.exclude_nodes.begin(), o.exclude_nodes.end());
  if (f.measure && f.eval_dir.empty()) {
    std::fprintf(stderr,
                 "tern prune: --report needs --eval-dir DIR (test_data_set_*/input_K.pb)\n");
    return 2;
  }
  compress::CompressReport report;
  Status st = compress::PruneFile(f, &report);
  if (!st.ok()) {
    std::fprintf(stderr, "tern prune: %s\n", st.ToString().c_str());
    return 1;
  }
  return WriteCompressReport("tern prune", o.output, report, o.report, o.report_json);
}

}  // namespace tern::cli
