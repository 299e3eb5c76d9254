// TfIdfVectorizer: counts the pool's n-grams (lengths min_gram_length..max_gram_length, items
// up to max_skip_count apart) in each row of a [C] or [N, C] int32/int64/string tensor and writes
// TF, IDF or TFIDF values at each n-gram's ngram_indexes slot. Unigrams are counted once.
#include <algorithm>
#include <map>

#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

class TfIdfVectorizerKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    min_n_ = info.GetInt("min_gram_length", 0);
    max_n_ = info.GetInt("max_gram_length", 0);
    max_skip_ = info.GetInt("max_skip_count", -1);
    if (min_n_ < 1 || max_n_ < min_n_)
      return info.Error(StatusCode::kInvalidModel, "need 1 <= min_gram_length <= max_gram_length");
    if (max_skip_ < 0)
      return info.Error(StatusCode::kInvalidModel, "max_skip_count must be non-negative");
    const std::string mode = info.GetString("mode", "");
    if (mode == "TF") {
      mode_ = kTf;
    } else if (mode == "IDF") {
      mode_ = kIdf;
    } else if (mode == "TFIDF") {
      mode_ = kTfIdf;
    } else {
      return info.Error(StatusCode::kInvalidModel, "mode must be TF, IDF or TFIDF");
    }
    const std::vector<int64_t> counts = info.GetInts("ngram_counts");
    const std::vector<int64_t> indexes = info.GetInts("ngram_indexes");
    std::vector<float> weights = info.GetFloats("weights");
    strings_ = info.has_attr("pool_strings");
    if (strings_ == info.has_attr("pool_int64s"))
      return info.Error(StatusCode::kInvalidModel,
                        "exactly one of pool_strings and pool_int64s must be given");
    const std::vector<std::string> pool_s = info.GetStrings("pool_strings");
    const std::vector<int64_t> pool_i = info.GetInts("pool_int64s");
    const int64_t pool_size = static_cast<int64_t>(strings_ ? pool_s.size() : pool_i.size());
    if (!weights.empty() && weights.size() != indexes.size())
      return info.Error(StatusCode::kInvalidModel,
                        "weights must have as many values as ngram_indexes");
    for (int64_t v : indexes)
      if (v < 0 || v > (int64_t{1} << 31))
        return info.Error(StatusCode::kOutOfRange, "ngram_indexes values must be in [0, 2^31]");
    out_size_ = indexes.empty() ? 0 : *std::max_element(indexes.begin(), indexes.end()) + 1;
    weight_.assign(static_cast<size_t>(out_size_), 1.f);
    int64_t ngram = 0;  // running n-gram number, indexes ngram_indexes
    for (size_t level = 0; level < counts.size(); ++level) {
      const int64_t n = static_cast<int64_t>(level) + 1;
      const int64_t begin = counts[level];
      const int64_t end = level + 1 < counts.size() ? counts[level + 1] : pool_size;
      if (begin < 0 || end < begin || end > pool_size || (end - begin) % n != 0)
        return info.Error(
            StatusCode::kInvalidModel,
            "ngram_counts do not split the pool into whole " + std::to_string(n) + "-grams");
      for (int64_t p = begin; p < end; p += n, ++ngram) {
        if (ngram >= static_cast<int64_t>(indexes.size()))
          return info.Error(StatusCode::kInvalidModel, "ngram_indexes has too few values");
        const int64_t slot = indexes[static_cast<size_t>(ngram)];
        if (!weights.empty())
          weight_[static_cast<size_t>(slot)] = weights[static_cast<size_t>(ngram)];
        if (strings_) {
          pool_strings_[std::vector<std::string>(pool_s.begin() + p, pool_s.begin() + p + n)] =
              slot;
        } else {
          pool_ints_[std::vector<int64_t>(pool_i.begin() + p, pool_i.begin() + p + n)] = slot;
        }
      }
      levels_ = n;
    }
    if (ngram != static_cast<int64_t>(indexes.size()))
      return info.Error(StatusCode::kInvalidModel,
                        "ngram_indexes must have one value per pool n-gram");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "X is required");
    const Tensor& x = ctx.input(0);
    const bool is_string = x.dtype() == DataType::kString;
    if (is_string != strings_ ||
        (!is_string && x.dtype() != DataType::kInt32 && x.dtype() != DataType::kInt64))
      return ctx.Error(
          StatusCode::kInvalidArgument,
          std::string("input type ") + DataTypeName(x.dtype()) + " does not match the pool");
    if (x.rank() != 1 && x.rank() != 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have shape [C] or [N, C], got " + x.shape().ToString());
    const int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
    const int64_t cols = x.shape().back();
    TERN_ASSIGN_OR_RETURN(Tensor * y,
                          ctx.Output(0, DataType::kFloat32,
                                     x.rank() == 2 ? Shape{rows, out_size_} : Shape{out_size_}));
    float* py = y->data<float>();
    std::vector<int64_t> counts(static_cast<size_t>(out_size_));
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(counts.begin(), counts.end(), 0);
      if (is_string) {
        const std::string* row = x.data<std::string>() + r * cols;
        CountRow(
            pool_strings_, [&](int64_t i) { return row[i]; }, cols, counts);
      } else if (x.dtype() == DataType::kInt32) {
        const int32_t* row = x.data<int32_t>() + r * cols;
        CountRow(
            pool_ints_, [&](int64_t i) { return static_cast<int64_t>(row[i]); }, cols, counts);
      } else {
        const int64_t* row = x.data<int64_t>() + r * cols;
        CountRow(
            pool_ints_, [&](int64_t i) { return row[i]; }, cols, counts);
      }
      float* out = py + r * out_size_;
      for (int64_t k = 0; k < out_size_; ++k) {
        const float c = static_cast<float>(counts[static_cast<size_t>(k)]);
        const float w = weight_[static_cast<size_t>(k)];
        out[k] = mode_ == kTf ? c : mode_ == kIdf ? (c > 0 ? w : 0.f) : c * w;
      }
    }
    return Status::Ok();
  }

 private:
  template <typename Key, typename Get>
  void CountRow(const std::map<std::vector<Key>, int64_t>& pool, Get get, int64_t cols,
                std::vector<int64_t>& counts) const {
    if (pool.empty()) return;
    std::vector<Key> key;
    for (int64_t n = min_n_; n <= std::min(max_n_, levels_); ++n) {
      const int64_t skips = n == 1 ? 0 : std::min(max_skip_, cols);  // wider skips never fit
      for (int64_t s = 0; s <= skips; ++s) {
        const int64_t dist = s + 1;
        for (int64_t start = 0; start + (n - 1) * dist < cols; ++start) {
          key.clear();
          for (int64_t j = 0; j < n; ++j) key.push_back(get(start + j * dist));
          auto it = pool.find(key);
          if (it != pool.end()) ++counts[static_cast<size_t>(it->second)];
        }
      }
    }
  }

  enum Mode { kTf, kIdf, kTfIdf };
  int64_t min_n_ = 1, max_n_ = 1, max_skip_ = 0, levels_ = 0, out_size_ = 0;
  Mode mode_ = kTf;
  bool strings_ = false;
  std::vector<float> weight_;                                 ///< per output slot
  std::map<std::vector<int64_t>, int64_t> pool_ints_;         ///< n-gram -> output slot
  std::map<std::vector<std::string>, int64_t> pool_strings_;  ///< n-gram -> output slot
};

}  // namespace

void Register_tfidf_vectorizer(KernelRegistry& r) {
  r.Add("", "TfIdfVectorizer", Create<TfIdfVectorizerKernel>, 9);
}

}  // namespace tern::ref
