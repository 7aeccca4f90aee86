#include "core/translate/paired_tasks.h"

#include <cmath>

#include "core/metrics/image_similarity.h"
#include "core/train/random_stream.h"

namespace genlab {

namespace F = torch::nn::functional;

namespace {

torch::Tensor shrink(const TranslateConfig& c, const torch::Tensor& targets) {
  return F::avg_pool2d(targets, F::AvgPool2dFuncOptions(c.superres_factor));
}

// A grey box of side H/3..H/2 per image at a random place: 1 inside.
torch::Tensor random_boxes(const torch::Tensor& targets) {
  const int64_t n = targets.size(0), h = targets.size(2), w = targets.size(3);
  const int64_t lo = std::max<int64_t>(1, h / 3), hi = std::max<int64_t>(lo + 1, h / 2 + 1);
  auto side = torch::randint(lo, hi, {n}, torch::kLong);
  auto y0 = (torch::rand({n}) * (h - side + 1).to(torch::kFloat)).to(torch::kLong);
  auto x0 = (torch::rand({n}) * (w - side + 1).to(torch::kFloat)).to(torch::kLong);
  auto ys = torch::arange(h).view({1, h, 1}), xs = torch::arange(w).view({1, 1, w});
  auto inside = (ys >= y0.view({n, 1, 1})) & (ys < (y0 + side).view({n, 1, 1})) & (xs >= x0.view({n, 1, 1})) &
                (xs < (x0 + side).view({n, 1, 1}));
  return inside.unsqueeze(1).to(targets.dtype());
}

constexpr double kGreyFill = 0.5;  // what the hole shows: not a colour the background takes

}  // namespace

torch::Tensor sobel_edges(const torch::Tensor& images) {
  auto gray = images.mean(1, /*keepdim=*/true);
  auto kx = torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}).view({1, 1, 3, 3}).to(images.dtype());
  auto gx = F::conv2d(gray, kx, F::Conv2dFuncOptions().padding(1));
  auto gy = F::conv2d(gray, kx.transpose(2, 3), F::Conv2dFuncOptions().padding(1));
  auto magnitude = (gx.pow(2) + gy.pow(2)).sqrt();
  // Relative to each image's strongest edge, so faint garments get outlines too.
  auto peak = magnitude.amax({1, 2, 3}, /*keepdim=*/true).clamp_min(1e-3);
  return (magnitude / peak > 0.3).to(images.dtype()).expand({-1, images.size(1), -1, -1}).contiguous();
}

torch::Tensor task_input(const TranslateConfig& c, const torch::Tensor& targets) {
  switch (c.task) {
    case PairedTask::Edges:
      return sobel_edges(targets);
    case PairedTask::SuperRes:
      return upsample(shrink(c, targets), targets.size(2), false);
    case PairedTask::Inpaint: {
      auto box = random_boxes(targets);
      return targets * (1 - box) + kGreyFill * box;
    }
    case PairedTask::Denoise:
      return (targets + c.noise_sigma * torch::randn_like(targets)).clamp(0, 1);
  }
  return targets;
}

torch::Tensor seeded_task_input(const TranslateConfig& c, const torch::Tensor& targets, uint64_t seed) {
  RandomStream stream(seed);
  RandomStream::Scope scope(stream);
  return task_input(c, targets);
}

std::vector<std::pair<std::string, torch::Tensor>> task_baselines(const TranslateConfig& c, const torch::Tensor& inputs,
                                                                  const torch::Tensor& targets) {
  switch (c.task) {
    case PairedTask::SuperRes:
      return {{"nearest", inputs}, {"bicubic", upsample(shrink(c, targets), targets.size(2), true)}};
    case PairedTask::Inpaint:
      return {{"masked input", inputs}};
    case PairedTask::Denoise:
      return {{"noisy input", inputs}};
    case PairedTask::Edges:
      break;
  }
  return {};
}

}  // namespace genlab
