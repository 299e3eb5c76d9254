#include "ep/ref/rnn_util.h"

#include <cctype>
#include <map>

namespace tern::ref {
namespace {

struct ActInfo {
  RnnActivation::Kind kind;
  bool uses_alpha;
  bool uses_beta;
  float alpha;  // defaults
  float beta;
};

const std::map<std::string, ActInfo>& ActTable() {
  using K = RnnActivation::Kind;
  static const std::map<std::string, ActInfo> table = {
      {"relu", {K::kRelu, false, false, 0, 0}},
      {"tanh", {K::kTanh, false, false, 0, 0}},
      {"sigmoid", {K::kSigmoid, false, false, 0, 0}},
      {"affine", {K::kAffine, true, true, 1.0f, 0.0f}},
      {"leakyrelu", {K::kLeakyRelu, true, false, 0.01f, 0}},
      {"thresholdedrelu", {K::kThresholdedRelu, true, false, 1.0f, 0}},
      {"scaledtanh", {K::kScaledTanh, true, true, 1.0f, 1.0f}},
      {"hardsigmoid", {K::kHardSigmoid, true, true, 0.2f, 0.5f}},
      {"elu", {K::kElu, true, false, 1.0f, 0}},
      {"softsign", {K::kSoftsign, false, false, 0, 0}},
      {"softplus", {K::kSoftplus, false, false, 0, 0}},
  };
  return table;
}

template <typename T, typename A>
void ToAcc(const Tensor& t, std::vector<A>* out) {
  const int64_t n = t.numel();
  out->resize(static_cast<size_t>(n));
  const T* p = t.data<T>();
  for (int64_t i = 0; i < n; ++i) (*out)[static_cast<size_t>(i)] = static_cast<A>(p[i]);
}

bool HasShape(const Tensor& t, std::initializer_list<int64_t> dims) {
  return t.shape() == Shape(dims);
}

}  // namespace

Status ParseRnnAttrs(const KernelInfo& info, int num_gates,
                     const std::vector<std::string>& defaults, RnnAttrs* out) {
  out->num_gates = num_gates;
  out->acts_per_dir = static_cast<int>(defaults.size());
  const std::string dir = info.GetString("direction", "forward");
  if (dir == "forward") {
    out->num_directions = 1;
  } else if (dir == "reverse") {
    out->num_directions = 1;
    out->reverse = true;
  } else if (dir == "bidirectional") {
    out->num_directions = 2;
  } else {
    return info.Error(StatusCode::kInvalidModel, "unknown direction '" + dir + "'");
  }
  if (info.has_attr("hidden_size")) {
    out->hidden_size = info.GetInt("hidden_size", -1);
    if (out->hidden_size <= 0 || out->hidden_size > (int64_t{1} << 24))
      return info.Error(StatusCode::kInvalidModel,
                        "hidden_size must be positive, got " + std::to_string(out->hidden_size));
  }
  const int64_t layout = info.GetInt("layout", 0);
  if (layout != 0 && layout != 1)
    return info.Error(StatusCode::kInvalidModel, "layout must be 0 or 1");
  out->layout = static_cast<int>(layout);
  if (info.has_attr("clip")) {
    out->has_clip = true;
    out->clip = info.GetFloat("clip", 0);
    if (!(out->clip >= 0))
      return info.Error(StatusCode::kInvalidModel, "clip must be non-negative");
  }
  std::vector<std::string> names = info.GetStrings("activations");
  const size_t want = defaults.size() * static_cast<size_t>(out->num_directions);
  if (names.empty()) {
    for (int d = 0; d < out->num_directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == defaults.size() && out->num_directions == 2) {
    std::vector<std::string> both = names;
    both.insert(both.end(), names.begin(), names.end());
    names = both;
  }
  if (names.size() != want)
    return info.Error(
        StatusCode::kInvalidModel,
        "expected " + std::to_string(want) + " activations, got " + std::to_string(names.size()));
  const std::vector<float> alphas = info.GetFloats("activation_alpha");
  const std::vector<float> betas = info.GetFloats("activation_beta");
  size_t ai = 0, bi = 0;
  out->acts.clear();
  for (const std::string& name : names) {
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto it = ActTable().find(lower);
    if (it == ActTable().end())
      return info.Error(StatusCode::kNotImplemented, "unsupported activation '" + name + "'");
    RnnActivation a;
    a.kind = it->second.kind;
    a.alpha = it->second.alpha;
    a.beta = it->second.beta;
    if (it->second.uses_alpha && ai < alphas.size()) a.alpha = alphas[ai++];
    if (it->second.uses_beta && bi < betas.size()) a.beta = betas[bi++];
    out->acts.push_back(a);
  }
  return Status::Ok();
}

template <typename T>
Status LoadRnnInputs(const KernelContext& ctx, const RnnAttrs& attrs, bool lstm,
                     RnnData<AccT<T>>* d) {
  for (size_t i = 0; i < 3; ++i)
    if (!ctx.has_input(i) || !ctx.input_value(i)->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input " + std::to_string(i) + " (X, W, R) is required");
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  const Tensor& R = ctx.input(2);
  const DataType dt = X.dtype();
  auto check_type = [&](const Tensor& t, const char* what) -> Status {
    if (t.dtype() != dt)
      return ctx.Error(StatusCode::kInvalidArgument,
                       std::string(what) + " must have the type of X (" + DataTypeName(dt) + ")");
    return Status::Ok();
  };
  if (X.rank() != 3 || W.rank() != 3 || R.rank() != 3)
    return ctx.Error(StatusCode::kInvalidArgument,
                     "X, W and R must have rank 3, got " + X.shape().ToString() + ", " +
                         W.shape().ToString() + ", " + R.shape().ToString());
  TERN_RETURN_IF_ERROR(check_type(W, "W"));
  TERN_RETURN_IF_ERROR(check_type(R, "R"));
  const int nd = attrs.num_directions;
  const int64_t G = attrs.num_gates;
  d->nd = nd;
  d->seq = attrs.layout == 0 ? X.dim(0) : X.dim(1);
  d->batch = attrs.layout == 0 ? X.dim(1) : X.dim(0);
  d->input = X.dim(2);
  const int64_t H = attrs.hidden_size > 0 ? attrs.hidden_size : R.dim(2);
  d->hidden = H;
  const int64_t N = d->batch, I = d->input;
  if (H <= 0 || !HasShape(R, {nd, G * H, H}))
    return ctx.Error(StatusCode::kInvalidArgument,
                     "R must have shape [" + std::to_string(nd) + "," + std::to_string(G * H) +
                         "," + std::to_string(H) + "], got " + R.shape().ToString());
  if (!HasShape(W, {nd, G * H, I}))
    return ctx.Error(StatusCode::kInvalidArgument,
                     "W must have shape [" + std::to_string(nd) + "," + std::to_string(G * H) +
                         "," + std::to_string(I) + "], got " + W.shape().ToString());
  using A = AccT<T>;
  // Working buffers hold Y and the states in A; bound them before allocating (X may be empty
  // while its other dims are huge).
  constexpr uint64_t kMaxBuffer = uint64_t{1} << 32;
  TERN_RETURN_IF_ERROR(CheckShape(Shape{d->seq, nd, N, H}, DataTypeOf<A>(), "Y", kMaxBuffer));
  TERN_RETURN_IF_ERROR(CheckShape(Shape{nd, N, H}, DataType::kInt64, "Y_h", kMaxBuffer));
  // X to layout 0.
  d->x.resize(static_cast<size_t>(X.numel()));
  const T* xp = X.data<T>();
  for (int64_t s = 0; s < d->seq; ++s)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t src = attrs.layout == 0 ? (s * N + n) * I : (n * d->seq + s) * I;
      for (int64_t i = 0; i < I; ++i)
        d->x[static_cast<size_t>((s * N + n) * I + i)] = static_cast<A>(xp[src + i]);
    }
  ToAcc<T>(W, &d->w);
  ToAcc<T>(R, &d->r);
  if (ctx.has_input(3)) {
    const Tensor& B = ctx.input(3);
    TERN_RETURN_IF_ERROR(check_type(B, "B"));
    if (!HasShape(B, {nd, 2 * G * H}))
      return ctx.Error(StatusCode::kInvalidArgument, "B must have shape [" + std::to_string(nd) +
                                                         "," + std::to_string(2 * G * H) +
                                                         "], got " + B.shape().ToString());
    ToAcc<T>(B, &d->b);
  } else {
    d->b.assign(static_cast<size_t>(nd * 2 * G * H), A(0));
  }
  d->lens.assign(static_cast<size_t>(N), d->seq);
  if (ctx.has_input(4)) {
    const Tensor& L = ctx.input(4);
    if (L.rank() != 1 || L.dim(0) != N)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "sequence_lens must have shape [" + std::to_string(N) + "], got " + L.shape().ToString());
    TERN_ASSIGN_OR_RETURN(d->lens, ReadInts(L, "sequence_lens"));
    for (int64_t l : d->lens)
      if (l < 0 || l > d->seq)
        return ctx.Error(StatusCode::kOutOfRange, "sequence_lens value " + std::to_string(l) +
                                                      " is outside [0, " + std::to_string(d->seq) +
                                                      "]");
  }
  // Initial states, normalised to [nd][N][H].
  auto load_state = [&](size_t idx, const char* what, std::vector<A>* out) -> Status {
    out->assign(static_cast<size_t>(nd * N * H), A(0));
    if (!ctx.has_input(idx)) return Status::Ok();
    const Tensor& t = ctx.input(idx);
    TERN_RETURN_IF_ERROR(check_type(t, what));
    const bool ok = attrs.layout == 0 ? HasShape(t, {nd, N, H}) : HasShape(t, {N, nd, H});
    if (!ok)
      return ctx.Error(StatusCode::kInvalidArgument,
                       std::string(what) + " has shape " + t.shape().ToString() + ", expected " +
                           (attrs.layout == 0 ? "[dirs,batch,hidden]" : "[batch,dirs,hidden]"));
    const T* p = t.data<T>();
    for (int64_t dir = 0; dir < nd; ++dir)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t src = attrs.layout == 0 ? (dir * N + n) * H : (n * nd + dir) * H;
        for (int64_t j = 0; j < H; ++j)
          (*out)[static_cast<size_t>((dir * N + n) * H + j)] = static_cast<A>(p[src + j]);
      }
    return Status::Ok();
  };
  TERN_RETURN_IF_ERROR(load_state(5, "initial_h", &d->h0));
  if (lstm) {
    TERN_RETURN_IF_ERROR(load_state(6, "initial_c", &d->c0));
    if (ctx.has_input(7)) {
      const Tensor& P = ctx.input(7);
      TERN_RETURN_IF_ERROR(check_type(P, "P"));
      if (!HasShape(P, {nd, 3 * H}))
        return ctx.Error(StatusCode::kInvalidArgument, "P must have shape [" + std::to_string(nd) +
                                                           "," + std::to_string(3 * H) + "], got " +
                                                           P.shape().ToString());
      ToAcc<T>(P, &d->p);
    } else {
      d->p.assign(static_cast<size_t>(nd * 3 * H), A(0));
    }
  }
  return Status::Ok();
}

