#include <gtest/gtest.h>

#include "tern/tensor.h"

TEST(Tensor, AllocateAndShape) {
  auto t = tern::Tensor::Allocate(tern::DataType::kFloat32, tern::Shape{2, 3});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->numel(), 6);
  EXPECT_EQ(t->nbytes(), 24u);
}
