// Einsum: general Einstein summation over any number of inputs: explicit or implicit output,
// repeated labels within an input (diagonals), broadcast ellipsis dims, summed labels.
// Computed directly: for each output element, sum the product of the inputs over the
// contracted labels.
#include <algorithm>
#include <array>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

constexpr int kLetters = 52;

int LabelOf(char ch) {
  if (ch >= 'a' && ch <= 'z') return ch - 'a';
  if (ch >= 'A' && ch <= 'Z') return 26 + (ch - 'A');
  return -1;
}

// One term of the equation: label ids, -1 marks the ellipsis position.
Status ParseTerm(const std::string& s, std::vector<int>* labels) {
  labels->clear();
  bool ellipsis = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (ellipsis || s.compare(i, 3, "...") != 0)
        return InvalidArgument("bad ellipsis in einsum term '" + s + "'");
      ellipsis = true;
      labels->push_back(-1);
      i += 2;
      continue;
    }
    const int l = LabelOf(s[i]);
    if (l < 0) return InvalidArgument(std::string("bad einsum label '") + s[i] + "'");
    labels->push_back(l);
  }
  return Status::Ok();
}

class EinsumKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    std::string eq;
    for (char ch : info.GetString("equation", ""))
      if (ch != ' ') eq.push_back(ch);
    const size_t arrow = eq.find("->");
    explicit_ = arrow != std::string::npos;
    std::string lhs = explicit_ ? eq.substr(0, arrow) : eq;
    size_t start = 0;
    while (true) {
      size_t comma = lhs.find(',', start);
      std::vector<int> t;
      Status st = ParseTerm(lhs.substr(start, comma - start), &t);
      if (!st.ok()) return info.Error(StatusCode::kInvalidModel, st.message());
      terms_.push_back(std::move(t));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (explicit_) {
      Status st = ParseTerm(eq.substr(arrow + 2), &out_);
      if (!st.ok()) return info.Error(StatusCode::kInvalidModel, st.message());
      std::array<int, kLetters> seen{};
      for (int l : out_) {
        if (l >= 0 && seen[l]++)
          return info.Error(StatusCode::kInvalidModel, "repeated label in einsum output");
        if (l >= 0) {
          bool found = false;
          for (const auto& t : terms_) found |= std::count(t.begin(), t.end(), l) > 0;
          if (!found)
            return info.Error(StatusCode::kInvalidModel, "einsum output label not in inputs");
        }
      }
    } else {
      std::array<int, kLetters> count{};
      bool ellipsis = false;
      for (const auto& t : terms_)
        for (int l : t) (l >= 0 ? (void)++count[l] : (void)(ellipsis = true));
      if (ellipsis) out_.push_back(-1);
      // Uppercase sorts before lowercase, as in numpy.
      for (int l = 26; l < kLetters; ++l)
        if (count[l] == 1) out_.push_back(l);
      for (int l = 0; l < 26; ++l)
        if (count[l] == 1) out_.push_back(l);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const size_t n = terms_.size();
    if (ctx.num_inputs() != n)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "equation has " + std::to_string(n) + " terms but there are " +
                           std::to_string(ctx.num_inputs()) + " inputs");
    for (size_t i = 0; i < n; ++i)
      if (!ctx.has_input(i) || ctx.input(i).dtype() != ctx.input(0).dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "inputs must be given, of one type");
    // Ellipsis rank and the dims of every label (letters 0..51, ellipsis dims 52+).
    int64_t ell_rank = 0;
    std::vector<int64_t> ell_of(n, 0);
    for (size_t i = 0; i < n; ++i) {
      const int64_t letters = static_cast<int64_t>(
          std::count_if(terms_[i].begin(), terms_[i].end(), [](int l) { return l >= 0; }));
      const bool has_ell = letters != static_cast<int64_t>(terms_[i].size());
      const int64_t rank = static_cast<int64_t>(ctx.input(i).rank());
      if (rank < letters || (!has_ell && rank != letters))
        return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(i) + " " +
                                                           ctx.input(i).shape().ToString() +
                                                           " does not match its einsum term");
      ell_of[i] = rank - letters;
      ell_rank = std::max(ell_rank, ell_of[i]);
    }
    const size_t nlabels = kLetters + static_cast<size_t>(ell_rank);
    std::vector<int64_t> dim(nlabels, -1);
    // strides[i][label]: element stride of input i for that label (summed over repeats).
    std::vector<std::vector<int64_t>> strides(n, std::vector<int64_t>(nlabels, 0));
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = ctx.input(i);
      const auto st = Strides(t.shape());
      size_t axis = 0;
      for (int l : terms_[i]) {
        std::vector<std::pair<size_t, size_t>> items;  // (label, axis)
        if (l >= 0) {
          items.push_back({static_cast<size_t>(l), axis++});
        } else {
          for (int64_t e = 0; e < ell_of[i]; ++e)
            items.push_back({kLetters + static_cast<size_t>(ell_rank - ell_of[i] + e), axis++});
        }
        for (auto [lab, ax] : items) {
          const int64_t d = t.dim(ax);
          int64_t& cur = dim[lab];
          if (cur < 0 || cur == 1) {
            cur = d;
          } else if (d != cur && d != 1) {
            return ctx.Error(StatusCode::kInvalidArgument,
                             "einsum dims disagree for a label: " + std::to_string(cur) + " vs " +
                                 std::to_string(d));
          }
          if (d != 1) strides[i][lab] += st[ax];
        }
      }
    }
    // Output labels and summed labels.
    std::vector<size_t> out_labels, sum_labels;
    for (int l : out_)
      if (l >= 0) {
        out_labels.push_back(static_cast<size_t>(l));
      } else {
        for (int64_t e = 0; e < ell_rank; ++e) out_labels.push_back(kLetters + e);
      }
    for (size_t lab = 0; lab < nlabels; ++lab)
      if (dim[lab] >= 0 && std::find(out_labels.begin(), out_labels.end(), lab) == out_labels.end())
        sum_labels.push_back(lab);
    Shape out_shape;
    for (size_t lab : out_labels) out_shape.push_back(dim[lab] < 0 ? 1 : dim[lab]);
    std::vector<int64_t> sum_dims;
    for (size_t lab : sum_labels) sum_dims.push_back(dim[lab]);
    TERN_ASSIGN_OR_RETURN(int64_t sum_count, nn::CheckedProduct(sum_dims));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, ctx.input(0).dtype(), out_shape));
    return Visit<kNumeric>(y->dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = nn::MatAccT<T>;
      std::vector<int64_t> oidx(out_labels.size(), 0), sidx(sum_labels.size(), 0);
      const std::vector<int64_t> odims = out_shape.ToVector();
      std::vector<int64_t> base(n);
      for (int64_t o = 0; o < y->numel(); ++o) {
        for (size_t i = 0; i < n; ++i) {
          base[i] = 0;
          for (size_t k = 0; k < out_labels.size(); ++k)
            base[i] += oidx[k] * strides[i][out_labels[k]];
        }
        A acc = 0;
        std::fill(sidx.begin(), sidx.end(), 0);
        for (int64_t s = 0; s < sum_count; ++s) {
          A prod = 1;
          for (size_t i = 0; i < n; ++i) {
            int64_t off = base[i];
            for (size_t k = 0; k < sum_labels.size(); ++k)
              off += sidx[k] * strides[i][sum_labels[k]];
            prod = static_cast<A>(
                prod * static_cast<A>(static_cast<AccT<T>>(ctx.input(i).data<T>()[off])));
          }
          acc = static_cast<A>(acc + prod);
          nn::NextIndex(sidx, sum_dims);
        }
        y->data<T>()[o] = static_cast<T>(acc);
        nn::NextIndex(oidx, odims);
      }
      return Status::Ok();
    });
  }

 private:
  std::vector<std::vector<int>> terms_;
  std::vector<int> out_;
  bool explicit_ = false;
};

}  // namespace

void Register_einsum(KernelRegistry& r) { r.Add("", "Einsum", Create<EinsumKernel>); }

}  // namespace tern::ref
