#include "planner/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace tern::planner {

ArenaLayout PlanArena(const std::vector<BufferRequest>& requests) {
  ArenaLayout layout;
  const size_t n = requests.size();
  layout.offsets.assign(n, 0);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return requests[a].bytes > requests[b].bytes;
  });
  auto aligned = [](uint64_t b) { return (b + kArenaAlignment - 1) & ~(kArenaAlignment - 1); };
  std::vector<size_t> placed;
  std::vector<std::pair<uint64_t, uint64_t>> busy;  // [offset, end) of overlapping-in-time buffers
  for (size_t idx : order) {
    const BufferRequest& r = requests[idx];
    const uint64_t size = aligned(std::max<uint64_t>(r.bytes, 1));
    busy.clear();
    for (size_t p : placed) {
      const BufferRequest& q = requests[p];
      if (q.last_step < r.first_step || r.last_step < q.first_step) continue;
      busy.emplace_back(layout.offsets[p], layout.offsets[p] + aligned(std::max<uint64_t>(q.bytes, 1)));
    }
    std::sort(busy.begin(), busy.end());
    uint64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (offset + size <= begin) break;
      offset = std::max(offset, end);
    }
    layout.offsets[idx] = offset;
    layout.arena_bytes = std::max(layout.arena_bytes, offset + size);
    placed.push_back(idx);
  }
  return layout;
}

}  // namespace tern::planner
