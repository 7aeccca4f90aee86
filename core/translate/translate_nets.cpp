#include "core/translate/translate_nets.h"

namespace genlab {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int in, int out, int kernel, int stride, int padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

nn::InstanceNorm2d instance_norm(int channels) { return nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels).affine(true)); }

// Halvings from `size` while the result keeps at least 3 pixels, at most 4: 28 -> 14 -> 7 -> 3.
int levels_for(int size) {
  int levels = 0;
  while (levels < 4 && (size >> (levels + 1)) >= 3) ++levels;
  return levels;
}

}  // namespace

UNetGeneratorImpl::UNetGeneratorImpl(int in_channels, int out_channels, int width, int size, bool skips)
    : skips_(skips) {
  stem_ = register_module("stem", conv(in_channels, width, 3, 1, 1));
  const int levels = levels_for(size);
  auto channels_at = [&](int level) { return width * (1 << std::min(level, 2)); };  // w, 2w, 4w, 4w, ...
  for (int l = 0; l < levels; ++l) {
    down_.push_back(register_module("down" + std::to_string(l),
                                    nn::Sequential(conv(channels_at(l), channels_at(l + 1), 4, 2, 1),
                                                   instance_norm(channels_at(l + 1)), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)))));
  }
  // up_[l] takes level l + 1 (upsampled to level l's size), with level l's encoder features beside
  // it when there are skips, to level l's channels.
  for (int l = 0; l < levels; ++l) {
    const int in = channels_at(l + 1) + (skips ? channels_at(l) : 0);
    up_.push_back(register_module("up" + std::to_string(l),
                                  nn::Sequential(conv(in, channels_at(l), 3, 1, 1), instance_norm(channels_at(l)), nn::ReLU())));
  }
  head_ = register_module("head", conv(width, out_channels, 3, 1, 1));
}

torch::Tensor UNetGeneratorImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> encoded = {torch::leaky_relu(stem_->forward(x), 0.2)};
  for (auto& down : down_) encoded.push_back(down->forward(encoded.back()));
  torch::Tensor h = encoded.back();
  for (int l = int(up_.size()) - 1; l >= 0; --l) {
    const torch::Tensor& skip = encoded[size_t(l)];
    h = torch::nn::functional::interpolate(
        h, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{skip.size(2), skip.size(3)}).mode(torch::kNearest));
    h = up_[size_t(l)]->forward(skips_ ? torch::cat({h, skip}, 1) : h);
  }
  return torch::tanh(head_->forward(h));
}

PatchDiscriminatorImpl::PatchDiscriminatorImpl(int in_channels, int width, int classes) {
  // No normalisation: instance norm's per-image statistics would let every pixel move every
  // verdict, and the map would no longer say which patch looks fake.
  auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
  features_ = register_module("features", nn::Sequential(conv(in_channels, width, 4, 2, 1), lrelu(), conv(width, 2 * width, 4, 2, 1),
                                                         lrelu(), conv(2 * width, 4 * width, 3, 1, 1), lrelu()));
  patch_ = register_module("patch", conv(4 * width, 1, 1, 1, 0));
  if (classes > 0) classify_ = register_module("classify", nn::Linear(4 * width, classes));
}

PatchDiscriminatorImpl::Output PatchDiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = features_->forward(x);
  Output out;
  out.patches = patch_->forward(h);
  if (classify_) out.classes = classify_->forward(h.mean({2, 3}));
  return out;
}

torch::Tensor with_domain_planes(const torch::Tensor& images, const torch::Tensor& domains, int domain_count) {
  auto one_hot = torch::one_hot(domains.to(torch::kLong), domain_count).to(images.dtype());
  auto planes = one_hot.view({images.size(0), domain_count, 1, 1}).expand({-1, -1, images.size(2), images.size(3)});
  return torch::cat({images, planes}, 1);
}

}  // namespace genlab
