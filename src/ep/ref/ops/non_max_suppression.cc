// NonMaxSuppression: greedy per-(batch, class) selection of boxes by descending score, dropping
// boxes whose IoU with an already selected box exceeds iou_threshold. Boxes are corners
// [y1, x1, y2, x2] (any diagonal) or, with center_point_box = 1, [x_center, y_center, w, h].
#include <algorithm>
#include <numeric>

#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

struct Box {
  float y1, x1, y2, x2;
};

Box ReadBox(const float* b, bool center) {
  if (center) {
    const float xc = b[0], yc = b[1], w = b[2], h = b[3];
    return {yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2};
  }
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])};
}

/// True when the IoU of a and b exceeds the threshold (degenerate boxes never suppress).
bool Suppresses(const Box& a, const Box& b, float iou_threshold) {
  const float iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  const float ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  if (!(iw > 0) || !(ih > 0)) return false;
  const float inter = iw * ih;
  const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  const float area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  if (!(area_a > 0) || !(area_b > 0)) return false;
  const float uni = area_a + area_b - inter;
  if (!(uni > 0)) return false;
  return inter / uni > iou_threshold;
}

class NonMaxSuppressionKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const int64_t c = info.GetInt("center_point_box", 0);
    if (c != 0 && c != 1)
      return info.Error(StatusCode::kInvalidModel, "center_point_box must be 0 or 1");
    center_ = c == 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "boxes and scores are required");
    const Tensor& boxes = ctx.input(0);
    const Tensor& scores = ctx.input(1);
    if (boxes.dtype() != DataType::kFloat32 || scores.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kNotImplemented, "boxes and scores must be float32");
    if (boxes.rank() != 3 || boxes.dim(2) != 4)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "boxes must have shape [batches, boxes, 4], got " + boxes.shape().ToString());
    if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
      return ctx.Error(StatusCode::kInvalidArgument, "scores shape " + scores.shape().ToString() +
                                                         " does not match boxes shape " +
                                                         boxes.shape().ToString());
    int64_t max_out = 0;
    if (ctx.has_input(2) && ctx.input(2).numel() > 0) {
      const Tensor& t = ctx.input(2);
      if (t.numel() != 1 || t.dtype() != DataType::kInt64)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "max_output_boxes_per_class must be an int64 scalar");
      max_out = std::max<int64_t>(0, t.data<int64_t>()[0]);
    }
    float iou_threshold = 0.f;
    bool has_score_threshold = false;
    float score_threshold = 0.f;
    for (size_t i : {size_t{3}, size_t{4}}) {
      if (!ctx.has_input(i) || ctx.input(i).numel() == 0) continue;
      const Tensor& t = ctx.input(i);
      if (t.numel() != 1 || t.dtype() != DataType::kFloat32)
        return ctx.Error(StatusCode::kInvalidArgument,
                         i == 3 ? "iou_threshold must be a float scalar"
                                : "score_threshold must be a float scalar");
      if (i == 3) {
        iou_threshold = t.data<float>()[0];
      } else {
        has_score_threshold = true;
        score_threshold = t.data<float>()[0];
      }
    }
    if (!(iou_threshold >= 0.f && iou_threshold <= 1.f))
      return ctx.Error(StatusCode::kInvalidArgument, "iou_threshold must be in [0, 1]");

    const int64_t batches = boxes.dim(0), n = boxes.dim(1), classes = scores.dim(1);
    std::vector<int64_t> selected;  // triples
    std::vector<int64_t> order;
    std::vector<int64_t> kept;
    for (int64_t b = 0; b < batches && max_out > 0; ++b) {
      const float* pb = boxes.data<float>() + b * n * 4;
      for (int64_t c = 0; c < classes; ++c) {
        const float* ps = scores.data<float>() + (b * classes + c) * n;
        order.clear();
        for (int64_t i = 0; i < n; ++i)  // NaN scores are never selected (and never sorted)
          if (!std::isnan(ps[i]) && (!has_score_threshold || ps[i] > score_threshold))
            order.push_back(i);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t l, int64_t r) { return ps[l] > ps[r]; });
        kept.clear();
        for (int64_t i : order) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          const Box bi = ReadBox(pb + i * 4, center_);
          bool drop = false;
          for (int64_t k : kept)
            if (Suppresses(ReadBox(pb + k * 4, center_), bi, iou_threshold)) {
              drop = true;
              break;
            }
          if (drop) continue;
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    const int64_t count = static_cast<int64_t>(selected.size() / 3);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kInt64, Shape{count, 3}));
    std::copy(selected.begin(), selected.end(), y->data<int64_t>());
    return Status::Ok();
  }

 private:
  bool center_ = false;
};

}  // namespace

void Register_non_max_suppression(KernelRegistry& r) {
  r.Add("", "NonMaxSuppression", Create<NonMaxSuppressionKernel>, 10);
}

}  // namespace tern::ref
