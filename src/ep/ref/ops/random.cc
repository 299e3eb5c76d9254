// RandomUniform, RandomNormal, RandomUniformLike, RandomNormalLike and Bernoulli.
// With a `seed` attribute every run draws the same sequence (a 64-bit Mersenne Twister seeded
// from it); without one each run is seeded from std::random_device. Kernels keep no state.
#include <random>

#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

/// The common attributes of the random ops.
struct RandomAttrs {
  bool has_seed = false;
  float seed = 0.f;
  bool has_dtype = false;
  DataType dtype = DataType::kFloat32;

  Status Init(const KernelInfo& info) {
    has_seed = info.has_attr("seed");
    seed = info.GetFloat("seed", 0.f);
    has_dtype = info.has_attr("dtype");
    if (has_dtype) {
      const int64_t d = info.GetInt("dtype", 1);
      if (d < 0 || d > 64 || !IsValidDataType(static_cast<int32_t>(d)))
        return info.Error(StatusCode::kInvalidModel, "invalid dtype " + std::to_string(d));
      dtype = static_cast<DataType>(d);
    }
    return Status::Ok();
  }

  std::mt19937_64 MakeGenerator() const {
    if (has_seed) {
      uint32_t bits;
      std::memcpy(&bits, &seed, sizeof(bits));
      return std::mt19937_64(bits);
    }
    std::random_device rd;
    return std::mt19937_64((static_cast<uint64_t>(rd()) << 32) ^ rd());
  }
};

/// Uniform in [0, 1) with 53 random bits.
double Uniform01(std::mt19937_64& gen) {
  return static_cast<double>(gen() >> 11) * (1.0 / 9007199254740992.0);
}

/// Standard normal by the Box-Muller transform.
double StandardNormal(std::mt19937_64& gen) {
  const double u1 = 1.0 - Uniform01(gen);  // (0, 1]
  const double u2 = Uniform01(gen);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925286766559 * u2);
}

enum class Dist { kUniform, kNormal };

/// RandomUniform / RandomNormal (shape attribute) and their *Like variants (shape of input 0).
template <Dist D, bool Like>
class RandomKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(attrs_.Init(info));
    if (D == Dist::kUniform) {
      a_ = info.GetFloat("low", 0.f);
      b_ = info.GetFloat("high", 1.f);
    } else {
      a_ = info.GetFloat("mean", 0.f);
      b_ = info.GetFloat("scale", 1.f);
    }
    if (!Like) {
      if (!info.has_attr("shape"))
        return info.Error(StatusCode::kInvalidModel, "the shape attribute is required");
      shape_ = Shape(info.GetInts("shape"));
      TERN_RETURN_IF_ERROR(CheckShape(shape_, attrs_.dtype, "shape"));
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    Shape shape = shape_;
    DataType type = attrs_.dtype;
    if (Like) {
      if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "input is required");
      shape = ctx.input(0).shape();
      if (!attrs_.has_dtype) type = ctx.input(0).dtype();
    }
    if (!IsFloatType(type))
      return ctx.Error(StatusCode::kNotImplemented,
                       std::string("output type ") + DataTypeName(type) + " is not supported");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, type, shape));
    std::mt19937_64 gen = attrs_.MakeGenerator();
    const int64_t n = shape.NumElements();
    return Visit<kFloats>(type, [&](auto tag) -> Status {
      using T = decltype(tag);
      T* py = y->data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const double v =
            D == Dist::kUniform ? a_ + (b_ - a_) * Uniform01(gen) : a_ + b_ * StandardNormal(gen);
        py[i] = static_cast<T>(static_cast<AccT<T>>(v));
      }
      return Status::Ok();
    });
  }

 private:
  RandomAttrs attrs_;
  double a_ = 0, b_ = 1;
  Shape shape_;
};

/// Bernoulli: 1 with the probability given by each input element, else 0.
class BernoulliKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) { return attrs_.Init(info); }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "input is required");
    const Tensor& x = ctx.input(0);
    if (!IsFloatType(x.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "input must be a float tensor");
    const DataType type = attrs_.has_dtype ? attrs_.dtype : x.dtype();
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, type, x.shape()));
    std::mt19937_64 gen = attrs_.MakeGenerator();
    const int64_t n = x.numel();
    return Visit<kNumeric | kBoolType>(type, [&](auto tag) -> Status {
      using T = decltype(tag);
      T* py = y->data<T>();
      for (int64_t i = 0; i < n; ++i) {
        const bool one = Uniform01(gen) < ReadAsDouble(x, i);
        py[i] = static_cast<T>(static_cast<AccT<T>>(one ? 1 : 0));
      }
      return Status::Ok();
    });
  }

 private:
  RandomAttrs attrs_;
};

}  // namespace

void Register_random(KernelRegistry& r) {
  r.Add("", "RandomUniform", Create<RandomKernel<Dist::kUniform, false>>);
  r.Add("", "RandomNormal", Create<RandomKernel<Dist::kNormal, false>>);
  r.Add("", "RandomUniformLike", Create<RandomKernel<Dist::kUniform, true>>);
  r.Add("", "RandomNormalLike", Create<RandomKernel<Dist::kNormal, true>>);
  r.Add("", "Bernoulli", Create<BernoulliKernel>, 15);
}

}  // namespace tern::ref
