// Buffer placement inside one arena from value lifetimes. Greedy by size (largest first, each at
// the lowest offset that does not overlap, in time and space, a buffer already placed): simple,
// and within a few percent of optimal on real networks.
#pragma once

#include <cstdint>
#include <vector>

namespace tern::planner {

struct BufferRequest {
  uint64_t bytes = 0;
  int first_step = 0;  ///< step that writes it
  int last_step = 0;   ///< last step that reads it (inclusive)
};

struct ArenaLayout {
  std::vector<uint64_t> offsets;  ///< one per request
  uint64_t arena_bytes = 0;
};

constexpr uint64_t kArenaAlignment = 64;

ArenaLayout PlanArena(const std::vector<BufferRequest>& requests);

}  // namespace tern::planner
