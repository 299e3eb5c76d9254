#include "ep/ref/reduce_util.h"

#include <string>

namespace tern::ref {

Result<std::vector<bool>> ReduceAxesMask(const std::vector<int64_t>& axes, size_t rank) {
  std::vector<bool> mask(rank, false);
  const int64_t r = static_cast<int64_t>(rank);
  for (int64_t a : axes) {
    if (a < -r || a >= r)
      return OutOfRange("axis " + std::to_string(a) + " is out of range for rank " +
                        std::to_string(rank));
    const size_t k = static_cast<size_t>(a < 0 ? a + r : a);
    if (mask[k]) return InvalidArgument("axis " + std::to_string(a) + " is repeated in axes");
    mask[k] = true;
  }
  return mask;
}

Shape ReducedShape(const Shape& in, const std::vector<bool>& mask, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < in.rank(); ++i) {
    if (!mask[i])
      out.push_back(in[i]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

void SplitAtAxis(const Shape& shape, size_t axis, int64_t* outer, int64_t* n, int64_t* inner) {
  *outer = shape.Product(0, axis);
  *n = shape[axis];
  *inner = shape.Product(axis + 1, shape.rank());
}

}  // namespace tern::ref
