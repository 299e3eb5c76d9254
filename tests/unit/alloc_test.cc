// Steady-state runs allocate a fixed number of blocks (inputs/outputs bookkeeping), independent
// of how many nodes the graph has: intermediates live in the planned arena.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "model_builder.h"
#include "tern/session.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
// Every form is replaced, so that no block allocated by a sanitizer's operator new is released
// with free() here (ASan reports that as a mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

std::string Chain(int nodes) {
  ModelBuilder b;
  b.Input("x", kF, {8, 16}).Output("y", kF, {8, 16});
  std::string prev = "x";
  for (int i = 0; i < nodes; ++i) {
    std::string out =
        i + 1 == nodes ? std::string("y") : std::string("v").append(std::to_string(i));
    b.Node(i % 2 ? "Mul" : "Add", {prev, "x"}, {out});
    prev = out;
  }
  return b.Bytes();
}

long AllocationsPerRun(int nodes) {
  std::string bytes = Chain(nodes);
  SessionOptions o;
  o.threads = 1;
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size(), o);
  EXPECT_TRUE(s.ok());
  Tensor x = Tensor::Allocate(DataType::kFloat32, Shape{8, 16}).value();
  std::vector<Value> inputs = {Value(x)};
  std::vector<Value> out;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*s)->Run(inputs, &out).ok());  // record, plan, warm
  g_allocs = 0;
  g_counting = true;
  EXPECT_TRUE((*s)->Run(inputs, &out).ok());
  g_counting = false;
  return g_allocs.load();
}

TEST(Allocation, SteadyStateRunsDoNotAllocatePerNode) {
  long small = AllocationsPerRun(4);
  long large = AllocationsPerRun(64);
  EXPECT_EQ(small, large) << "allocations grew with the node count";
  // What is left: Session::Run's vector of input pointers and the holder of the output tensor
  // (the tensor's memory itself comes from aligned_alloc, which operator new does not see).
  EXPECT_LE(large, 2) << "per-run bookkeeping grew";
}

}  // namespace
}  // namespace tern
