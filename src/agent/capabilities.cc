#include "agent/capabilities.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>

#include "core/cpu_features.h"

namespace tern::agent {

fleet::Json DeviceCapabilities::ToJson() const {
  fleet::Json j = {{"cpu_features", cpu_features},
                   {"providers", providers},
                   {"memory_bytes", memory_bytes},
                   {"free_storage_bytes", free_storage_bytes}};
  if (!os.empty()) j["os"] = os;
  if (!arch.empty()) j["arch"] = arch;
  return j;
}

DeviceCapabilities DetectCapabilities(const std::string& state_dir,
                                      const std::vector<std::string>& providers) {
  DeviceCapabilities c;
  const CpuFeatures& f = GetCpuFeatures();
  if (f.avx2) c.cpu_features.insert(c.cpu_features.end(), {"avx2", "f16c", "fma"});
  if (f.avx512) {
    c.cpu_features.insert(c.cpu_features.end(), {"avx512bw", "avx512dq", "avx512f", "avx512vl"});
  }
  if (f.avx512vnni) c.cpu_features.push_back("avx512vnni");
  if (f.avxvnni) c.cpu_features.push_back("avxvnni");
  c.providers = providers;
  long pages = ::sysconf(_SC_PHYS_PAGES);
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) c.memory_bytes = static_cast<uint64_t>(pages) * page_size;
  struct statvfs vfs {};
  if (::statvfs(state_dir.c_str(), &vfs) == 0) {
    c.free_storage_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  struct utsname u {};
  if (::uname(&u) == 0) {
    std::string os = u.sysname, arch = u.machine;
    std::transform(os.begin(), os.end(), os.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    c.os = os;
    c.arch = arch;
  }
  return c;
}

Result<fleet::TargetVariant> ChooseVariant(const fleet::TargetsMetadata& manifest,
                                           const DeviceCapabilities& caps) {
  const fleet::TargetVariant* best = nullptr;
  size_t best_rank = 0;
  for (const auto& v : manifest.variants) {
    auto p = std::find(caps.providers.begin(), caps.providers.end(), v.provider);
    if (p == caps.providers.end()) continue;
    bool has_all = std::all_of(v.cpu_features.begin(), v.cpu_features.end(), [&](const auto& f) {
      return std::find(caps.cpu_features.begin(), caps.cpu_features.end(), f) !=
             caps.cpu_features.end();
    });
    if (!has_all) continue;
    size_t rank = static_cast<size_t>(p - caps.providers.begin());
    if (!best || rank < best_rank ||
        (rank == best_rank && v.cpu_features.size() > best->cpu_features.size())) {
      best = &v;
      best_rank = rank;
    }
  }
  if (!best) {
    return Status(StatusCode::kNotImplemented, "no variant of " + manifest.model + " " +
                                                   manifest.model_version + " runs on this device");
  }
  return *best;
}

}  // namespace tern::agent
