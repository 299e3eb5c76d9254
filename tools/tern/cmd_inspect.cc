// `tern inspect`: opsets, inputs and outputs, op histogram, and where each node runs and why.
#include <cstdio>

#include "commands.h"

namespace tern::cli {

int RunInspect(const InspectOptions& o) {
  auto session = Session::Load(o.model, o.common.ToSessionOptions());
  if (!session.ok()) {
    std::fprintf(stderr, "tern inspect: %s\n", session.status().ToString().c_str());
    return 1;
  }
  const Session& s = **session;
  std::printf("model: %s\nir_version: %lld\nopsets:", o.model.c_str(),
              static_cast<long long>(s.ir_version()));
  for (const auto& [domain, version] : s.opsets())
    std::printf(" %s=%lld", domain.empty() ? "ai.onnx" : domain.c_str(),
                static_cast<long long>(version));
  std::printf("\ninputs:\n");
  auto kind = [](const IoInfo& io) {
    switch (io.kind) {
      case IoInfo::Kind::kSequence: return "sequence of ";
      case IoInfo::Kind::kOptional: return "optional ";
      default: return "";
    }
  };
  for (const auto& io : s.inputs())
    std::printf("  %s: %s%s %s\n", io.name.c_str(), kind(io), DataTypeName(io.dtype),
                io.ShapeString().c_str());
  std::printf("outputs:\n");
  for (const auto& io : s.outputs())
    std::printf("  %s: %s%s %s\n", io.name.c_str(), kind(io), DataTypeName(io.dtype),
                io.ShapeString().c_str());
  const OptimizationReport& opt = s.optimization_report();
  std::printf("nodes: %zu", opt.nodes_after);
  if (opt.nodes_before != opt.nodes_after)
    std::printf(" (%zu before optimization)", opt.nodes_before);
  std::printf("\npasses:");
  if (opt.passes.empty()) std::printf(" none");
  for (size_t k = 0; k < opt.passes.size(); ++k)
    std::printf("%s %s %s %d nodes", k ? "," : "", opt.passes[k].pass.c_str(),
                opt.passes[k].verb.c_str(), opt.passes[k].count);
  std::printf("\nops:\n");
  for (const auto& [op, count] : s.OpHistogram()) std::printf("  %-28s %d\n", op.c_str(), count);
  if (o.values) {
    std::printf("values (static inference):\n");
    for (const auto& [name, type] : s.ValueTypes()) std::printf("  %-40s %s\n", name.c_str(), type.c_str());
  }
  std::printf("placement:\n");
  std::map<std::string, int> per_provider;
  for (const auto& p : s.placements()) ++per_provider[p.provider];
  for (const auto& [provider, count] : per_provider)
    std::printf("  %s: %d nodes\n", provider.c_str(), count);
  for (const auto& p : s.placements())
    std::printf("  %-40s %-20s -> %s (%s)\n", p.node_name.empty() ? "(unnamed)" : p.node_name.c_str(),
                p.op_type.c_str(), p.provider.c_str(), p.reason.c_str());
  return 0;
}

}  // namespace tern::cli
