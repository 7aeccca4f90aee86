#include "core/train/transformer_block.h"

#include <cmath>
#include <limits>

namespace genlab {

namespace nn = torch::nn;

TransformerBlockImpl::TransformerBlockImpl(int width, int heads, bool causal) : heads_(heads), causal_(causal) {
  TORCH_CHECK(heads > 0 && width % heads == 0, "width ", width, " is not divisible by ", heads, " heads");
  norm1_ = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({width})));
  qkv_ = register_module("qkv", nn::Linear(width, 3 * width));
  proj_ = register_module("proj", nn::Linear(width, width));
  norm2_ = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({width})));
  up_ = register_module("up", nn::Linear(width, 4 * width));
  down_ = register_module("down", nn::Linear(4 * width, width));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& keep) {
  const int64_t b = x.size(0), t = x.size(1), width = x.size(2), head = width / heads_;
  auto qkv = qkv_->forward(norm1_->forward(x)).view({b, t, 3, heads_, head}).permute({2, 0, 3, 1, 4});
  auto q = qkv[0], k = qkv[1], v = qkv[2];  // B x heads x T x head
  auto scores = q.matmul(k.transpose(-2, -1)) / std::sqrt(double(head));
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (causal_) {
    auto future = torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
    scores = scores.masked_fill(future, minus_inf);
  }
  if (keep.defined()) scores = scores.masked_fill(keep.logical_not().view({b, 1, 1, t}), minus_inf);
  auto attended = torch::softmax(scores, -1).matmul(v).transpose(1, 2).reshape({b, t, width});
  auto h = x + proj_->forward(attended);
  return h + down_->forward(torch::gelu(up_->forward(norm2_->forward(h))));
}

}  // namespace genlab
