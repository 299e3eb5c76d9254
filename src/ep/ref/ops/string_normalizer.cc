// StringNormalizer: removes stopwords (case sensitive or not) and changes case (LOWER, UPPER or
// NONE) of a [C] or [1, C] string tensor. Case mapping is ASCII only (the locale is ignored); other
// bytes are kept as they are. When every string is removed the output is one empty string.
#include <algorithm>
#include <set>

#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

std::string ToLower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string ToUpper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

class StringNormalizerKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string action = info.GetString("case_change_action", "NONE");
    if (action == "NONE") {
      action_ = kNone;
    } else if (action == "LOWER") {
      action_ = kLower;
    } else if (action == "UPPER") {
      action_ = kUpper;
    } else {
      return info.Error(StatusCode::kInvalidModel,
                        "case_change_action must be NONE, LOWER or UPPER, got '" + action + "'");
    }
    case_sensitive_ = info.GetInt("is_case_sensitive", 0) != 0;
    for (const std::string& w : info.GetStrings("stopwords"))
      stopwords_.insert(case_sensitive_ ? w : ToLower(w));
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "X is required");
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kString)
      return ctx.Error(StatusCode::kInvalidArgument, "X must be a string tensor");
    const bool two_dim = x.rank() == 2;
    if (!(x.rank() == 1 || (two_dim && x.dim(0) == 1)))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have shape [C] or [1, C], got " + x.shape().ToString());
    const std::string* px = x.data<std::string>();
    std::vector<std::string> kept;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const std::string& s = px[i];
      if (!stopwords_.empty() && stopwords_.count(case_sensitive_ ? s : ToLower(s))) continue;
      kept.push_back(action_ == kLower ? ToLower(s) : action_ == kUpper ? ToUpper(s) : s);
    }
    if (kept.empty()) kept.emplace_back();
    const int64_t n = static_cast<int64_t>(kept.size());
    TERN_ASSIGN_OR_RETURN(Tensor * y,
                          ctx.Output(0, DataType::kString, two_dim ? Shape{1, n} : Shape{n}));
    std::move(kept.begin(), kept.end(), y->data<std::string>());
    return Status::Ok();
  }

 private:
  enum Action { kNone, kLower, kUpper };
  Action action_ = kNone;
  bool case_sensitive_ = false;
  std::set<std::string> stopwords_;
};

}  // namespace

void Register_string_normalizer(KernelRegistry& r) {
  r.Add("", "StringNormalizer", Create<StringNormalizerKernel>, 10);
}

}  // namespace tern::ref