template <typename T>
Status WriteRnnOutputs(KernelContext& ctx, const RnnAttrs& attrs, const RnnData<AccT<T>>& d,
                       const std::vector<AccT<T>>& y, const std::vector<AccT<T>>& yh,
                       const std::vector<AccT<T>>* yc) {
  const DataType dt = DataTypeOf<T>();
  const int64_t S = d.seq, N = d.batch, H = d.hidden, nd = d.nd;
  if (ctx.output_wanted(0)) {
    Shape shape = attrs.layout == 0 ? Shape{S, nd, N, H} : Shape{N, S, nd, H};
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, dt, shape));
    T* o = out->data<T>();
    for (int64_t s = 0; s < S; ++s)
      for (int64_t dir = 0; dir < nd; ++dir)
        for (int64_t n = 0; n < N; ++n) {
          const int64_t src = ((s * nd + dir) * N + n) * H;
          const int64_t dst = attrs.layout == 0 ? src : ((n * S + s) * nd + dir) * H;
          for (int64_t j = 0; j < H; ++j)
            o[dst + j] = static_cast<T>(y[static_cast<size_t>(src + j)]);
        }
  }
  auto write_state = [&](size_t idx, const std::vector<AccT<T>>& v) -> Status {
    Shape shape = attrs.layout == 0 ? Shape{nd, N, H} : Shape{N, nd, H};
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(idx, dt, shape));
    T* o = out->data<T>();
    for (int64_t dir = 0; dir < nd; ++dir)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t src = (dir * N + n) * H;
        const int64_t dst = attrs.layout == 0 ? src : (n * nd + dir) * H;
        for (int64_t j = 0; j < H; ++j)
          o[dst + j] = static_cast<T>(v[static_cast<size_t>(src + j)]);
      }
    return Status::Ok();
  };
  if (ctx.output_wanted(1)) TERN_RETURN_IF_ERROR(write_state(1, yh));
  if (yc && ctx.output_wanted(2)) TERN_RETURN_IF_ERROR(write_state(2, *yc));
  return Status::Ok();
}

#define TERN_RNN_INSTANTIATE(T)                                                                \
  template Status LoadRnnInputs<T>(const KernelContext&, const RnnAttrs&, bool,                \
                                   RnnData<AccT<T>>*);                                         \
  template Status WriteRnnOutputs<T>(KernelContext&, const RnnAttrs&, const RnnData<AccT<T>>&, \
                                     const std::vector<AccT<T>>&, const std::vector<AccT<T>>&, \
                                     const std::vector<AccT<T>>*);
TERN_RNN_INSTANTIATE(float)
TERN_RNN_INSTANTIATE(double)
TERN_RNN_INSTANTIATE(Float16)
TERN_RNN_INSTANTIATE(BFloat16)
#undef TERN_RNN_INSTANTIATE

}  // namespace tern::ref
