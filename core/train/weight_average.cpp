#include "core/train/weight_average.h"

namespace genlab {

namespace {

void copy_buffers(torch::nn::Module& from, torch::nn::Module& to) {
  auto a = from.buffers(), b = to.buffers();
  for (size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
}

}  // namespace

void copy_weights(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto a = from.parameters(), b = to.parameters();
  for (size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
  copy_buffers(from, to);
}

void update_average(torch::nn::Module& from, torch::nn::Module& to, double decay) {
  torch::NoGradGuard no_grad;
  auto a = from.parameters(), b = to.parameters();
  for (size_t i = 0; i < a.size(); ++i) b[i].mul_(decay).add_(a[i], 1 - decay);
  copy_buffers(from, to);
}

}  // namespace genlab
