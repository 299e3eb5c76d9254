// Value: what a graph input or output holds — a tensor, a sequence of tensors, or an empty
// optional. Most models only ever see tensors.
#pragma once

#include <memory>
#include <vector>

#include "tern/tensor.h"

namespace tern {

/// A tensor, a sequence of tensors, or nothing (an empty optional or an absent value).
struct Value {
  enum class Kind : uint8_t { kNone, kTensor, kSequence };
  Kind kind = Kind::kNone;
  Tensor tensor;                 ///< when kind == kTensor
  std::vector<Tensor> sequence;  ///< when kind == kSequence
  DataType elem_type = DataType::kUndefined;  ///< element type of a (possibly empty) sequence
  bool optional = false;  ///< the value is an optional (kNone then means "empty optional")

  Value() = default;
  Value(Tensor t) : kind(Kind::kTensor), tensor(std::move(t)) {}  // NOLINT: implicit by design
  static Value Sequence(std::vector<Tensor> items, DataType elem_type) {
    Value v;
    v.kind = Kind::kSequence;
    v.sequence = std::move(items);
    v.elem_type = elem_type;
    return v;
  }
  static Value EmptyOptional() {
    Value v;
    v.optional = true;
    return v;
  }
  bool is_tensor() const { return kind == Kind::kTensor; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_none() const { return kind == Kind::kNone; }
};

}  // namespace tern
