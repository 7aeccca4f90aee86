#include "core/vae/vq_prior.h"

#include <cmath>
#include <limits>

namespace genlab {

namespace nn = torch::nn;

CodePriorImpl::CodePriorImpl(const VqPriorConfig& config) : config_(config) {
  config.validate();
  const int width = config.width;
  code_embedding_ = register_module("code_embedding", nn::Embedding(config.codes, width));
  // One start token per class, and one more for "no class".
  class_embedding_ = register_module("class_embedding", nn::Embedding(config.classes + 1, width));
  positions_ = register_parameter("positions", torch::randn({config.positions(), width}) * 0.02);
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int i = 0; i < config.layers; ++i) blocks_->push_back(TransformerBlock(width, config.heads, /*causal=*/true));
  norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})));
  head_ = register_module("head", nn::Linear(width, config.codes));
}

torch::Tensor CodePriorImpl::start_tokens(const torch::Tensor& labels) {
  auto id = labels.to(torch::kLong);
  if (config_.classes == 0) id = torch::zeros_like(id);
  else id = torch::where(id < 0, torch::full_like(id, config_.classes), id);
  return class_embedding_->forward(id).unsqueeze(1);
}

torch::Tensor CodePriorImpl::forward(const torch::Tensor& codes, const torch::Tensor& labels) {
  // Input at position i is the code of position i-1 (the start token at 0): the output at i
  // predicts code i from the codes before it.
  const int64_t t = codes.size(1);
  auto x = start_tokens(labels);
  if (t > 1) x = torch::cat({x, code_embedding_->forward(codes.slice(1, 0, t - 1))}, 1);
  x = x + positions_.slice(0, 0, t).unsqueeze(0);
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x);
  return head_->forward(norm_->forward(x));
}

torch::Tensor CodePriorImpl::loss(const torch::Tensor& codes, const torch::Tensor& labels) {
  auto logits = forward(codes, labels);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, config_.codes}), codes.reshape({-1}));
}

torch::Tensor shape_logits(const torch::Tensor& logits, const PriorSampling& sampling) {
  auto shaped = logits / sampling.temperature;
  if (sampling.top_k > 0 && sampling.top_k < logits.size(-1)) {
    auto kth = std::get<0>(shaped.topk(sampling.top_k, -1)).select(-1, sampling.top_k - 1).unsqueeze(-1);
    shaped = shaped.masked_fill(shaped < kth, -std::numeric_limits<float>::infinity());
  }
  return shaped;
}

torch::Tensor CodePriorImpl::sample(const torch::Tensor& labels, const PriorSampling& sampling, at::Generator generator,
                                    const Filled& filled) {
  sampling.validate(config_.codes);
  torch::NoGradGuard no_grad;
  const int64_t b = labels.size(0), p = config_.positions();
  auto codes = torch::full({b, p}, -1, torch::kLong);
  for (int64_t i = 0; i < p; ++i) {
    // The causal mask makes position i's logits depend only on codes 0..i-1, so the prefix is enough.
    auto prefix = codes.slice(1, 0, i + 1).clamp_min(0);
    auto logits = forward(prefix, labels).select(1, i);
    auto probs = torch::softmax(shape_logits(logits, sampling), -1);
    codes.select(1, i).copy_(torch::multinomial(probs, 1, false, generator).squeeze(1));
    if (filled && !filled(int(i), codes, probs)) break;
  }
  return codes;
}

}  // namespace genlab
